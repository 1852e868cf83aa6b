// The panels of the admin dashboard's telemetry: `metrics/panels.json` (the PromQL an operator would also put in
// Grafana), read once at start and checked, so a typo fails the start instead of the first admin's poll.
import { readFile } from 'node:fs/promises';

/** One panel: its id, title, unit and PromQL. */
export interface PanelDefinition {
  id: string;
  title: string;
  unit: string;
  query: string;
}

/**
 * The repository's `metrics/panels.json`, four folders above this file (`apps/api/src/telemetry` and
 * `apps/api/dist/telemetry` alike; the api image copies the file to `/metrics/panels.json`, where the same
 * relative path lands from `/app/dist/telemetry`).
 */
export const DEFAULT_PANELS_FILE = new URL('../../../../metrics/panels.json', import.meta.url);

function isPanel(value: unknown): value is PanelDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  return (['id', 'title', 'unit', 'query'] as const).every(
    (key) => typeof fields[key] === 'string' && (key === 'unit' || fields[key] !== ''),
  );
}

/** Reads and checks a panels file. Throws naming the file when it is missing or malformed. */
export async function loadTelemetryPanels(
  file: string | URL = DEFAULT_PANELS_FILE,
): Promise<PanelDefinition[]> {
  const where = String(file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`telemetry panels: cannot read ${where}`, { cause: error });
  }
  const panels = (parsed as { panels?: unknown } | null)?.panels;
  if (!Array.isArray(panels) || !panels.every(isPanel)) {
    throw new Error(`telemetry panels: ${where} must hold { panels: [{ id, title, unit, query }] }`);
  }
  if (new Set(panels.map((p) => p.id)).size !== panels.length) {
    throw new Error(`telemetry panels: ${where} repeats a panel id`);
  }
  return panels.map(({ id, title, unit, query }) => ({ id, title, unit, query }));
}

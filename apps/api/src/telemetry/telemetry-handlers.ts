// telemetry.snapshot: the admin dashboard's live telemetry. The rpc plugin has already refused anyone below
// admin (the contract's access); the targets scraped without Prometheus are the api itself (its own registry)
// and the services it forwards to, at `<base URL>/metrics`.
import { defineHandlers, type RpcHandlers } from '@cyber/rpc-server';
import type { Registry } from '@cyber/telemetry';
import type { ServiceUrls } from '../forwarder.js';
import type { PanelDefinition } from './telemetry-panels.js';
import { TelemetryService, type ScrapeTarget } from './telemetry-service.js';

/** The gateway's telemetry settings. */
export interface TelemetryDeps {
  /** The panels (see loadTelemetryPanels). */
  panels: readonly PanelDefinition[];
  /** Base URL of Prometheus; without it the services' own /metrics are scraped. */
  prometheusUrl?: string | undefined;
  /** How long one snapshot serves every admin, in ms. Default 2,000. */
  cacheMs?: number;
  /** Most ms one Prometheus query or one scrape may take. Default 3,000. */
  timeoutMs?: number;
  /** Gap between the two scrapes a first snapshot needs for its rates, in ms. Default 1,000. */
  pairGapMs?: number;
}

/** What {@link telemetryHandlers} needs besides the settings. */
export interface TelemetryHandlersDeps {
  telemetry: TelemetryDeps;
  /** The services the gateway forwards to; their /metrics are scraped without Prometheus. */
  services: ServiceUrls;
  /** The api's own metrics, when it records any. */
  metrics?: { registry: Registry; beforeScrape?: () => void | Promise<void> } | undefined;
  /** fetch for scrapes and Prometheus; the global one by default. */
  fetch?: typeof fetch | undefined;
}

/** The scrape targets: the api's registry, then each service's `/metrics`. */
export function scrapeTargets(deps: Omit<TelemetryHandlersDeps, 'telemetry'>): ScrapeTarget[] {
  const doFetch = deps.fetch ?? fetch;
  const own = deps.metrics;
  const targets: ScrapeTarget[] = [];
  if (own !== undefined) {
    targets.push({
      service: 'api',
      read: async () => {
        await own.beforeScrape?.();
        return own.registry.metrics();
      },
    });
  }
  for (const [service, base] of Object.entries(deps.services)) {
    targets.push({
      service,
      read: async (signal) => {
        const response = await doFetch(new URL('/metrics', base), { signal });
        if (!response.ok) throw new Error(`GET /metrics answered HTTP ${response.status}`);
        return response.text();
      },
    });
  }
  return targets;
}

/** The telemetry family of the gateway. */
export function telemetryHandlers(deps: TelemetryHandlersDeps): RpcHandlers {
  const { telemetry } = deps;
  const service = new TelemetryService({
    panels: telemetry.panels,
    prometheusUrl: telemetry.prometheusUrl,
    targets: scrapeTargets(deps),
    ...(telemetry.cacheMs === undefined ? {} : { cacheMs: telemetry.cacheMs }),
    ...(telemetry.timeoutMs === undefined ? {} : { timeoutMs: telemetry.timeoutMs }),
    ...(telemetry.pairGapMs === undefined ? {} : { pairGapMs: telemetry.pairGapMs }),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
  });
  return defineHandlers()({
    'telemetry.snapshot': () => service.snapshot(),
  });
}

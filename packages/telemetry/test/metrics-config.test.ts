// The operations files in metrics/: promtool (Debian's prometheus package) accepts the scrape config and the
// rules, the rule unit tests pass, and every metric the alerts and panels query is one the services export.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  createLlmMetrics,
  createMetricsRegistry,
  createRpcServerMetrics,
  createSandboxMetrics,
  createUsageSinkMetrics,
  metricsPlugin,
} from '../src/index.js';
import Fastify from 'fastify';

const run = promisify(execFile);
const metricsDir = join(dirname(fileURLToPath(import.meta.url)), '../../../metrics');
const promtool = process.env.CYBER_PROMTOOL_PATH ?? '/usr/bin/promtool';
const hasPromtool = existsSync(promtool);
if (!hasPromtool)
  console.warn(`promtool not found at ${promtool}: run scripts/infra.sh up (Debian package prometheus)`);

interface Panels {
  panels: { id: string; title: string; unit: string; query: string }[];
}

/** Every metric family name the services export (HTTP, domain, default process metrics). */
async function exportedNames(): Promise<Set<string>> {
  const registry = createMetricsRegistry();
  createLlmMetrics(registry);
  createSandboxMetrics(registry);
  createUsageSinkMetrics(registry);
  createRpcServerMetrics(registry);
  const app = Fastify();
  await app.register(metricsPlugin, { registry });
  await app.ready();
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    }
  }
  await app.close();
  return names;
}

/** Metric names in a PromQL expression (identifiers followed by `{`, `[`, `)` or space that are not functions). */
function metricNamesIn(expr: string): string[] {
  const words = expr.match(/[a-z_][a-z0-9_]*(?=\s*[{[)]|\s*$|\s+[<>=!]|\s*\/|\s+and\b)/g) ?? [];
  return words.filter((word) =>
    /_(total|seconds|bytes|events|messages|containers|open|bucket|count)$|^up$/.test(word),
  );
}

describe('metrics/', () => {
  it.skipIf(!hasPromtool)('promtool check config accepts prometheus.yml (with its rule files)', async () => {
    const { stdout } = await run(promtool, ['check', 'config', join(metricsDir, 'prometheus.yml')]);
    expect(stdout).toContain('SUCCESS');
  });

  it.skipIf(!hasPromtool)('promtool check rules accepts alerts.yml', async () => {
    const { stdout } = await run(promtool, ['check', 'rules', join(metricsDir, 'alerts.yml')]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it.skipIf(!hasPromtool)(
    'every alert fires on the series that should trigger it (promtool test rules)',
    async () => {
      const { stdout } = await run(promtool, ['test', 'rules', join(metricsDir, 'alerts.test.yml')]);
      expect(stdout).toContain('SUCCESS');
    },
  );

  it('the alerts cover the issue list, and query only metrics the services export', async () => {
    const names = await exportedNames();
    const text = readFileSync(join(metricsDir, 'alerts.yml'), 'utf8');
    const alerts = [...text.matchAll(/alert: (\w+)/g)].map((m) => m[1]);
    expect(alerts).toEqual(
      expect.arrayContaining([
        'ServiceDown',
        'HighErrorRatio',
        'HighP99Latency',
        'UsageOutboxGrowing',
        'UsageConsumerLag',
        'UsageConsumerLagAge',
        'UsageConsumerStalled',
        'RpcMethodErrorRatio',
        'RpcMethodHighP99Latency',
        'SandboxFailures',
        'ModelDiskLow',
      ]),
    );
    const exprs = [...text.matchAll(/expr: \|?\n?([\s\S]*?)\n\s+(?:for|labels):/g)].map((m) => m[1] ?? '');
    expect(exprs.length).toBe(alerts.length);
    const used = exprs.flatMap(metricNamesIn).filter((name) => name !== 'up');
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(names, `alerts.yml uses ${name}`).toContain(name);
  });

  it('every panel query names metrics the services export', async () => {
    const names = await exportedNames();
    const { panels } = JSON.parse(readFileSync(join(metricsDir, 'panels.json'), 'utf8')) as Panels;
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const panel of panels) {
      const used = metricNamesIn(panel.query);
      expect(used.length, `panel ${panel.id} names a metric`).toBeGreaterThan(0);
      for (const name of used) expect(names, `panel ${panel.id} uses ${name}`).toContain(name);
    }
  });
});

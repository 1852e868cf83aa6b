// telemetry.snapshot against the real thing: the services-only path scrapes the gateway's own registry, the real
// auth app's /metrics and an llmserver metrics endpoint (Fastify with the services' own metrics plugin and
// llmserver's metric set: llmserver itself needs a model, and only its /metrics is read here); the Prometheus
// path registers the gateway and auth as file_sd targets of the Prometheus that scripts/infra.sh runs and waits
// for it to scrape them.
import { randomUUID } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TelemetrySnapshot } from '@cyber/contract';
import {
  createLlmMetrics,
  createMetricsRegistry,
  createSandboxMetrics,
  metricsPlugin,
  type LlmMetrics,
} from '@cyber/telemetry';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTelemetryPanels, type PanelDefinition } from '../src/app.js';
import { startTestApp, type TestApp, type TestUser } from './test-app.js';

const PROMETHEUS = process.env.CYBER_PROMETHEUS_URL;
const TARGETS_DIR = process.env.CYBER_PROMETHEUS_TARGETS_DIR;

let panels: PanelDefinition[];

beforeAll(async () => {
  panels = await loadTelemetryPanels();
});

async function promQuery(expr: string): Promise<{ value: [number, string] }[]> {
  const response = await fetch(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return ((await response.json()) as { data: { result: { value: [number, string] }[] } }).data.result;
}

async function traffic(t: TestApp, user: TestUser, calls: number): Promise<void> {
  for (let i = 0; i < calls; i += 1) await t.call('project.list', {}, user);
}

function expectEveryPanel(snapshot: TelemetrySnapshot): void {
  expect(snapshot.panels.map((p) => p.id)).toEqual(panels.map((p) => p.id));
  const unavailable = snapshot.panels.filter((p) => p.unavailable !== undefined);
  expect(unavailable, JSON.stringify(unavailable)).toEqual([]);
}

describe('telemetry.snapshot from the services’ own metrics', () => {
  let t: TestApp;
  let admin: TestUser;
  let llm: FastifyInstance;
  let llmMetrics: LlmMetrics;

  beforeAll(async () => {
    const llmRegistry = createMetricsRegistry();
    llmMetrics = createLlmMetrics(llmRegistry);
    llm = Fastify();
    await llm.register(metricsPlugin, { registry: llmRegistry });
    await llm.listen({ port: 0, host: '127.0.0.1' });
    const llmUrl = `http://127.0.0.1:${(llm.server.address() as AddressInfo).port}`;
    t = await startTestApp({
      metrics: true,
      forwardToAuth: true,
      services: { auth: 'http://127.0.0.1:9', llmserver: llmUrl },
      telemetry: { panels: await loadTelemetryPanels(), cacheMs: 0, pairGapMs: 200 },
    });
    admin = await t.user('admin');
  });

  afterAll(async () => {
    await t.close();
    await llm.close();
  });

  it('computes the summary and every panel from the change between the last two scrapes', async () => {
    const sandbox = createSandboxMetrics(t.registry as NonNullable<TestApp['registry']>);
    // The first snapshot takes two scrapes of its own; its rates may be zero.
    const first = await t.call<TelemetrySnapshot>('telemetry.snapshot', {}, admin);
    expect(first.source).toBe('services');
    expect(first.scrapes).toEqual([
      { service: 'api', ok: true },
      { service: 'auth', ok: true },
      { service: 'llmserver', ok: true },
    ]);

    await traffic(t, admin, 20);
    llmMetrics.completionTokens.inc({ model: 'tiny' }, 120);
    sandbox.runs.inc({ verdict: 'ok', language: 'node' }, 3);
    sandbox.runs.inc({ verdict: 'timeout', language: 'python' });
    llmMetrics.queueWaiting.set(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await t.call<TelemetrySnapshot>('telemetry.snapshot', {}, admin);

    const { summary } = second;
    expect(summary.requestsPerSecond).toBeGreaterThan(0);
    expect(summary.latencyMs.p50).toBeGreaterThan(0);
    expect(summary.latencyMs.p99).toBeGreaterThanOrEqual(summary.latencyMs.p50 ?? Infinity);
    const seconds = (Date.parse(second.at) - Date.parse(first.at)) / 1000;
    // 120 tokens over the seconds between the two scrapes (taken just before each snapshot's `at`).
    expect(summary.tokensPerSecond).toBeGreaterThan(120 / (seconds + 1));
    expect(summary.tokensPerSecond).toBeLessThanOrEqual(120 / (seconds - 0.2));
    expect(Object.keys(summary.sandboxRunsPerMinute ?? {}).sort()).toEqual(['ok', 'timeout']);
    expect(summary.sandboxRunsPerMinute?.ok).toBeCloseTo((summary.sandboxRunsPerMinute?.timeout ?? 0) * 3);
    expect(first.summary.queueDepth).toBe(0);
    expect(summary.queueDepth).toBe(2);
    expect(second.reasons.requestsPerSecond).toBeUndefined();

    expectEveryPanel(second);
    const requestRate = second.panels.find((p) => p.id === 'request-rate');
    // llmserver's stand-in served nothing but /metrics, which is not recorded.
    const jobs = requestRate?.series.map((s) => s.labels.job).sort();
    expect(jobs).toEqual(['api', 'auth']);
    const api = requestRate?.series.find((s) => s.labels.job === 'api');
    expect(api?.value).toBeGreaterThan(0);
    const tokens = second.panels.find((p) => p.id === 'tokens-generated');
    expect(tokens?.series).toEqual([{ labels: { model: 'tiny' }, value: summary.tokensPerSecond }]);
  });

  it('serves one snapshot to concurrent callers', async () => {
    const [a, b] = await Promise.all([
      t.call<TelemetrySnapshot>('telemetry.snapshot', {}, admin),
      t.call<TelemetrySnapshot>('telemetry.snapshot', {}, admin),
    ]);
    expect(a.at).toBe(b.at);
  });

  it('reports a service that does not answer and keeps the others', async () => {
    await llm.close();
    const snapshot = await t.call<TelemetrySnapshot>('telemetry.snapshot', {}, admin);
    const llmScrape = snapshot.scrapes?.find((s) => s.service === 'llmserver');
    expect(llmScrape?.ok).toBe(false);
    expect(llmScrape?.error).toBeTruthy();
    expect(snapshot.scrapes?.filter((s) => s.ok).map((s) => s.service)).toEqual(['api', 'auth']);
    expect(snapshot.summary.requestsPerSecond).not.toBeNull();
    // Queue depth comes only from llmserver: unknown now, with the reason, rather than a made-up 0.
    expect(snapshot.summary.queueDepth).toBeNull();
    expect(snapshot.reasons.queueDepth).toBe('no queue reading from llmserver');
  });
});

describe('telemetry.snapshot without a reachable Prometheus, and its access', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      telemetry: {
        panels: await loadTelemetryPanels(),
        prometheusUrl: 'http://127.0.0.1:9',
        timeoutMs: 1000,
      },
    });
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers service_unavailable naming prometheus', async () => {
    const response = await t.rpc('telemetry.snapshot', {}, await t.user('admin'));
    expect(response.error?.code).toBe(-32011);
    expect(response.error?.data).toMatchObject({ service: 'prometheus', reason: 'unreachable' });
  });

  it('refuses viewers and developers with forbidden, by session and by API key', async () => {
    for (const role of ['viewer', 'developer'] as const) {
      const user = await t.user(role);
      expect((await t.rpc('telemetry.snapshot', {}, user)).error?.code).toBe(-32002);
      expect((await t.rpc('telemetry.snapshot', {}, user, { via: 'api_key' })).error?.code).toBe(-32002);
    }
    expect((await t.rpc('telemetry.snapshot', {})).error?.code).toBe(-32001);
  });
});

describe.skipIf(!PROMETHEUS || !TARGETS_DIR)('telemetry.snapshot from a real Prometheus', () => {
  let t: TestApp;
  let admin: TestUser;
  const run = randomUUID();
  const file = join(TARGETS_DIR ?? '', `api-telemetry-${run}.json`);

  beforeAll(async () => {
    t = await startTestApp({
      metrics: true,
      telemetry: { panels: await loadTelemetryPanels(), prometheusUrl: PROMETHEUS, cacheMs: 0 },
    });
    admin = await t.user('admin');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const apiPort = (t.app.server.address() as AddressInfo).port;
    await writeFile(file, JSON.stringify([{ targets: [`127.0.0.1:${apiPort}`], labels: { run } }]));
  });

  afterAll(async () => {
    await unlink(file).catch(() => undefined);
    await t.close();
  });

  it('runs every panel query and the summary against Prometheus', async () => {
    const ourRate = `sum(rate(http_server_request_duration_seconds_count{run="${run}"}[1m]))`;
    const deadline = Date.now() + 45_000;
    // Traffic keeps going until Prometheus (1 s scrape interval) has the two samples of ours rate() needs.
    for (;;) {
      await traffic(t, admin, 10);
      const ours = await promQuery(ourRate);
      if (Number(ours[0]?.value[1] ?? 0) > 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const snapshot = await t.call<TelemetrySnapshot>('telemetry.snapshot', {}, admin);
    expect(snapshot.source).toBe('prometheus');
    expect(snapshot.scrapes).toBeUndefined();
    expect(snapshot.summary.requestsPerSecond).toBeGreaterThan(0);
    expect(snapshot.summary.latencyMs.p95).toBeGreaterThan(0);
    expectEveryPanel(snapshot);
    // The panel's value is Prometheus' own answer to the panel's query, not something computed beside it.
    const panel = snapshot.panels.find((p) => p.id === 'request-rate');
    expect(panel?.series.map((s) => s.labels.job)).toContain('cyber-tests');
  }, 60_000);
});

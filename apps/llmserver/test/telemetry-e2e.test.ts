// Observability end to end, with everything real: the gateway, auth (with its Kafka usage sink) and llmserver
// in this process, each with its own metrics registry and a pino logger captured in memory, the OpenTelemetry
// SDK with an in-memory span exporter, and the Prometheus that scripts/infra.sh runs scraping all three.
// One chat request through the gateway must leave one trace id on the spans of api, llmserver and the usage
// sink and on its tokens_used row; a sandbox run (on the real Docker engine) leaves its verdict and resources on
// a span of its run.exec trace; Prometheus must return data for every listed metric; and the logs of the whole
// run must hold no password, API key or prompt text.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startTracing } from '@cyber/telemetry';
import { SpanKind } from '@cyber/telemetry/testing';
import { memorySpans } from '@cyber/telemetry/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Tracing first, then everything it instruments (dynamic imports below), as instrument.ts does for a service.
const memory = memorySpans();
const tracing = startTracing({
  serviceName: 'telemetry-e2e',
  spanProcessors: [memory.processor],
  esmHooks: false,
});

const { buildApp: buildApiApp, observedSandbox } = await import('@cyber/api');
const { buildApp: buildAuthApp } = await import('@cyber/auth');
const { createVerifier } = await import('@cyber/auth-client');
const { loadAuthConfig } = await import('@cyber/config');
const { createDatabase } = await import('@cyber/db');
const { createTestDatabase } = await import('@cyber/db/testing');
const { LlmEngine } = await import('@cyber/llm');
const { ensureTinyModel } = await import('@cyber/llm/testing');
const telemetry = await import('@cyber/telemetry');
const { createUsageOutbox, createUsageProducer } = await import('@cyber/usage-events');
const { Redis } = await import('ioredis');
const { buildApp } = await import('../src/app.js');
const { ModelRepository } = await import('../src/models/index.js');
const { createDockerClient, DEFAULT_LIMITS, DEFAULT_PROFILE_PATH, SandboxRunner } =
  await import('@cyber/sandbox');

const PROMETHEUS = process.env.CYBER_PROMETHEUS_URL;
const TARGETS_DIR = process.env.CYBER_PROMETHEUS_TARGETS_DIR;
const ADMIN_PASSWORD = 'admin-password-telemetry-e2e';
const USER_PASSWORD = 'user-password-telemetry-e2e';
const PROMPT = 'Tell me about the purple walrus secret 7f3c';

type App = Awaited<ReturnType<typeof buildApiApp>>;
interface Rpc<T> {
  result?: T;
  error?: { code: number; message: string };
}

/** Every log line of the three services. */
const logLines: string[] = [];
function logger(service: string) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { ...telemetry.loggerOptions({ service, level: 'info' }), stream };
}

const closers: (() => Promise<void>)[] = [];
let api: App;
let apiUrl = '';
let ports: Record<'api' | 'auth' | 'llmserver', number>;
let userKey = '';
let userToken = '';
let modelName = '';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
const run = randomUUID();

async function call<T>(url: string, method: string, params: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await response.json()) as Rpc<T>;
}

async function must<T>(url: string, method: string, params: unknown, token?: string): Promise<T> {
  const body = await call<T>(url, method, params, token ? { authorization: `Bearer ${token}` } : {});
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result as T;
}

function portOf(app: App): number {
  return (app.server.address() as AddressInfo).port;
}

beforeAll(async () => {
  const redisUrl = process.env.CYBER_REDIS_URL as string;
  const brokers = (process.env.CYBER_KAFKA_BROKERS as string).split(',');
  db = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  const dbUrl = db.url as string;
  const prefix = `test:telemetry:${run}:`;
  const topic = `llm.usage.test.${run}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'cyber-telemetry-e2e-'));

  const authRegistry = telemetry.createMetricsRegistry();
  const authConfig = loadAuthConfig({
    CYBER_DATABASE_URL: dbUrl,
    CYBER_REDIS_URL: redisUrl,
    CYBER_REDIS_KEY_PREFIX: prefix,
    CYBER_KAFKA_BROKERS: brokers.join(','),
    CYBER_KAFKA_USAGE_TOPIC: topic,
    CYBER_USAGE_SINK_GROUP: `sink-${run}`,
    CYBER_ARGON2_MEMORY_KIB: '4096',
    CYBER_ARGON2_TIME_COST: '1',
    CYBER_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
  });
  const auth = await buildAuthApp({
    config: authConfig,
    database: await createDatabase({ driver: 'pg', url: dbUrl, poolSize: 4 }),
    redis: new Redis(redisUrl),
    usageSink: true,
    logger: logger('auth'),
    metrics: { registry: authRegistry, usageSink: telemetry.createUsageSinkMetrics(authRegistry) },
    onBootstrapAdmin: () => undefined,
  });
  await auth.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => auth.close());
  const authUrl = `http://127.0.0.1:${portOf(auth)}`;
  const verifier = createVerifier({
    authUrl,
    issuer: authConfig.jwt.issuer,
    audience: authConfig.jwt.audience,
    redisUrl,
    redisKeyPrefix: prefix,
  });
  await verifier.ready();

  const llmRegistry = telemetry.createMetricsRegistry();
  const llmMetrics = telemetry.createLlmMetrics(llmRegistry);
  const kafka = createUsageProducer({ brokers, topic, clientId: 'telemetry-e2e' });
  await kafka.connect();
  const outbox = createUsageOutbox({
    dir: join(dataDir, 'outbox'),
    producer: {
      async send(events) {
        await kafka.send(events);
        llmMetrics.usageEventsPublished.inc(events.length);
      },
    },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  await outbox.open();
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  const modelsDir = join(dataDir, 'models');
  const llm = await buildApp({
    database: await createDatabase({ driver: 'pg', url: dbUrl, poolSize: 4 }),
    authenticate: (headers, meta) => verifier.authenticate(headers, { clientAddress: meta.ip }),
    engine: await LlmEngine.create({ threads: 1 }),
    redis,
    redisKeyPrefix: prefix,
    outbox,
    limits: { maxConcurrentPerUser: 4, requestsPerMinute: 100_000, tokensPerMinute: 100_000_000 },
    modelsDir,
    authUrl,
    logger: logger('llmserver'),
    metrics: { registry: llmRegistry, llm: llmMetrics },
    onClose: async () => {
      await verifier.close();
      await kafka.disconnect().catch(() => undefined);
    },
  });
  await llm.listen({ port: 0, host: '127.0.0.1' });
  closers.unshift(() => llm.close());
  const llmUrl = `http://127.0.0.1:${portOf(llm)}`;

  const apiRegistry = telemetry.createMetricsRegistry();
  const sandboxMetrics = telemetry.createSandboxMetrics(apiRegistry);
  const apiVerifier = createVerifier({
    authUrl,
    issuer: authConfig.jwt.issuer,
    audience: authConfig.jwt.audience,
    redisUrl,
    redisKeyPrefix: prefix,
  });
  // The sandbox as main.ts wires it: runs counted, timed and traced, container starts timed.
  const socketPath = process.env.CYBER_DOCKER_SOCKET;
  if (socketPath === undefined) throw new Error('CYBER_DOCKER_SOCKET is not set: run scripts/infra.sh up');
  const runner = SandboxRunner.start({
    docker: createDockerClient(socketPath),
    profileText: await readFile(DEFAULT_PROFILE_PATH, 'utf8'),
    maxima: DEFAULT_LIMITS,
    onContainerStarted: ({ language, seconds }) =>
      sandboxMetrics.containerStart.observe({ language }, seconds),
  });
  closers.push(() => runner.close());
  api = await buildApiApp({
    database: await createDatabase({ driver: 'pg', url: dbUrl, poolSize: 2 }),
    sandbox: { runner: observedSandbox(runner, sandboxMetrics), maxima: DEFAULT_LIMITS },
    authenticate: (headers, meta) => apiVerifier.authenticate(headers, { clientAddress: meta.ip }),
    projectsDir: join(dataDir, 'projects'),
    files: { maxFileBytes: 1024 * 1024, maxProjectBytes: 8 * 1024 * 1024 },
    services: { auth: authUrl, llmserver: llmUrl },
    logger: logger('api'),
    metrics: { registry: apiRegistry, beforeScrape: () => sandboxMetrics.warmPool.set(0) },
    onClose: () => apiVerifier.close(),
  });
  await api.listen({ port: 0, host: '127.0.0.1' });
  closers.unshift(() => api.close());
  apiUrl = `http://127.0.0.1:${portOf(api)}`;
  ports = { api: portOf(api), auth: portOf(auth), llmserver: portOf(llm) };
  closers.push(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  // The admin registers and loads the tiny model; a developer with a budget and an API key calls it.
  const admin = await must<{ accessToken: string }>(authUrl, 'auth.login', {
    username: 'admin',
    password: ADMIN_PASSWORD,
  });
  const path = await ensureTinyModel();
  modelName = `tiny-${randomBytes(3).toString('hex')}`;
  const repository = new ModelRepository(db.db);
  await repository.register({
    name: modelName,
    sourceUrl: 'http://127.0.0.1:9/model.gguf',
    contextSize: 2048,
    costPerToken: 10,
  });
  await repository.markDownloaded(modelName, {
    filePath: path,
    sizeBytes: (await stat(path)).size,
    sha256: '0'.repeat(64),
  });
  await must(llmUrl, 'models.load', { name: modelName, sequences: 2 }, admin.accessToken);
  const username = `dev-${randomBytes(4).toString('hex')}`;
  await must(
    authUrl,
    'users.create',
    { username, role: 'developer', password: USER_PASSWORD },
    admin.accessToken,
  );
  const session = await must<{ accessToken: string; user: { id: number } }>(authUrl, 'auth.login', {
    username,
    password: USER_PASSWORD,
  });
  userToken = session.accessToken;
  userKey = (await must<{ secret: string }>(authUrl, 'keys.create', { label: 'e2e' }, userToken)).secret;
  await must(
    authUrl,
    'billing.grant',
    { userId: session.user.id, kind: 'credit', amount: 5_000, reason: 'e2e budget' },
    admin.accessToken,
  );
}, 120_000);

afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
  await db?.close();
  await tracing.shutdown();
});

describe('one chat request, observed end to end', () => {
  const traceId = randomBytes(16).toString('hex');
  let eventId = '';

  it('leaves one trace id on the spans of api, llmserver and the usage sink and on the tokens_used row', async () => {
    // A browser with OpenTelemetry sends its trace context; the gateway and every service continue it.
    const chat = await call<{ id: string; usage: { completionTokens: number } }>(
      apiUrl,
      'llm.chat',
      { model: modelName, messages: [{ role: 'user', content: PROMPT }], maxTokens: 8 },
      { 'x-cyber-token': userKey, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    );
    expect(chat.error).toBeUndefined();
    eventId = chat.result?.id as string;

    const deadline = Date.now() + 30_000;
    let row: { trace_id: string | null } | undefined;
    while (row === undefined && Date.now() < deadline) {
      row = await db.db
        .selectFrom('tokens_used')
        .select('trace_id')
        .where('event_id', '=', eventId)
        .executeTakeFirst();
      if (row === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(row?.trace_id).toBe(traceId);

    const inTrace = memory.spans().filter((span) => span.spanContext().traceId === traceId);
    const serverPorts = inTrace
      .filter((span) => span.kind === SpanKind.SERVER)
      .map((span) => Number(span.attributes['server.port'] ?? span.attributes['net.host.port']));
    expect(serverPorts).toContain(ports.api);
    expect(serverPorts).toContain(ports.llmserver);
    const llmSpan = inTrace.find((span) => span.name === `chat ${modelName}`);
    expect(llmSpan?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': modelName,
      'gen_ai.response.finish_reasons': expect.any(Array) as unknown,
    });
    expect(llmSpan?.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(llmSpan?.attributes['gen_ai.usage.output_tokens']).toBe(chat.result?.usage.completionTokens);
    // The sink's span may end a moment after the row committed.
    const sinkDeadline = Date.now() + 5_000;
    while (!memory.spans().some((s) => s.name === 'usage.book' && s.spanContext().traceId === traceId)) {
      if (Date.now() > sinkDeadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(memory.spans().some((s) => s.name === 'usage.book' && s.spanContext().traceId === traceId)).toBe(
      true,
    );
    // Every traced piece of this request shares the one trace id; none carries the prompt.
    expect(JSON.stringify(inTrace.map((span) => span.attributes))).not.toContain('purple walrus');
  });

  it('leaves the verdict and resources of a sandbox run on a span of its run.exec trace', async () => {
    const runTrace = randomBytes(16).toString('hex');
    const headers = { 'x-cyber-token': userKey };
    const project = await call<{ id: string }>(apiUrl, 'project.create', { name: 'observed' }, headers);
    const projectId = project.result?.id as string;
    await call(apiUrl, 'fs.write', { projectId, path: 'main.py', content: 'print("observed")\n' }, headers);
    const run = await call<{ verdict: string; stdout: string }>(
      apiUrl,
      'run.exec',
      { projectId, language: 'python', entry: 'main.py' },
      { ...headers, traceparent: `00-${runTrace}-${randomBytes(8).toString('hex')}-01` },
    );
    expect(run.error).toBeUndefined();
    expect(run.result?.verdict).toBe('ok');
    const span = memory
      .spans()
      .find((s) => s.name === 'sandbox.run python' && s.spanContext().traceId === runTrace);
    expect(span?.attributes).toMatchObject({
      'sandbox.language': 'python',
      'sandbox.verdict': 'ok',
      'sandbox.wall_ms': expect.any(Number) as unknown,
      'sandbox.cpu_ms': expect.any(Number) as unknown,
    });
  }, 60_000);

  it('writes the trace id on the services’ log lines of that request', () => {
    const lines = logLines.filter((line) => line.includes(traceId));
    const services = new Set(lines.map((line) => (JSON.parse(line) as { service: string }).service));
    expect(services).toContain('api');
    expect(services).toContain('llmserver');
  });

  it.skipIf(!PROMETHEUS || !TARGETS_DIR)(
    'a real Prometheus scrapes all three services and has data for every listed metric',
    async () => {
      // A refused request for the denial counter: the budget (5,000) cannot cover 2,000 tokens at 10 each.
      const denied = await call(
        apiUrl,
        'llm.chat',
        { model: modelName, messages: [{ role: 'user', content: 'x' }], maxTokens: 2000 },
        { authorization: `Bearer ${userToken}` },
      );
      expect(denied.error).toBeDefined();

      const file = join(TARGETS_DIR as string, `${run}.json`);
      const targets = Object.entries(ports).map(([service, port]) => ({
        targets: [`127.0.0.1:${port}`],
        labels: { run, service },
      }));
      await writeFile(file, JSON.stringify(targets));
      try {
        const query = async (expr: string) => {
          const url = `${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(expr)}`;
          const body = (await (await fetch(url)).json()) as {
            data: { result: { metric: Record<string, string>; value: [number, string] }[] };
          };
          return body.data.result;
        };
        const until = async (expr: string, ok: (n: number) => boolean) => {
          const deadline = Date.now() + 30_000;
          for (;;) {
            const result = await query(expr);
            if (ok(result.length) || Date.now() > deadline) return result;
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        };
        expect((await until(`up{run="${run}"} == 1`, (n) => n === 3)).length).toBe(3);
        const listed = [
          'http_server_request_duration_seconds_count',
          'llm_prompt_tokens_total',
          'llm_completion_tokens_total',
          'llm_time_to_first_token_seconds_count',
          'llm_budget_denials_total',
          'llm_reservations_open',
          'llm_model_load_duration_seconds_count',
          'llm_model_memory_bytes',
          'llm_models_disk_available_bytes',
          'usage_events_published_total',
          'usage_outbox_events',
          'usage_events_consumed_total',
          'usage_consumer_lag_seconds',
          'usage_consumer_lag_messages',
          'rpc_server_call_duration_seconds_count',
          'sandbox_warm_pool_containers',
          'sandbox_runs_total',
          'sandbox_run_duration_seconds_count',
          'sandbox_container_start_duration_seconds_count',
          'process_cpu_seconds_total',
        ];
        const missing: string[] = [];
        for (const name of listed) {
          if ((await until(`${name}{run="${run}"}`, (n) => n > 0)).length === 0) missing.push(name);
        }
        expect(missing).toEqual([]);
        const services = await query(
          `count by (service) (http_server_request_duration_seconds_count{run="${run}"})`,
        );
        expect(services.length).toBe(3);

        // Per JSON-RPC method: the chat counted as ok on the gateway and on llmserver, the refusal under its
        // error key, auth's own methods on auth; and the sink has caught up with every usage event.
        const rpc = (labels: string) => `rpc_server_call_duration_seconds_count{run="${run}", ${labels}}`;
        const chatOk = await until(
          `count by (service) (${rpc('method="llm.chat", outcome="ok"')})`,
          (n) => n === 2,
        );
        expect(chatOk.map((r) => r.metric.service).sort()).toEqual(['api', 'llmserver']);
        expect((await until(rpc('method="llm.chat", outcome!="ok"'), (n) => n > 0)).length).toBeGreaterThan(
          0,
        );
        expect(
          (await until(rpc('method="auth.login", outcome="ok", service="auth"'), (n) => n > 0)).length,
        ).toBe(1);
        const buckets = await query(
          `rpc_server_call_duration_seconds_bucket{run="${run}", method="llm.chat", outcome="ok", le="+Inf"} > 0`,
        );
        expect(buckets.length).toBe(2);
        expect((await until(`usage_consumer_lag_messages{run="${run}"} == 0`, (n) => n === 1)).length).toBe(
          1,
        );
      } finally {
        await unlink(file).catch(() => undefined);
      }
    },
    90_000,
  );

  it('logs of the whole run hold no password, API key, session token or prompt text', () => {
    expect(logLines.length).toBeGreaterThan(10);
    const all = logLines.join('');
    for (const secret of [ADMIN_PASSWORD, USER_PASSWORD, userKey, userToken, PROMPT, 'purple walrus']) {
      expect(all).not.toContain(secret);
    }
  });
});

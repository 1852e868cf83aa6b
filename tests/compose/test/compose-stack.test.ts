// The self-hosting stack end to end: builds the local bases and the service images, validates the compose
// files, brings docker-compose.yml + docker-compose.test.yml up on loopback ports of its own, and then, only
// through the api on 127.0.0.1: signs in as the bootstrap admin, creates a developer with a balance, runs code
// in a sandbox, registers, downloads (from a file server of this test on the compose network's gateway) and
// loads the tiny model, chats with it and sees the tokens billed. `down -v` must leave no container behind.
//
// Skips only when no Docker engine answers. Timings of each phase are printed (cold vs warm runs).
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTinyModel, sha256Hex } from '@cyber/llm/testing';
import { createHttpClient } from '@cyber/rpc-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  composeCommand,
  containerStates,
  dockerUnavailableReason,
  networkGateway,
  projectContainers,
  sh,
} from './compose-cli.ts';

const unavailable = dockerUnavailableReason();
if (unavailable !== undefined) console.warn(`compose e2e skipped: ${unavailable}`);

const PROJECT = 'cyber-compose-test';
/** Host ports of this stack: 17xxx, away from scripts/infra.sh's 7xxx that the other tests use. */
const PORTS = {
  CYBER_API_HOST_PORT: '17401',
  CYBER_AUTH_HOST_PORT: '17402',
  CYBER_LLM_HOST_PORT: '17403',
  CYBER_POSTGRES_HOST_PORT: '17432',
  CYBER_REDIS_HOST_PORT: '17379',
  CYBER_KAFKA_HOST_PORT: '17092',
  CYBER_PROMETHEUS_HOST_PORT: '17490',
  CYBER_OTEL_HOST_PORT: '17418',
};
const COMPOSE_FILES = ['-f', 'docker-compose.yml', '-f', 'docker-compose.test.yml'];
const ADMIN_PASSWORD = `admin-${randomBytes(12).toString('hex')}`;
const GRANT = 5_000_000;
const COST_PER_TOKEN = 10;
const MODEL = 'tiny-compose';

const timings: Record<string, number> = {};
async function timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[phase] = Math.round((performance.now() - started) / 100) / 10;
  }
}

describe.skipIf(unavailable !== undefined)('docker compose stack', () => {
  const compose = composeCommand();
  let env: Record<string, string>;
  let dataDir: string;
  let modelServer: Server | undefined;
  let upStarted = false;

  const composeRun = (args: string[], timeoutMs?: number) =>
    sh([...compose, '--project-name', PROJECT, ...COMPOSE_FILES, ...args], { env, timeoutMs });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cyber-compose-data-'));
    const socketGid = (await stat('/var/run/docker.sock')).gid;
    env = {
      ...PORTS,
      COMPOSE_PROJECT_NAME: PROJECT,
      CYBER_IMAGE_TAG: 'compose-test',
      CYBER_DB_PASSWORD: randomBytes(16).toString('hex'),
      CYBER_BOOTSTRAP_ADMIN_USERNAME: 'admin',
      CYBER_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CYBER_HOST_DATA_DIR: dataDir,
      CYBER_DOCKER_GID: String(socketGid),
      CYBER_SANDBOX_WARM_POOL: '0',
      CYBER_LLM_MEMORY: '2g',
      CYBER_LLM_CPUS: '2',
      CYBER_LOG_LEVEL: 'warn',
      // The classic builder through the docker CLI: BuildKit needs the buildx plugin, which Debian's docker.io
      // lacks, and docker-compose 1.x's own (Python) builder keeps a build cache of its own.
      DOCKER_BUILDKIT: '0',
      COMPOSE_DOCKER_CLI_BUILD: '1',
    };
    // A leftover stack of an interrupted run would hold the ports.
    await composeRun(['down', '--volumes', '--remove-orphans', '--timeout', '10']);
    await timed('local bases', () => sh(['bash', 'docker/build-local-bases.sh'], { timeoutMs: 1_200_000 }));
    await timed('images', () => composeRun(['build'], 1_200_000));
  });

  afterAll(async () => {
    if (unavailable !== undefined || env === undefined) return;
    modelServer?.close();
    if (upStarted) {
      const states = await containerStates(PROJECT).catch(() => []);
      const unhealthy = states.filter((s) => s.health !== undefined && s.health !== 'healthy');
      if (unhealthy.length > 0) {
        const logs = await composeRun(['logs', '--no-color', '--tail', '40']).catch((e: Error) => ({
          stdout: e.message,
        }));
        console.error(`containers not healthy: ${JSON.stringify(unhealthy)}\n${logs.stdout}`);
      }
    }
    await timed('down', () => composeRun(['down', '--volumes', '--remove-orphans', '--timeout', '30']));
    // Projects were written by the api (uid 10001) and the sandboxes (uid 65534); the test runs as root.
    await rm(dataDir, { recursive: true, force: true });
    console.info(`compose e2e timings (s): ${JSON.stringify(timings)}`);
  });

  it('validates the shipped file alone and with the test override', async () => {
    const shipped = await sh([...compose, '--project-name', PROJECT, '-f', 'docker-compose.yml', 'config'], {
      env,
    });
    const services = serviceBlocks(shipped.stdout);
    expect([...services.keys()].sort()).toEqual(
      [
        'api',
        'api-data-init',
        'auth',
        'kafka',
        'llmserver',
        'otel-collector',
        'postgres',
        'prometheus',
        'redis',
      ].sort(),
    );
    // Every published port is on loopback only (short syntax from docker-compose 1.x, long from v2).
    const hostIps = [
      ...[...shipped.stdout.matchAll(/^\s*- ['"]?([\d.]+):\d+:\d+/gm)].map((m) => m[1]),
      ...[...shipped.stdout.matchAll(/^\s*host_ip: ['"]?([\d.]+)/gm)].map((m) => m[1]),
    ];
    expect(hostIps.length).toBeGreaterThanOrEqual(8);
    expect(new Set(hostIps)).toEqual(new Set(['127.0.0.1']));
    // The Docker socket is mounted into the api and nowhere else.
    const withSocket = [...services]
      .filter(([, block]) => block.includes('docker.sock'))
      .map(([name]) => name);
    expect(withSocket).toEqual(['api']);
    await composeRun(['config', '--quiet']);
  });

  it('comes up, signs in, runs code, chats with the tiny model and bills the tokens', async () => {
    upStarted = true;
    await timed('up', () => composeRun(['up', '--detach', '--no-build'], 900_000));
    await timed('healthy', () => waitHealthy(PROJECT, 300_000));

    const api = `http://127.0.0.1:${PORTS.CYBER_API_HOST_PORT}`;
    expect((await fetch(`${api}/readyz`)).status).toBe(200);

    // The bootstrap admin from CYBER_BOOTSTRAP_ADMIN_PASSWORD, through the gateway.
    const anonymous = createHttpClient({ url: `${api}/rpc` });
    const adminSession = await anonymous.call('auth.login', { username: 'admin', password: ADMIN_PASSWORD });
    const admin = createHttpClient({ url: `${api}/rpc`, credentials: { bearer: adminSession.accessToken } });

    const devPassword = `dev-${randomBytes(12).toString('hex')}`;
    const { user: dev } = await admin.call('users.create', {
      username: 'compose-dev',
      password: devPassword,
      role: 'developer',
    });
    await admin.call('billing.grant', {
      userId: dev.id,
      kind: 'credit',
      amount: GRANT,
      reason: 'compose e2e',
      idempotencyKey: randomUUID(),
    });
    const devSession = await anonymous.call('auth.login', { username: 'compose-dev', password: devPassword });
    const developer = createHttpClient({
      url: `${api}/rpc`,
      credentials: { bearer: devSession.accessToken },
    });

    // Code runs in a sandbox the api starts through the mounted Docker socket.
    const project = await developer.call('project.create', { name: 'compose-e2e', template: 'python' });
    const run = await timed('run.exec', () =>
      developer.call('run.exec', {
        projectId: project.id,
        language: 'shell',
        command: ['sh', '-c', 'echo "sandbox says $((6 * 7))"; id -u'],
      }),
    );
    expect(run.verdict).toBe('ok');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('sandbox says 42');
    expect(run.stdout).toContain('65534');

    // The tiny model, served by this test on the compose network's gateway (the host's side of the bridge).
    const modelPath = await ensureTinyModel();
    const modelBytes = await readFile(modelPath);
    const gateway = await networkGateway(`${PROJECT}_backend`);
    modelServer = await serveFile(modelPath, gateway);
    const { port } = modelServer.address() as AddressInfo;
    await admin.call('models.register', {
      name: MODEL,
      sourceUrl: `http://${gateway}:${port}/tiny.gguf`,
      contextSize: 2048,
      costPerToken: COST_PER_TOKEN,
      sha256: sha256Hex(modelBytes),
    });
    const download = await timed('model download', () => admin.call('models.download', { name: MODEL }));
    expect(download.sizeBytes).toBe(modelBytes.length);
    await timed('model load', () => admin.call('models.load', { name: MODEL, sequences: 1 }));

    const chat = await timed('chat', () =>
      developer.call('llm.chat', {
        model: MODEL,
        messages: [{ role: 'user', content: 'Say hello to the compose stack.' }],
        maxTokens: 16,
      }),
    );
    expect(chat.usage.completionTokens).toBeGreaterThan(0);
    expect(chat.usage.cost).toBe(chat.usage.totalTokens * COST_PER_TOKEN);

    // The usage event travels llmserver → Kafka → auth's sink → tokens_used; the balance follows.
    const billed = await timed('billed', () =>
      pollUntil(
        async () => developer.call('billing.balance', {}),
        (balance) => balance.balance === GRANT - chat.usage.cost,
        60_000,
      ),
    );
    expect(billed.reserved).toBe(0);
    const usage = await developer.call('usage.summary', { groupBy: ['model'] });
    expect(usage.totals).toMatchObject({
      requests: 1,
      totalTokens: chat.usage.totalTokens,
      cost: chat.usage.cost,
    });
  });

  it('down removes every container of the project', async () => {
    await timed('down', () => composeRun(['down', '--volumes', '--remove-orphans', '--timeout', '30']));
    expect(await projectContainers(PROJECT)).toEqual([]);
  });
});

/** The text of each service of `docker compose config` output, by service name. */
function serviceBlocks(config: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const lines = config.split('\n');
  let current: string | undefined;
  let inServices = false;
  for (const line of lines) {
    if (/^\S/.test(line)) {
      inServices = line.startsWith('services:');
      current = undefined;
      continue;
    }
    if (!inServices) continue;
    const key = /^ {2}([\w.-]+):\s*$/.exec(line);
    if (key?.[1] !== undefined) {
      current = key[1];
      blocks.set(current, '');
    } else if (current !== undefined) {
      blocks.set(current, `${blocks.get(current) ?? ''}${line}\n`);
    }
  }
  return blocks;
}

/** Waits until every container of `project` is healthy (or, without a healthcheck, running or exited 0). */
async function waitHealthy(project: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await containerStates(project);
    const failed = states.find((s) => s.status === 'exited' && s.exitCode !== 0);
    if (failed !== undefined) throw new Error(`${failed.service} exited with ${failed.exitCode}`);
    const waiting = states.filter((s) =>
      s.health === undefined ? s.status !== 'running' && s.status !== 'exited' : s.health !== 'healthy',
    );
    if (states.length > 0 && waiting.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`not healthy after ${timeoutMs} ms: ${JSON.stringify(waiting)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Calls `read` until `done` accepts its value, at most `timeoutMs`. */
async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Serves one file at any path on `host` (a random port), as the model's download source. */
async function serveFile(path: string, host: string): Promise<Server> {
  await chmod(path, 0o644);
  const size = (await stat(path)).size;
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    if (request.method === 'HEAD') response.end();
    else createReadStream(path).pipe(response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return server;
}

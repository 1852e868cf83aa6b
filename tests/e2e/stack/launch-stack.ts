// The real studio stack for the browser tests, on loopback ports with throwaway state: a fresh PostgreSQL
// database, the real auth app and llmserver with the tiny generated model loaded through models.load (both from
// llmserver's test harness), the sandbox runner on the real Docker engine, and the api gateway serving the
// BUILT studio-ui (apps/studio-ui/dist). Run as its own process (tsx --conditions=@cyber/source); it writes
// what the tests need (URL, accounts) as JSON to the file named by argv[2], prints READY, and closes
// everything on SIGTERM or SIGINT.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, loadTelemetryPanels } from '@cyber/api';
import { createMetricsRegistry } from '@cyber/api/testing';
import { createVerifier } from '@cyber/auth-client';
import { createDatabase } from '@cyber/db';
import {
  DEFAULT_IMAGES,
  DEFAULT_LIMITS,
  DEFAULT_PROFILE_PATH,
  SandboxRunner,
  createDockerClient,
} from '@cyber/sandbox';
import { infraEnv } from '../../../vitest.shared.ts';
import { ADMIN_PASSWORD, startLlmHarness } from '../../../apps/llmserver/test/llm-harness.ts';
import { createE2eAgentModel } from './agent-script.ts';
import type { StackInfo } from './stack-info.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const uiDir = join(repoRoot, 'apps', 'studio-ui', 'dist');
const MiB = 1024 * 1024;
/** Password of the test accounts the stack creates. */
const PASSWORD = 'e2e-password-for-studio';

/** The sandbox maxima: short, so the endless-loop test ends on its limit quickly. */
const MAXIMA = {
  wallMs: 20_000,
  cpuMs: 20_000,
  memoryBytes: 256 * MiB,
  pids: 64,
  openFiles: 256,
  fileSizeBytes: 8 * MiB,
  outputBytes: 1 * MiB,
};

async function dockerImagesPresent(socketPath: string): Promise<boolean> {
  const docker = createDockerClient(socketPath);
  try {
    const images = await docker.listImages();
    const tags = new Set(images.flatMap((image) => image.RepoTags ?? []));
    return Object.values(DEFAULT_IMAGES).every((tag) => tags.has(tag));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const infoFile = process.argv[2];
  if (infoFile === undefined) throw new Error('usage: launch-stack.ts <info-file.json>');
  if (!existsSync(join(uiDir, 'index.html'))) {
    throw new Error(`${uiDir} has no build: run pnpm --filter @cyber/studio-ui build`);
  }
  for (const [key, value] of Object.entries(infraEnv())) process.env[key] ??= value;

  const harness = await startLlmHarness({ sequences: 2 });
  const closers: (() => Promise<void>)[] = [() => harness.close()];

  const makeUser = async (role: 'developer' | 'viewer'): Promise<string> => {
    const username = `e2e-${role}-${randomBytes(3).toString('hex')}`;
    await harness.auth('users.create', { username, role, password: PASSWORD }, harness.admin);
    return username;
  };
  const developer = await makeUser('developer');
  const viewer = await makeUser('viewer');

  const socketPath = process.env.CYBER_DOCKER_SOCKET;
  let runner: SandboxRunner | undefined;
  if (socketPath !== undefined && (await dockerImagesPresent(socketPath))) {
    const started = SandboxRunner.start({
      docker: createDockerClient(socketPath),
      profileText: readFileSync(DEFAULT_PROFILE_PATH, 'utf8'),
      defaults: { ...DEFAULT_LIMITS, ...MAXIMA, wallMs: 10_000, tmpBytes: 16 * MiB },
      maxima: { ...DEFAULT_LIMITS, ...MAXIMA, tmpBytes: 16 * MiB },
      warmPoolSize: 1,
    });
    runner = started;
    closers.unshift(() => started.close());
  }

  const redisUrl = process.env.CYBER_REDIS_URL;
  const databaseUrl = harness.database.url;
  if (redisUrl === undefined || databaseUrl === undefined) throw new Error('infra settings missing');
  const verifier = createVerifier({
    authUrl: harness.authUrl,
    issuer: 'cyberdevstudio',
    audience: 'cyberdevstudio',
    redisUrl,
    redisKeyPrefix: harness.redisPrefix,
  });
  await verifier.ready();
  const dataDir = await mkdtemp(join(tmpdir(), 'cyber-e2e-'));
  const api = await buildApp({
    database: await createDatabase({ driver: 'pg', url: databaseUrl, poolSize: 4 }),
    authenticate: (headers, meta) => verifier.authenticate(headers, { clientAddress: meta.ip }),
    projectsDir: join(dataDir, 'projects'),
    files: { maxFileBytes: 4 * MiB, maxProjectBytes: 64 * MiB },
    services: { auth: harness.authUrl, llmserver: harness.url },
    ...(runner === undefined ? {} : { sandbox: { runner, maxima: MAXIMA } }),
    // The agent's model is the scripted double (see agent-script.ts for why); llm.chat still uses the tiny model.
    agent: { createModel: createE2eAgentModel },
    studioUiDir: uiDir,
    // Telemetry without Prometheus: the gateway reads its own registry (auth and llmserver run without one here).
    metrics: { registry: createMetricsRegistry() },
    telemetry: { panels: await loadTelemetryPanels() },
    onClose: () => verifier.close(),
  });
  await api.listen({ host: '127.0.0.1', port: 0 });
  closers.unshift(async () => {
    await api.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const info: StackInfo = {
    url: `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`,
    sandbox: runner !== undefined,
    model: harness.model.name,
    accounts: {
      admin: { username: 'admin', password: ADMIN_PASSWORD },
      developer: { username: developer, password: PASSWORD },
      viewer: { username: viewer, password: PASSWORD },
    },
  };
  await writeFile(infoFile, JSON.stringify(info, null, 2));

  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    for (const closer of closers) await closer().catch((error: unknown) => console.error('close:', error));
    process.exit(0);
  };
  process.on('SIGTERM', () => void close());
  process.on('SIGINT', () => void close());
  console.log(`READY ${info.url}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

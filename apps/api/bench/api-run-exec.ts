// run.exec of `python3 -c "print(1)"` through the gateway's POST /rpc versus bare dockerode, interleaved round by
// round in one process:
//   warm: gateway with a prewarmed container   vs  a bare exec into a started container (same HostConfig)
//   cold: gateway with pool size 0             vs  a bare create+attach+start+wait(+remove)
//
//   pnpm --filter @cyber/api bench:run-exec            (needs scripts/infra.sh up and sandbox-images/build.sh)
//   BENCH_ROUNDS=30 pnpm --filter @cyber/api bench:run-exec
//   BENCH_PROJECT_FILES=5000 pnpm --filter @cyber/api bench:run-exec   (the gateway's projects hold 5,000 files)
//
// The gateway is the real app listening on loopback, called with node:http (as dockerode calls the engine),
// authenticating each call with @cyber/auth-client's verifier against the real auth app (test/test-app.ts),
// with the run recorded in PostgreSQL. Between measurements the bench waits for the work done after an answer
// (the runner's container removal and pool refill, the gateway's re-measure of the project's size) so it never
// overlaps the next measurement; the order of gateway and bare alternates each round.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import {
  DEFAULT_IMAGES,
  DEFAULT_LIMITS,
  DEFAULT_PROFILE_PATH,
  KEEPER_USER,
  SANDBOX_USER,
  SandboxRunner,
  containerSpec,
  resolveLimits,
} from '@cyber/sandbox';
import Docker from 'dockerode';
import { startTestApp, type TestApp, type TestUser } from '../test/test-app.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
/** Files in the gateway's projects (100 bytes each, 50 per folder), as a project with dependencies has. */
const PROJECT_FILES = Number(process.env.BENCH_PROJECT_FILES ?? 0);
const WARMUP = 2;
const COMMAND = ['python3', '-c', 'print(1)'];

const socketPath = process.env.CYBER_DOCKER_SOCKET;
if (!socketPath) throw new Error('CYBER_DOCKER_SOCKET is not set: run scripts/infra.sh up');
const docker = new Docker({ socketPath });
const profileText = readFileSync(DEFAULT_PROFILE_PATH, 'utf8');
const limits = resolveLimits(undefined, { defaults: DEFAULT_LIMITS, maxima: DEFAULT_LIMITS });
const { tmpBytes: _tmp, nanoCpus: _cpus, ...maxima } = { ...DEFAULT_LIMITS };

interface Gateway {
  t: TestApp;
  runner: SandboxRunner;
  user: TestUser;
  projectId: string;
  workspaceDir: string;
  url: string;
}

async function gateway(warmPoolSize: number): Promise<Gateway> {
  const runner = SandboxRunner.start({ docker, profileText, maxima: DEFAULT_LIMITS, warmPoolSize });
  const t = await startTestApp({ sandbox: { runner, maxima } });
  const user = await t.user('developer');
  const { id } = await t.call<{ id: string }>('project.create', { name: 'bench', template: 'empty' }, user);
  await seedFiles(join(t.projectsDir, id), PROJECT_FILES);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/rpc`;
  return { t, runner, user, projectId: id, workspaceDir: join(t.projectsDir, id), url };
}

async function seedFiles(workspaceDir: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const folder = join(workspaceDir, 'deps', `d${Math.floor(i / 50)}`);
    if (i % 50 === 0) await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `f${i % 50}.js`), 'x'.repeat(100));
  }
}

/** Keep-alive, as a script making calls in a row would: the figure is the call, not a TCP handshake. */
const agent = new Agent({ keepAlive: true });

/**
 * POSTs `body` with node:http and resolves with the parsed answer. node:http, the leanest client Node ships,
 * because the bare side's dockerode uses it too: Node's fetch (undici) adds 2-8 ms per call here before the
 * request reaches the server, which would be charged to the gateway.
 */
function postJson(url: string, headers: Record<string, string>, body: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        response.once('error', reject);
      },
    );
    request.once('error', reject);
    request.end(body);
  });
}

/** Waits for the gateway's work after its answer (the project's size) and the runner's (removal, refill). */
async function settled(g: Gateway): Promise<void> {
  await Promise.all([g.t.background.settled(), g.runner.settled()]);
}

/** One authenticated run.exec over HTTP; returns its latency in ms. */
async function viaGateway(g: Gateway): Promise<number> {
  const t0 = performance.now();
  const body = (await postJson(
    g.url,
    { 'content-type': 'application/json', authorization: `Bearer ${g.user.token}` },
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'run.exec',
      params: { projectId: g.projectId, language: 'python', command: COMMAND },
    }),
  )) as { result?: { verdict: string; stdout: string } };
  const ms = performance.now() - t0;
  if (body.result?.verdict !== 'ok' || body.result.stdout !== '1\n') {
    throw new Error(`gateway run failed: ${JSON.stringify(body)}`);
  }
  return ms;
}

function spec(workspaceDir: string, role: 'cold' | 'warm'): Docker.ContainerCreateOptions {
  return containerSpec({
    image: DEFAULT_IMAGES.python,
    cmd: role === 'warm' ? ['sleep', 'infinity'] : COMMAND,
    user: role === 'warm' ? KEEPER_USER : SANDBOX_USER,
    workspaceDir,
    limits,
    seccompText: profileText,
    openStdin: false,
    network: false,
    role,
  });
}

function collect(stream: Duplex): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const done = (): void => {
      // Docker's multiplexed frames: [stream, 0, 0, 0, size32be] + payload; keep the payloads.
      let all = Buffer.concat(chunks);
      let text = '';
      while (all.length >= 8) {
        const size = all.readUInt32BE(4);
        text += all.subarray(8, 8 + size).toString('utf8');
        all = all.subarray(8 + size);
      }
      resolve(text);
    };
    stream.once('end', done);
    stream.once('close', done);
  });
}

/** Bare cold run: create+attach+start+wait; `removed` also counts the removal. */
async function bareCold(workspaceDir: string): Promise<{ run: number; removed: number }> {
  const t0 = performance.now();
  const container = await docker.createContainer(spec(workspaceDir, 'cold'));
  const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as Duplex;
  const output = collect(stream);
  await container.start();
  const exit = (await container.wait()) as { StatusCode: number };
  const text = await output;
  const run = performance.now() - t0;
  await container.remove({ force: true, v: true });
  const removed = performance.now() - t0;
  if (exit.StatusCode !== 0 || text !== '1\n') throw new Error(`bare run failed: ${exit.StatusCode} ${text}`);
  return { run, removed };
}

/** Bare exec into an already started container: exec create+start+output end+inspect. */
async function bareExec(container: Docker.Container): Promise<number> {
  const t0 = performance.now();
  const exec = await container.exec({
    Cmd: COMMAND,
    User: SANDBOX_USER,
    AttachStdout: true,
    AttachStderr: true,
    WorkingDir: '/workspace',
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const text = await collect(stream);
  const info = await exec.inspect();
  const ms = performance.now() - t0;
  if (info.ExitCode !== 0 || text !== '1\n') throw new Error(`bare exec failed: ${info.ExitCode} ${text}`);
  return ms;
}

function stats(values: number[]): { median: number; p90: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { median: at(0.5), p90: at(0.9) };
}

async function main(): Promise<void> {
  const warm = await gateway(1);
  const cold = await gateway(0);
  const bareDir = await mkdtemp(join(tmpdir(), 'cyber-bench-run-'));
  await chmod(bareDir, 0o777);
  const series: Record<string, number[]> = {
    'gateway warm': [],
    'bare exec (warm)': [],
    'runner alone (warm)': [],
    'gateway cold': [],
    'bare run (no remove)': [],
    'bare run + remove': [],
  };
  try {
    for (let round = 0; round < WARMUP + ROUNDS; round += 1) {
      const keep = round >= WARMUP;
      const gatewayFirst = round % 2 === 0;
      // Warm: a prewarmed container for the gateway's user and a started one for the bare exec.
      await warm.runner.prewarm({
        language: 'python',
        workspaceDir: warm.workspaceDir,
        owner: String(warm.user.id),
      });
      // The runner alone on a prewarmed container: splits the gateway's overhead from the runner's.
      await warm.runner.settled();
      const direct = performance.now();
      const result = await warm.runner.run({
        language: 'python',
        command: COMMAND,
        workspaceDir: warm.workspaceDir,
        owner: String(warm.user.id),
      });
      if (keep && result.path === 'warm') series['runner alone (warm)']?.push(performance.now() - direct);
      await warm.runner.settled();
      const bare = await docker.createContainer(spec(bareDir, 'warm'));
      await bare.start();
      await warm.runner.settled();
      const warmSteps = [
        async () => {
          const ms = await viaGateway(warm);
          await settled(warm);
          if (keep) series['gateway warm']?.push(ms);
        },
        async () => {
          const ms = await bareExec(bare);
          if (keep) series['bare exec (warm)']?.push(ms);
        },
      ];
      try {
        for (const step of gatewayFirst ? warmSteps : warmSteps.reverse()) await step();
      } finally {
        await bare.remove({ force: true, v: true });
      }

      const coldSteps = [
        async () => {
          const ms = await viaGateway(cold);
          await settled(cold);
          if (keep) series['gateway cold']?.push(ms);
        },
        async () => {
          const { run, removed } = await bareCold(bareDir);
          if (keep) {
            series['bare run (no remove)']?.push(run);
            series['bare run + remove']?.push(removed);
          }
        },
      ];
      for (const step of gatewayFirst ? coldSteps : coldSteps.reverse()) await step();
    }
  } finally {
    for (const g of [warm, cold]) {
      await g.t.close();
      await g.runner.close();
    }
    await rm(bareDir, { recursive: true, force: true });
    agent.destroy();
  }

  const s = Object.fromEntries(Object.entries(series).map(([name, values]) => [name, stats(values)]));
  console.log(
    `run.exec python3 -c "print(1)", ${ROUNDS} rounds (+${WARMUP} warm-up), ${PROJECT_FILES} files in the project, ms`,
  );
  for (const [name, { median, p90 }] of Object.entries(s)) {
    console.log(
      `  ${name.padEnd(22)} median ${median.toFixed(1).padStart(7)}  p90 ${p90.toFixed(1).padStart(7)}`,
    );
  }
  const ratio = (a: string, b: string): string => ((s[a]?.median ?? NaN) / (s[b]?.median ?? NaN)).toFixed(2);
  console.log(
    `  warm: gateway / bare exec           ${ratio('gateway warm', 'bare exec (warm)')}x (aim <= 1.25x)`,
  );
  console.log(
    `  cold: gateway / bare run + remove   ${ratio('gateway cold', 'bare run + remove')}x (aim <= 1.1x)`,
  );
  console.log(`  cold: gateway / bare run (no remove) ${ratio('gateway cold', 'bare run (no remove)')}x`);
}

await main();

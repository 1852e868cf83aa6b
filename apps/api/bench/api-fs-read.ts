// Authenticated fs.read of a 4 KiB file through the gateway versus a bare Fastify route returning the same
// bytes, with autocannon (50 connections) in the same run. The phases alternate (bare, gateway, bare, gateway,
// ...; 3 rounds of 5 s each) so a load change on a shared machine lands on both sides instead of in the ratio,
// and the ratio is taken between the medians of the two sides. Each phase also reports the server's event-loop
// busy time per request: the loop is the bottleneck, so that figure shows what each request costs it, and is
// steadier than throughput when other work on the machine takes CPU from the client.
//
//   pnpm --filter @cyber/api bench:fs-read          (needs scripts/infra.sh up: PostgreSQL)
//   BENCH_CPU_PROF_DIR=/tmp/prof pnpm --filter @cyber/api bench:fs-read   (V8 CPU profile of the servers)
//
// The servers run in a child process so autocannon's own CPU use does not share their event loop. The gateway
// authenticates every request with @cyber/auth-client's real verifier (an Ed25519 JWT checked against a JWKS
// served by a stub fetch, as after the first JWKS fetch in production), looks up the project access in
// PostgreSQL, and walks the path with the O_NOFOLLOW descriptor walk.
import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVerifier } from '@cyber/auth-client';
import { UsersRepository } from '@cyber/db';
import { createTestDatabase } from '@cyber/db/testing';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';

const CONNECTIONS = 50;
const ROUNDS = 3;
const PHASE_S = 5;
const ISSUER = 'cyberdevstudio';
const KID = 'bench-key';

interface Ready {
  gatewayPort: number;
  barePort: number;
  token: string;
  projectId: string;
}

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** An EdDSA JWT as auth issues them (sub, role, iss, aud, iat, exp, kid). */
function signJwt(privateKey: KeyObject, claims: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: KID }));
  const payload = base64url(JSON.stringify(claims));
  const signature = sign(null, Buffer.from(`${header}.${payload}`), privateKey);
  return `${header}.${payload}.${base64url(signature)}`;
}

async function serve(): Promise<void> {
  const database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  const dataDir = await mkdtemp(join(tmpdir(), 'cyber-bench-'));
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'EdDSA', use: 'sig' }] };
  const verifier = createVerifier({
    authUrl: 'http://auth.bench.invalid',
    issuer: ISSUER,
    audience: ISSUER,
    fetch: () =>
      Promise.resolve(
        new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } }),
      ),
  });
  const user = await new UsersRepository(database.db).create({
    username: `bench-${randomBytes(4).toString('hex')}`,
    password_hash: 'not-a-hash',
    role: 'developer',
  });
  const now = Math.floor(Date.now() / 1000);
  const token = signJwt(privateKey, {
    sub: String(user.id),
    role: 'developer',
    iss: ISSUER,
    aud: ISSUER,
    iat: now,
    exp: now + 3600,
  });
  const gateway = await buildApp({
    database,
    authenticate: (headers) => verifier.authenticate(headers),
    projectsDir: join(dataDir, 'projects'),
    files: { maxFileBytes: 1024 * 1024, maxProjectBytes: 64 * 1024 * 1024 },
    services: { auth: 'http://127.0.0.1:9', llmserver: 'http://127.0.0.1:9' },
    onClose: () => verifier.close(),
  });
  const call = async (method: string, params: unknown): Promise<Record<string, unknown>> => {
    const response = await gateway.inject({
      method: 'POST',
      url: '/rpc',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: { jsonrpc: '2.0', id: 1, method, params },
    });
    const body = response.json<{ result?: Record<string, unknown>; error?: unknown }>();
    if (body.result === undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
    return body.result;
  };
  const project = await call('project.create', { name: 'bench' });
  const projectId = String(project.id);
  // 4 KiB of printable text, so fs.read answers utf8 like an editor's typical file.
  const content = randomBytes(3072).toString('base64');
  await call('fs.write', { projectId, path: 'src/file.txt', content });
  const filePath = join(dataDir, 'projects', projectId, 'src', 'file.txt');

  const bare = Fastify();
  bare.get('/file', async (_request, reply) => reply.type('text/plain').send(await readFile(filePath)));

  await gateway.listen({ host: '127.0.0.1', port: 0 });
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const ready: Ready = {
    gatewayPort: (gateway.server.address() as AddressInfo).port,
    barePort: (bare.server.address() as AddressInfo).port,
    token,
    projectId,
  };
  process.send?.(ready);
  let busySince = performance.eventLoopUtilization();
  process.on('message', (message) => {
    if (message === 'mark') {
      // The server's event-loop busy time since the last mark, in ms: per request, the main thread's cost.
      const now = performance.eventLoopUtilization();
      process.send?.({ busyMs: performance.eventLoopUtilization(now, busySince).active });
      busySince = now;
      return;
    }
    if (message !== 'stop') return;
    void (async () => {
      await bare.close();
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
      process.exit(0);
    })();
  });
}

/** Asks the server process for its event-loop busy time since the last ask. */
function busyMs(server: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    server.once('message', (message) => resolve((message as { busyMs: number }).busyMs));
    server.send('mark');
  });
}

interface Figures {
  requestsPerSecond: number;
  /** The server's event-loop busy time per request, in µs. */
  busyUs: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

async function measure(server: ChildProcess, options: autocannon.Options): Promise<Figures> {
  await busyMs(server);
  const result = await autocannon({ connections: CONNECTIONS, duration: PHASE_S, ...options });
  const busy = await busyMs(server);
  return {
    requestsPerSecond: result.requests.average,
    busyUs: (busy * 1000) / result.requests.total,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

async function main(): Promise<void> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['serve'], {
    // The profile covers the server process only (both routes), written when it exits after 'stop'.
    execArgv: process.env.BENCH_CPU_PROF_DIR
      ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`]
      : process.execArgv,
    stdio: 'inherit',
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (message) => resolve(message as Ready));
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'fs.read',
    params: { projectId: ready.projectId, path: 'src/file.txt' },
  });
  // A short warm-up of each, so JIT and the JWKS fetch are not in the figures.
  await autocannon({ url: `http://127.0.0.1:${ready.barePort}/file`, connections: 10, duration: 2 });
  await autocannon({
    url: `http://127.0.0.1:${ready.gatewayPort}/rpc`,
    method: 'POST',
    headers: { authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
    body,
    connections: 10,
    duration: 2,
  });
  const bareOptions: autocannon.Options = { url: `http://127.0.0.1:${ready.barePort}/file` };
  const gatewayOptions: autocannon.Options = {
    url: `http://127.0.0.1:${ready.gatewayPort}/rpc`,
    method: 'POST',
    headers: { authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
    body,
  };
  const bare: Figures[] = [];
  const gateway: Figures[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    bare.push(await measure(child, bareOptions));
    gateway.push(await measure(child, gatewayOptions));
  }
  child.send('stop');

  const line = (name: string, f: Figures): string =>
    `${name.padEnd(30)} ${f.requestsPerSecond.toFixed(0).padStart(8)} req/s   p99 ${String(f.p99Ms).padStart(4)} ms   busy ${f.busyUs.toFixed(0).padStart(4)} µs/req   errors ${f.errors}   non-2xx ${f.non2xx}`;
  console.log(
    `fs.read of a 4 KiB file, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${PHASE_S} s per side, interleaved`,
  );
  bare.forEach((b, round) => {
    console.log(line(`round ${round + 1} bare Fastify route`, b));
    const g = gateway[round];
    if (g !== undefined) console.log(line(`round ${round + 1} gateway fs.read`, g));
  });
  const summary = (figures: Figures[]): Figures => ({
    requestsPerSecond: median(figures.map((f) => f.requestsPerSecond)),
    busyUs: median(figures.map((f) => f.busyUs)),
    p99Ms: median(figures.map((f) => f.p99Ms)),
    errors: figures.reduce((sum, f) => sum + f.errors, 0),
    non2xx: figures.reduce((sum, f) => sum + f.non2xx, 0),
  });
  const bareMedian = summary(bare);
  const gatewayMedian = summary(gateway);
  console.log(line('median bare Fastify route', bareMedian));
  console.log(line('median gateway (JWT, PG)', gatewayMedian));
  const ratio = gatewayMedian.requestsPerSecond / bareMedian.requestsPerSecond;
  const rounds = gateway
    .map((g, i) => (g.requestsPerSecond / (bare[i]?.requestsPerSecond ?? Number.NaN)).toFixed(2))
    .join(', ');
  console.log(
    `ratio of medians gateway/bare: ${ratio.toFixed(2)}x (per round ${rounds}; aim >= 0.7x, gateway p99 < 10 ms)`,
  );
  // The same comparison from the server's side: its event-loop time per request, bare over gateway.
  console.log(
    `server busy per request: bare ${bareMedian.busyUs.toFixed(0)} µs, gateway ${gatewayMedian.busyUs.toFixed(0)} µs (bare/gateway ${(bareMedian.busyUs / gatewayMedian.busyUs).toFixed(2)}x)`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const at = (index: number): number => sorted[index] ?? Number.NaN;
  return sorted.length % 2 === 1 ? at(middle) : (at(middle - 1) + at(middle)) / 2;
}

if (process.argv[2] === 'serve') await serve();
else await main();

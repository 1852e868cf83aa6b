// The standalone studio end to end in one process, on its embedded adapters only (no PostgreSQL, Redis or Kafka
// server is touched): the first start creates the admin and reports the generated password once; that password
// signs in through the gateway; a chat through llmserver is billed by auth's sink via the in-process usage bus;
// the second start on the same directory keeps the admin, the signing key, the balance and the model, and
// without a reachable Docker engine a run is refused with the reason.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { isRpcError } from '@cyber/contract';
import { createWsClient } from '@cyber/rpc-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadStudioConfig, startStudio, type Studio } from '../src/index.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface RpcAnswer<T> {
  result?: T;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

async function rpc<T>(url: string, method: string, params: unknown, token?: string): Promise<RpcAnswer<T>> {
  const response = await fetch(`${url}/rpc`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await response.json()) as RpcAnswer<T>;
}

async function login(
  url: string,
  username: string,
  password: string,
): Promise<{ token: string; id: number }> {
  const answer = await rpc<{ accessToken: string; user: { id: number } }>(url, 'auth.login', {
    username,
    password,
  });
  if (answer.result === undefined) throw new Error(`login failed: ${JSON.stringify(answer.error)}`);
  return { token: answer.result.accessToken, id: answer.result.user.id };
}

async function jwksKids(authUrl: string): Promise<string[]> {
  const response = await fetch(`${authUrl}/.well-known/jwks.json`);
  const body = (await response.json()) as { keys: { kid: string }[] };
  return body.keys.map((key) => key.kid).sort();
}

describe('pnpm studio (startStudio)', () => {
  let dir: string;
  let uiDir: string;
  let logs = '';
  const running: Studio[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });

  const start = (env: Record<string, string> = {}): Promise<Studio> => {
    const allEnv = {
      CYBER_STUDIO_DIR: dir,
      CYBER_STUDIO_PORT: '0',
      CYBER_STUDIO_AUTH_PORT: '0',
      CYBER_STUDIO_LLM_PORT: '0',
      CYBER_STUDIO_MODEL: 'tiny',
      CYBER_ARGON2_MEMORY_KIB: '4096',
      CYBER_ARGON2_TIME_COST: '1',
      CYBER_LLM_THREADS: '1',
      CYBER_LLM_GPU: 'false',
      ...env,
    };
    return startStudio({
      config: loadStudioConfig(allEnv, { cwd: process.cwd(), repoRoot }),
      repoRoot,
      env: allEnv,
      uiDir,
      logStream,
      report: () => undefined,
    }).then((studio) => {
      running.push(studio);
      return studio;
    });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cyber-studio-test-'));
    uiDir = await mkdtemp(join(tmpdir(), 'cyber-studio-ui-'));
    await writeFile(join(uiDir, 'index.html'), '<!doctype html><title>CyberDevStudio</title>');
  });

  afterAll(async () => {
    for (const studio of running) await studio.close();
    await rm(dir, { recursive: true, force: true });
    await rm(uiDir, { recursive: true, force: true });
  });

  let password = '';
  let developer = { token: '', id: 0 };
  let kids: string[] = [];
  let balanceAfterChat = 0;

  it('first start: creates the admin with a generated password it reports once, serves the UI and signs in', async () => {
    const studio = await start();
    expect(studio.createdAdmin?.username).toBe('admin');
    password = studio.createdAdmin?.password ?? '';
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(studio.model).toMatchObject({ name: 'tiny', origin: 'tiny' });
    expect(studio.model.path.startsWith(join(dir, 'models'))).toBe(true);

    const page = await fetch(`${studio.url}/some/ide/route`);
    expect(await page.text()).toContain('CyberDevStudio');
    const admin = await login(studio.url, 'admin', password);
    const created = await rpc(
      studio.url,
      'users.create',
      {
        username: 'dev',
        role: 'developer',
        password: 'developer-password-1',
      },
      admin.token,
    );
    expect(created.error).toBeUndefined();
    developer = await login(studio.url, 'dev', 'developer-password-1');
    const grant = await rpc(
      studio.url,
      'billing.grant',
      {
        userId: developer.id,
        kind: 'credit',
        amount: 1_000_000,
        reason: 'studio test',
      },
      admin.token,
    );
    expect(grant.error).toBeUndefined();
    const models = await rpc<{ items: { name: string; status: string }[] }>(
      studio.url,
      'models.list',
      {},
      developer.token,
    );
    expect(models.result?.items).toContainEqual(expect.objectContaining({ name: 'tiny', status: 'loaded' }));
    kids = await jwksKids(studio.authUrl);
    expect(kids.length).toBeGreaterThan(0);
    // The generated password is told to the caller, never written to the logs.
    expect(logs).not.toContain(password);
  });

  it('bills a chat through the in-process usage bus and auth sink', async () => {
    const studio = running[0];
    if (studio === undefined) throw new Error('the first start failed');
    const response = await fetch(`${studio.llmUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${developer.token}` },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8 }),
    });
    expect(response.status).toBe(200);
    const completion = (await response.json()) as { usage: { total_tokens: number } };
    expect(completion.usage.total_tokens).toBeGreaterThan(0);
    const expected = 1_000_000 - completion.usage.total_tokens * 10;
    await expect
      .poll(
        async () =>
          (await rpc<{ balance: number }>(studio.url, 'billing.balance', {}, developer.token)).result
            ?.balance,
        { timeout: 10_000 },
      )
      .toBe(expected);
    balanceAfterChat = expected;
  });

  it('stops cleanly, and a second start keeps the admin, the signing key, the ledger and the model; runs without Docker are refused with the reason', async () => {
    const first = running.shift();
    await first?.close();
    const studio = await start({ CYBER_DOCKER_SOCKET: join(dir, 'no-docker.sock') });
    expect(studio.createdAdmin).toBeUndefined();
    expect(await jwksKids(studio.authUrl)).toEqual(kids);
    const admin = await login(studio.url, 'admin', password);
    expect(admin.id).toBeGreaterThan(0);
    const again = await login(studio.url, 'dev', 'developer-password-1');
    const balance = await rpc<{ balance: number }>(studio.url, 'billing.balance', {}, again.token);
    expect(balance.result?.balance).toBe(balanceAfterChat);
    const models = await rpc<{ items: { name: string; status: string }[] }>(
      studio.url,
      'models.list',
      {},
      again.token,
    );
    expect(models.result?.items.filter((model) => model.name === 'tiny')).toEqual([
      expect.objectContaining({ status: 'loaded' }),
    ]);

    expect(studio.sandboxUnavailable).toBeDefined();
    const project = await rpc<{ id: string }>(studio.url, 'project.create', { name: 'p' }, again.token);
    const projectId = project.result?.id ?? '';
    await rpc(studio.url, 'fs.write', { projectId, path: 'main.py', content: 'print(1)\n' }, again.token);
    const client = createWsClient({
      url: `${studio.url.replace('http', 'ws')}/rpc`,
      WebSocket,
      credentials: { bearer: again.token },
    });
    try {
      const refused = await client
        .call(
          'run.exec',
          { projectId, language: 'python', entry: 'main.py' },
          { onNotification: () => undefined },
        )
        .catch((error: unknown) => error);
      expect(isRpcError(refused, 'sandbox_unavailable')).toBe(true);
      expect((refused as Error).message).toContain('Runs are off in this studio');
    } finally {
      client.close();
    }
  });
});

// API keys through the real auth app (PostgreSQL, Redis), and revocation seen by a second service process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, TestAuth, type Session } from './auth-harness.ts';

interface CreatedKey {
  key: { id: string; prefix: string; roleCap: string | null; lastUsedAt: string | null };
  secret: string;
}

let auth: TestAuth;
let admin: Session;
let developer: Session;

beforeAll(async () => {
  auth = await TestAuth.create();
  await auth.start();
  admin = await auth.login('admin', ADMIN_PASSWORD);
  developer = await auth.userWithRole('developer', admin.accessToken);
});

afterAll(async () => {
  await auth?.close();
});

const introspect = (token: string) => auth.call('auth.introspect', { token });
const create = (session: Session, params: Record<string, unknown>) =>
  auth.ok<CreatedKey>('keys.create', params, { token: session.accessToken });

describe('keys', () => {
  it('shows the secret once as cds_<prefix>_<secret>, stores only its sha256, and mirrors it in users.api_key_hash', async () => {
    const created = await create(developer, { label: 'ci' });
    expect(created.secret).toMatch(/^cds_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.secret.startsWith(`${created.key.prefix}_`)).toBe(true);
    const row = await auth.database.db
      .selectFrom('api_keys')
      .select(['secret_hash'])
      .where('id', '=', created.key.id)
      .executeTakeFirstOrThrow();
    const secret = created.secret.slice(created.key.prefix.length + 1);
    expect(row.secret_hash).toBe(createHash('sha256').update(secret).digest('base64url'));
    const user = await auth.database.db
      .selectFrom('users')
      .select('api_key_hash')
      .where('id', '=', developer.user.id)
      .executeTakeFirstOrThrow();
    expect(user.api_key_hash).toBe(row.secret_hash);

    await auth.ok('keys.revoke', { keyId: created.key.id }, { token: developer.accessToken });
    const after = await auth.database.db
      .selectFrom('users')
      .select('api_key_hash')
      .where('id', '=', developer.user.id)
      .executeTakeFirstOrThrow();
    expect(after.api_key_hash).toBeNull();
  });

  it('introspects a key to its owner, role and balance, and answers unknown and wrong keys identically', async () => {
    const created = await create(developer, { label: 'introspect' });
    const answer = await introspect(created.secret);
    expect(answer.result).toMatchObject({
      active: true,
      keyId: created.key.id,
      userId: developer.user.id,
      role: 'developer',
      balance: 0,
      cacheTtlMs: 1000,
    });
    const unknown = await introspect(`cds_000000000000_${'A'.repeat(43)}`);
    const wrong = await introspect(`${created.key.prefix}_${'B'.repeat(43)}`);
    expect(unknown.result).toEqual({ active: false });
    expect(wrong.result).toEqual(unknown.result);

    // The auth service's own X-Cyber-Token hook: one message for both.
    const bad1 = await auth.call('auth.me', undefined, {
      headers: { 'x-cyber-token': `cds_000000000000_${'A'.repeat(43)}` },
    });
    const bad2 = await auth.call('auth.me', undefined, {
      headers: { 'x-cyber-token': `${created.key.prefix}_${'B'.repeat(43)}` },
    });
    expect(bad1.error?.code).toBe(-32001);
    expect(bad2.error?.message).toBe(bad1.error?.message);
    const me = await auth.ok<{ id: number }>('auth.me', undefined, {
      headers: { 'x-cyber-token': created.secret },
    });
    expect(me.id).toBe(developer.user.id);
  });

  it('refuses an expired key', async () => {
    const created = await create(developer, {
      label: 'short',
      expiresAt: new Date(auth.clock.now().getTime() + 60_000).toISOString(),
    });
    expect((await introspect(created.secret)).result).toMatchObject({ active: true });
    auth.clock.advance(61_000);
    expect((await introspect(created.secret)).result).toEqual({ active: false });
  });

  it('acts with the lower of the role cap and the owner’s role, and refuses a cap above the owner', async () => {
    const capped = await create(developer, { label: 'read-only', roleCap: 'viewer' });
    expect((await introspect(capped.secret)).result).toMatchObject({ active: true, role: 'viewer' });
    const refused = await auth.call(
      'keys.create',
      { label: 'escalate', roleCap: 'admin' },
      { token: developer.accessToken },
    );
    expect(refused.error?.code).toBe(-32602);
    // Demoting the owner lowers an uncapped key at once.
    const uncapped = await create(developer, { label: 'full' });
    const viewer = await auth.userWithRole('viewer', admin.accessToken);
    const viewerKey = await create(viewer, { label: 'v' });
    expect((await introspect(viewerKey.secret)).result).toMatchObject({ role: 'viewer' });
    expect((await introspect(uncapped.secret)).result).toMatchObject({ role: 'developer' });
  });

  it('records last_used_at on use, at most once a minute', async () => {
    const created = await create(developer, { label: 'used' });
    expect(created.key.lastUsedAt).toBeNull();
    await introspect(created.secret);
    const read = async () =>
      (
        await auth.database.db
          .selectFrom('api_keys')
          .select('last_used_at')
          .where('id', '=', created.key.id)
          .executeTakeFirstOrThrow()
      ).last_used_at;
    let first: Date | null = null;
    for (let i = 0; i < 50 && first === null; i++) {
      first = await read();
      if (first === null) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(first).not.toBeNull();
    auth.clock.advance(10_000);
    await introspect(created.secret);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await read()).toEqual(first);
    auth.clock.advance(61_000);
    await introspect(created.secret);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await read())?.getTime()).toBeGreaterThan(first?.getTime() ?? 0);
  });

  it('lets owners revoke only their own keys; an admin revoking another user’s key is audited', async () => {
    const created = await create(developer, { label: 'victim' });
    const other = await auth.userWithRole('developer', admin.accessToken);
    const denied = await auth.call('keys.revoke', { keyId: created.key.id }, { token: other.accessToken });
    expect(denied.error?.code).toBe(-32003);
    const revoked = await auth.ok<{ key: { revokedAt: string | null } }>(
      'keys.revoke',
      { keyId: created.key.id },
      { token: admin.accessToken },
    );
    expect(revoked.key.revokedAt).not.toBeNull();
    const audit = await auth.ok<{ items: { action: string; targetId: string; actorId: number }[] }>(
      'audit.list',
      { action: 'key.revoke', targetId: created.key.id },
      { token: admin.accessToken },
    );
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]?.actorId).toBe(admin.user.id);
    expect((await introspect(created.secret)).result).toEqual({ active: false });
  });
});

describe('revocation across processes', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  /** Starts the second service process once, against the auth app listening on a real port. */
  async function verifierChild(): Promise<(secret: string) => Promise<AskResult>> {
    if (child === undefined) {
      const address = await auth.app.listen({ host: '127.0.0.1', port: 0 });
      child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=@cyber/source',
          fileURLToPath(new URL('fixtures/verifier-child.ts', import.meta.url)),
        ],
        {
          env: {
            ...process.env,
            CHILD_AUTH_URL: address,
            CHILD_ISSUER: auth.config.jwt.issuer,
            CHILD_REDIS_PREFIX: auth.config.redis.keyPrefix,
          },
          // `--import tsx` resolves from the working directory: this package has tsx, the root does not.
          cwd: fileURLToPath(new URL('..', import.meta.url)),
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      childPort = await new Promise<number>((resolve, reject) => {
        child?.stdout?.on('data', (chunk: Buffer) => {
          const match = /listening (\d+)/.exec(chunk.toString());
          if (match?.[1]) resolve(Number(match[1]));
        });
        child?.on('exit', (code) => reject(new Error(`verifier child exited (${code})`)));
      });
    }
    return async (secret) => {
      const response = await fetch(`http://127.0.0.1:${childPort}/`, {
        headers: { 'x-cyber-token': secret },
      });
      return { status: response.status, body: (await response.json()) as { introspections: number } };
    };
  }
  let childPort = 0;

  /** Polls until the child stops answering 200; returns the final status and how long it took. */
  async function waitForRefusal(ask: () => Promise<AskResult>): Promise<{ status: number; elapsed: number }> {
    const since = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - since < 5_000) {
      status = (await ask()).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { status, elapsed: Date.now() - since };
  }

  it('a revoked key is refused by a second service process within one second', async () => {
    const ask = await verifierChild();
    const created = await create(developer, { label: 'remote' });
    const warm = await ask(created.secret);
    expect(warm.status).toBe(200);
    const cached = await ask(created.secret);
    expect(cached.status).toBe(200);
    // Served from the cache: no second introspection.
    expect(cached.body.introspections).toBe(warm.body.introspections);

    await auth.ok('keys.revoke', { keyId: created.key.id }, { token: developer.accessToken });
    const { status, elapsed } = await waitForRefusal(() => ask(created.secret));
    expect(status).toBe(401);
    expect(elapsed).toBeLessThan(1_000);
  }, 30_000);

  it('a disabled user’s key is refused by a second service process within one second', async () => {
    const ask = await verifierChild();
    const target = await auth.userWithRole('developer', admin.accessToken);
    const created = await create(target, { label: 'soon-disabled' });
    expect((await ask(created.secret)).status).toBe(200);
    expect((await ask(created.secret)).status).toBe(200);

    await auth.ok('users.update', { userId: target.user.id, disabled: true }, { token: admin.accessToken });
    const { status, elapsed } = await waitForRefusal(() => ask(created.secret));
    expect(status).toBe(401);
    expect(elapsed).toBeLessThan(1_000);
  }, 30_000);
});

interface AskResult {
  status: number;
  body: { introspections: number };
}

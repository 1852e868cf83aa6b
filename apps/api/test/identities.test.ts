// Roles and visibility with real identities: sessions from auth.login and API keys from keys.create, verified by
// @cyber/auth-client against the real auth app (test-app.ts). Viewers cannot write or run, a key capped at viewer
// acts as a viewer, users never see each other's projects, and a revoked key stops working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestUser } from './test-app.js';

let t: TestApp;
let admin: TestUser;
let dev: TestUser;
let other: TestUser;
let viewer: TestUser;
let projectId: string;

beforeAll(async () => {
  t = await startTestApp();
  [admin, dev, other, viewer] = await Promise.all([
    t.user('admin'),
    t.user('developer'),
    t.user('developer'),
    t.user('viewer'),
  ]);
  ({ id: projectId } = await t.call<{ id: string }>(
    'project.create',
    { name: 'mine', template: 'python' },
    dev,
  ));
}, 60_000);

afterAll(async () => {
  await t.close();
});

const FORBIDDEN = -32002;
const NOT_FOUND = -32003;
const UNAUTHENTICATED = -32001;

describe.each(['session', 'api_key'] as const)('through a %s', (via) => {
  it('a developer creates, writes and lists their own projects', async () => {
    const created = await t.rpc('project.create', { name: `own-${via}` }, dev, { via });
    const { id } = created.result as { id: string };
    const write = await t.rpc('fs.write', { projectId: id, path: 'a.txt', content: 'x' }, dev, { via });
    expect(write.error).toBeUndefined();
    const list = (await t.rpc('project.list', {}, dev, { via })).result as { items: { id: string }[] };
    expect(list.items.map((p) => p.id)).toEqual(expect.arrayContaining([id, projectId]));
  });

  // run.exec's role checks with real identities are in run.test.ts (this file has no sandbox).
  it('a viewer cannot create or write, even as a read member', async () => {
    await t.call('project.members.set', { projectId, userId: viewer.id, access: 'read' }, dev);
    expect((await t.rpc('project.create', { name: 'nope' }, viewer, { via })).error?.code).toBe(FORBIDDEN);
    const write = await t.rpc('fs.write', { projectId, path: 'v.txt', content: 'x' }, viewer, { via });
    expect(write.error?.code).toBe(FORBIDDEN);
    // Reading is what a viewer member may do.
    const read = await t.rpc('fs.read', { projectId, path: 'main.py' }, viewer, { via });
    expect(read.error).toBeUndefined();
  });

  it('users cannot see each other’s projects, admins included', async () => {
    for (const stranger of [other, admin]) {
      const list = (await t.rpc('project.list', {}, stranger, { via })).result as { items: { id: string }[] };
      expect(list.items.map((p) => p.id)).not.toContain(projectId);
      expect((await t.rpc('project.open', { projectId }, stranger, { via })).error?.code).toBe(NOT_FOUND);
      const read = await t.rpc('fs.read', { projectId, path: 'main.py' }, stranger, { via });
      expect(read.error?.code).toBe(NOT_FOUND);
      const runs = (await t.rpc('run.list', { projectId }, stranger, { via })).result as { items: unknown[] };
      expect(runs.items).toEqual([]);
    }
  });
});

describe('API keys', () => {
  it('a key capped at viewer acts as a viewer for its developer owner', async () => {
    const { secret } = await t.auth<{ secret: string }>(
      'keys.create',
      { label: 'read-only', roleCap: 'viewer' },
      dev,
    );
    const capped: TestUser = { ...dev, apiKey: secret };
    const write = await t.rpc('fs.write', { projectId, path: 'c.txt', content: 'x' }, capped, {
      via: 'api_key',
    });
    expect(write.error?.code).toBe(FORBIDDEN);
    const read = await t.rpc('fs.read', { projectId, path: 'main.py' }, capped, { via: 'api_key' });
    expect(read.error).toBeUndefined();
  });

  it('a revoked key and a made-up token are refused as unauthenticated', async () => {
    const { key, secret } = await t.auth<{ key: { id: string }; secret: string }>(
      'keys.create',
      { label: 'short-lived' },
      dev,
    );
    const holder: TestUser = { ...dev, apiKey: secret };
    expect((await t.rpc('project.list', {}, holder, { via: 'api_key' })).error).toBeUndefined();
    await t.auth('keys.revoke', { keyId: key.id }, dev);
    // The revocation reaches the gateway's verifier over Redis; allow it a second (auth's promise).
    const deadline = Date.now() + 1_000;
    let code: number | undefined;
    do {
      code = (await t.rpc('project.list', {}, holder, { via: 'api_key' })).error?.code;
    } while (code === undefined && Date.now() < deadline);
    expect(code).toBe(UNAUTHENTICATED);
    // Well-formed but wrong: a real session with its signature changed, a real key with its secret changed.
    const forged: TestUser = {
      ...dev,
      token: `${dev.token.slice(0, -4)}AAAA`,
      apiKey: `${dev.apiKey.slice(0, -4)}${dev.apiKey.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`,
    };
    expect((await t.rpc('project.list', {}, forged)).error?.code).toBe(UNAUTHENTICATED);
    expect((await t.rpc('project.list', {}, forged, { via: 'api_key' })).error?.code).toBe(UNAUTHENTICATED);
  });
});

// Symlinks planted in a project folder, as code in the sandbox can (it writes the bind-mounted folder): no fs.*
// operation may follow one, and nothing outside the project may change.
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestUser } from './test-app.js';

let t: TestApp;
let dev: TestUser;
let projectId: string;
let otherId: string;
let outside: string;
let root: string;
let passwdBefore: { content: string; mtimeMs: number };

const SYMLINK = { code: -32602, data: { reason: 'symlink' } };

beforeAll(async () => {
  t = await startTestApp();
  dev = await t.user('developer');
  const stranger = await t.user('developer');
  ({ id: projectId } = await t.call<{ id: string }>('project.create', { name: 'mine' }, dev));
  ({ id: otherId } = await t.call<{ id: string }>('project.create', { name: 'theirs' }, stranger));
  await t.call('fs.write', { projectId: otherId, path: 'secret.txt', content: 'theirs' }, stranger);
  outside = await mkdtemp(join(tmpdir(), 'cyber-outside-'));
  await writeFile(join(outside, 'secret.txt'), 'OUTSIDE');
  root = join(t.projectsDir, projectId);
  // What a run could leave behind in /workspace.
  await symlink('/etc', join(root, 'etc'));
  await symlink('/etc/passwd', join(root, 'passwd'));
  await symlink(join(t.projectsDir, otherId), join(root, 'other'));
  await symlink(outside, join(root, 'outside'));
  await mkdir(join(root, 'real'));
  await symlink(join(outside, 'secret.txt'), join(root, 'real', 'deep-link'));
  const passwd = await stat('/etc/passwd');
  passwdBefore = { content: await readFile('/etc/passwd', 'utf8'), mtimeMs: passwd.mtimeMs };
});

afterAll(async () => {
  await t.close();
  await rm(outside, { recursive: true, force: true });
});

/** Every operation that would go through or act on a link, by label. */
const THROUGH: [label: string, method: string, params: () => Record<string, unknown>][] = [
  ['read /etc/passwd via file link', 'fs.read', () => ({ projectId, path: 'passwd' })],
  ['read through /etc dir link', 'fs.read', () => ({ projectId, path: 'etc/passwd' })],
  ['read another project via link', 'fs.read', () => ({ projectId, path: 'other/secret.txt' })],
  ['read via link in a subfolder', 'fs.read', () => ({ projectId, path: 'real/deep-link' })],
  ['list /etc via link', 'fs.list', () => ({ projectId, path: 'etc' })],
  ['list another project via link', 'fs.list', () => ({ projectId, path: 'other' })],
  ['stat through /etc link', 'fs.stat', () => ({ projectId, path: 'etc/passwd' })],
  ['stat through another project link', 'fs.stat', () => ({ projectId, path: 'other/secret.txt' })],
  ['write over the /etc/passwd link', 'fs.write', () => ({ projectId, path: 'passwd', content: 'x' })],
  [
    'write a new file through /etc link',
    'fs.write',
    () => ({ projectId, path: 'etc/cyber-pwned', content: 'x' }),
  ],
  ['write into another project', 'fs.write', () => ({ projectId, path: 'other/secret.txt', content: 'x' })],
  [
    'write through a linked parent',
    'fs.write',
    () => ({ projectId, path: 'outside/secret.txt', content: 'x' }),
  ],
  ['write via deep link', 'fs.write', () => ({ projectId, path: 'real/deep-link', content: 'x' })],
  [
    'write below a linked parent, creating dirs',
    'fs.write',
    () => ({ projectId, path: 'outside/a/b.txt', content: 'x' }),
  ],
  ['mkdir through /etc link', 'fs.mkdir', () => ({ projectId, path: 'etc/cyber-dir' })],
  ['mkdir through a linked parent', 'fs.mkdir', () => ({ projectId, path: 'outside/newdir' })],
  ['mkdir at a link', 'fs.mkdir', () => ({ projectId, path: 'outside' })],
  ['delete through a linked parent', 'fs.delete', () => ({ projectId, path: 'outside/secret.txt' })],
  ['delete in another project via link', 'fs.delete', () => ({ projectId, path: 'other/secret.txt' })],
  ['delete a tree through a link', 'fs.delete', () => ({ projectId, path: 'other/x', recursive: true })],
  ['rename a link', 'fs.rename', () => ({ projectId, from: 'outside', to: 'moved' })],
  [
    'rename out through a linked parent',
    'fs.rename',
    () => ({ projectId, from: 'outside/secret.txt', to: 'got.txt' }),
  ],
  ['rename into a linked parent', 'fs.rename', () => ({ projectId, from: 'real', to: 'outside/real' })],
  ['rename over a link', 'fs.rename', () => ({ projectId, from: 'real', to: 'passwd', overwrite: true })],
];

describe('operations through symlinks are refused', () => {
  for (const [label, method, params] of THROUGH) {
    it(`${method}: ${label}`, async () => {
      const response = await t.rpc(method, params(), dev);
      expect(response.error).toMatchObject(SYMLINK);
      expect(JSON.stringify(response)).not.toContain(t.dataDir);
    });
  }

  it('lists links as symlink entries and never descends into them, also in project.open', async () => {
    const listing = await t.call<{ entries: { path: string; type: string; version: string | null }[] }>(
      'fs.list',
      { projectId, recursive: true },
      dev,
    );
    expect(listing.entries.map((e) => `${e.type}:${e.path}`)).toEqual([
      'directory:real',
      'symlink:real/deep-link',
      'symlink:etc',
      'symlink:other',
      'symlink:outside',
      'symlink:passwd',
    ]);
    const opened = await t.call<{ tree: { path: string }[] }>('project.open', { projectId }, dev);
    expect(opened.tree.map((e) => e.path)).toEqual(listing.entries.map((e) => e.path));
  });

  it('stats a link itself as a symlink without following it', async () => {
    const entry = await t.call<{ type: string; version: string | null; size: number }>(
      'fs.stat',
      { projectId, path: 'passwd' },
      dev,
    );
    expect(entry).toMatchObject({ type: 'symlink', version: null, size: 0 });
  });

  it('changed nothing outside the project', async () => {
    const passwd = await stat('/etc/passwd');
    expect(await readFile('/etc/passwd', 'utf8')).toBe(passwdBefore.content);
    expect(passwd.mtimeMs).toBe(passwdBefore.mtimeMs);
    await expect(lstat('/etc/cyber-pwned')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat('/etc/cyber-dir')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(outside)).toEqual(['secret.txt']);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE');
    expect(await readdir(join(t.projectsDir, otherId))).toEqual(['secret.txt']);
    expect(await readFile(join(t.projectsDir, otherId, 'secret.txt'), 'utf8')).toBe('theirs');
  });

  it('deletes a link itself (unlink), leaving its target alone', async () => {
    await t.call('fs.delete', { projectId, path: 'outside' }, dev);
    await t.call('fs.delete', { projectId, path: 'other', recursive: true }, dev);
    await expect(lstat(join(root, 'outside'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE');
    expect(await readFile(join(t.projectsDir, otherId, 'secret.txt'), 'utf8')).toBe('theirs');
    // Restore for the race test below.
    await symlink(outside, join(root, 'outside'));
  });

  it('deleting a directory holding links removes the links, not their targets', async () => {
    await mkdir(join(root, 'doomed'));
    await symlink(outside, join(root, 'doomed', 'to-outside'));
    await symlink('/etc', join(root, 'doomed', 'to-etc'));
    await t.call('fs.delete', { projectId, path: 'doomed', recursive: true }, dev);
    expect(await readdir(outside)).toEqual(['secret.txt']);
    expect((await stat('/etc/passwd')).mtimeMs).toBe(passwdBefore.mtimeMs);
  });
});

describe('a directory swapped for a symlink while requests run (the sandbox racing the gateway)', () => {
  it('never reads from or writes to the link target', async () => {
    const swap = join(root, 'swap');
    const parked = join(root, 'swap-parked');
    await mkdir(swap);
    await writeFile(join(swap, 'secret.txt'), 'inside');
    let running = true;
    let flips = 0;
    const swapper = (async () => {
      while (running) {
        await rename(swap, parked);
        await symlink(outside, swap);
        await new Promise((resolve) => setImmediate(resolve));
        await rm(swap);
        await rename(parked, swap);
        flips += 1;
      }
    })();
    const outcomes = new Map<string, number>();
    const note = (key: string): void => {
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    };
    for (let round = 0; round < 40; round += 1) {
      const results = await Promise.all([
        ...Array.from({ length: 5 }, () => t.rpc('fs.read', { projectId, path: 'swap/secret.txt' }, dev)),
        ...Array.from({ length: 5 }, (_, i) =>
          t.rpc('fs.write', { projectId, path: `swap/w${i}.txt`, content: 'x', createParents: false }, dev),
        ),
      ]);
      for (const response of results) {
        if (response.error !== undefined) {
          const reason = response.error.data?.reason;
          note(`error ${response.error.code} ${typeof reason === 'string' ? reason : ''}`);
          continue;
        }
        const content = (response.result as { content?: string }).content;
        expect(content).not.toBe('OUTSIDE');
        note(content === undefined ? 'written' : `read ${content}`);
      }
    }
    running = false;
    await swapper;
    // The race was really run: some requests met the link (refused) and some the directory (served).
    expect(outcomes.get('error -32602 symlink') ?? 0).toBeGreaterThan(0);
    expect((outcomes.get('read inside') ?? 0) + (outcomes.get('written') ?? 0)).toBeGreaterThan(0);
    expect(flips).toBeGreaterThan(0);
    expect(await readdir(outside)).toEqual(['secret.txt']);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE');
    // Every outcome is a legitimate one: the real file, a successful write inside, or a refusal.
    for (const key of outcomes.keys()) {
      expect(key).toMatch(/^(read inside|written|error -32602 symlink|error -32003 )$/);
    }
  });
});

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestUser } from './test-app.js';

let t: TestApp;
let dev: TestUser;
let projectId: string;

beforeAll(async () => {
  t = await startTestApp({ files: { maxFileBytes: 64 * 1024, maxProjectBytes: 256 * 1024 } });
  dev = await t.user('developer');
  ({ id: projectId } = await t.call<{ id: string }>('project.create', { name: 'files' }, dev));
});
afterAll(async () => {
  await t.close();
});

const INVALID_PARAMS = -32602;

// Each hostile spelling, and the `reason` the gateway's own path rules give (undefined where the contract's
// schema refuses it first: NUL, over-long, empty; the code is invalid_params either way).
const HOSTILE_PATHS: [label: string, path: string, reason: string | undefined][] = [
  ['parent segment', '../x', 'dot_segment'],
  ['parent after a name', 'a/../../x', 'dot_segment'],
  ['absolute path', '/etc/passwd', 'absolute'],
  ['backslashes', 'a\\..\\b', 'backslash'],
  ['encoded dots', '%2e%2e/x', 'encoded_sequence'],
  ['encoded slash', 'a%2fb', 'encoded_sequence'],
  ['encoded backslash', 'a%5Cb', 'encoded_sequence'],
  ['NUL byte', 'a\0b', undefined],
  ['control character', 'a\nb', 'control_character'],
  ['very long path', 'a/'.repeat(600) + 'x', undefined],
  ['over-long name', 'n'.repeat(300), 'too_long'],
  ['too deep', 'd/'.repeat(70) + 'x', 'too_deep'],
  ['dot', '.', 'dot_segment'],
  ['empty', '', undefined],
  ['empty segment', 'a//b', 'empty_segment'],
  ['trailing slash', 'a/', 'empty_segment'],
  ['reserved temp name', '.cyber-tmp-0123', 'reserved_name'],
];

type ParamsFor = (path: string) => Record<string, unknown>;

const METHODS: [method: string, params: ParamsFor][] = [
  ['fs.list', (path) => ({ projectId, path })],
  ['fs.read', (path) => ({ projectId, path })],
  ['fs.write', (path) => ({ projectId, path, content: 'pwned' })],
  ['fs.delete', (path) => ({ projectId, path, recursive: true })],
  ['fs.rename (from)', (path) => ({ projectId, from: path, to: 'moved.txt' })],
  ['fs.rename (to)', (path) => ({ projectId, from: 'keep.txt', to: path })],
  ['fs.mkdir', (path) => ({ projectId, path })],
  ['fs.stat', (path) => ({ projectId, path })],
];

describe('path traversal table: every fs.* method refuses every hostile path with invalid_params', () => {
  beforeAll(async () => {
    await t.call('fs.write', { projectId, path: 'keep.txt', content: 'keep' }, dev);
  });

  for (const [label, method, params] of METHODS.flatMap(([method, params]) =>
    HOSTILE_PATHS.map(
      ([name, path, reason]) => [`${method}: ${name}`, method, { path, reason, params }] as const,
    ),
  )) {
    it(label, async () => {
      const response = await t.rpc(method.split(' ')[0] ?? method, params.params(params.path), dev);
      expect(response.error?.code).toBe(INVALID_PARAMS);
      if (params.reason !== undefined) expect(response.error?.data?.reason).toBe(params.reason);
      // No host path in any answer.
      expect(JSON.stringify(response)).not.toContain(t.dataDir);
    });
  }

  it('left the project as it was and wrote nothing beside it', async () => {
    expect(await readdir(join(t.projectsDir, projectId))).toEqual(['keep.txt']);
    expect(await readdir(t.projectsDir)).toEqual([projectId]);
    expect(await readFile(join(t.projectsDir, projectId, 'keep.txt'), 'utf8')).toBe('keep');
  });
});

describe('file operations', () => {
  it('writes text creating parents, reads it back with its version, and lists directories first', async () => {
    const written = await t.call<{ version: string; created: boolean; size: number }>(
      'fs.write',
      { projectId, path: 'src/lib/util.py', content: 'x = "é"\n' },
      dev,
    );
    expect(written).toMatchObject({ created: true, size: 9 });
    const read = await t.call<Record<string, unknown>>(
      'fs.read',
      { projectId, path: 'src/lib/util.py' },
      dev,
    );
    expect(read).toMatchObject({ content: 'x = "é"\n', encoding: 'utf8', size: 9, version: written.version });
    const listing = await t.call<{ entries: { path: string; type: string }[] }>(
      'fs.list',
      { projectId, recursive: true },
      dev,
    );
    expect(listing.entries.map((e) => `${e.type}:${e.path}`)).toEqual([
      'directory:src',
      'directory:src/lib',
      'file:src/lib/util.py',
      'file:keep.txt',
    ]);
  });

  it('round-trips binary content as base64 and auto-detects it on read', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10]);
    await t.call(
      'fs.write',
      { projectId, path: 'bin/blob', content: bytes.toString('base64'), encoding: 'base64' },
      dev,
    );
    const read = await t.call<{ content: string; encoding: string }>(
      'fs.read',
      { projectId, path: 'bin/blob' },
      dev,
    );
    expect(read.encoding).toBe('base64');
    expect(Buffer.from(read.content, 'base64')).toEqual(bytes);
    expect(await readFile(join(t.projectsDir, projectId, 'bin/blob'))).toEqual(bytes);
  });

  it('auto-detects invalid UTF-8 without NUL bytes as base64 and multi-byte UTF-8 as text', async () => {
    // A lone continuation byte and an overlong encoding of "/": invalid UTF-8, no NUL byte.
    const invalid = Buffer.from([0x41, 0x80, 0x42, 0xc0, 0xaf]);
    const text = 'héllo ✓ 𝄞\n';
    for (const [path, content] of [
      ['bin/invalid', invalid],
      ['doc/text.md', Buffer.from(text)],
    ] as const) {
      await t.call(
        'fs.write',
        { projectId, path, content: content.toString('base64'), encoding: 'base64' },
        dev,
      );
    }
    const read = (path: string) =>
      t.call<{ content: string; encoding: string }>('fs.read', { projectId, path }, dev);
    expect(await read('bin/invalid')).toMatchObject({
      encoding: 'base64',
      content: invalid.toString('base64'),
    });
    expect(await read('doc/text.md')).toMatchObject({ encoding: 'utf8', content: text });
  });

  it('refuses a write whose expected version is stale, naming the current version', async () => {
    const first = await t.call<{ version: string }>(
      'fs.write',
      { projectId, path: 'doc.md', content: 'v1' },
      dev,
    );
    const second = await t.call<{ version: string }>(
      'fs.write',
      { projectId, path: 'doc.md', content: 'v2', expectedVersion: first.version },
      dev,
    );
    expect(second.version).not.toBe(first.version);
    const stale = await t.rpc(
      'fs.write',
      { projectId, path: 'doc.md', content: 'v3', expectedVersion: first.version },
      dev,
    );
    expect(stale.error).toMatchObject({ code: -32004, data: { currentVersion: second.version } });
    const createOnly = await t.rpc(
      'fs.write',
      { projectId, path: 'doc.md', content: 'v3', expectedVersion: null },
      dev,
    );
    expect(createOnly.error?.code).toBe(-32004);
    expect(await readFile(join(t.projectsDir, projectId, 'doc.md'), 'utf8')).toBe('v2');
  });

  it('answers not_found for missing files and parents when createParents is false', async () => {
    expect((await t.rpc('fs.read', { projectId, path: 'nope.txt' }, dev)).error?.code).toBe(-32003);
    const noParents = await t.rpc(
      'fs.write',
      { projectId, path: 'no/dir/x', content: '', createParents: false },
      dev,
    );
    expect(noParents.error?.code).toBe(-32003);
  });

  it('refuses files over the per-file limit and writes past the project limit with payload_too_large', async () => {
    const big = await t.rpc(
      'fs.write',
      { projectId, path: 'big.txt', content: 'x'.repeat(64 * 1024 + 1) },
      dev,
    );
    expect(big.error).toMatchObject({ code: -32009, data: { limit: 64 * 1024 } });
    for (let i = 0; i < 4; i += 1) {
      await t.call('fs.write', { projectId, path: `fill/${i}.txt`, content: 'y'.repeat(60 * 1024) }, dev);
    }
    const over = await t.rpc(
      'fs.write',
      { projectId, path: 'fill/4.txt', content: 'y'.repeat(60 * 1024) },
      dev,
    );
    expect(over.error).toMatchObject({ code: -32009, data: { limit: 256 * 1024 } });
    await t.call('fs.delete', { projectId, path: 'fill', recursive: true }, dev);
    await t.call('fs.write', { projectId, path: 'fill/4.txt', content: 'y'.repeat(60 * 1024) }, dev);
    await t.call('fs.delete', { projectId, path: 'fill', recursive: true }, dev);
  });

  it('deletes files, refuses a non-empty directory without recursive, and removes trees with it', async () => {
    await t.call('fs.write', { projectId, path: 'tree/a/b.txt', content: 'b' }, dev);
    expect((await t.rpc('fs.delete', { projectId, path: 'tree' }, dev)).error).toMatchObject({
      code: -32004,
      data: { reason: 'directory_not_empty' },
    });
    await t.call('fs.delete', { projectId, path: 'tree', recursive: true }, dev);
    expect((await t.rpc('fs.stat', { projectId, path: 'tree' }, dev)).error?.code).toBe(-32003);
  });

  it('renames within the project, refusing to replace without overwrite', async () => {
    await t.call('fs.write', { projectId, path: 'r/one.txt', content: '1' }, dev);
    await t.call('fs.write', { projectId, path: 'r/two.txt', content: '2' }, dev);
    expect(
      (await t.rpc('fs.rename', { projectId, from: 'r/one.txt', to: 'r/two.txt' }, dev)).error?.code,
    ).toBe(-32004);
    const moved = await t.call<{ entry: { path: string } }>(
      'fs.rename',
      { projectId, from: 'r/one.txt', to: 'r/two.txt', overwrite: true },
      dev,
    );
    expect(moved.entry.path).toBe('r/two.txt');
    expect(await readFile(join(t.projectsDir, projectId, 'r/two.txt'), 'utf8')).toBe('1');
    expect((await t.rpc('fs.rename', { projectId, from: 'r', to: 'r/inside' }, dev)).error?.code).toBe(
      INVALID_PARAMS,
    );
  });

  it('makes directories idempotently and refuses writing over a directory', async () => {
    expect(await t.call('fs.mkdir', { projectId, path: 'm/n' }, dev)).toMatchObject({ created: true });
    expect(await t.call('fs.mkdir', { projectId, path: 'm/n' }, dev)).toMatchObject({ created: false });
    expect((await t.rpc('fs.write', { projectId, path: 'm/n', content: '' }, dev)).error).toMatchObject({
      code: INVALID_PARAMS,
      data: { reason: 'is_a_directory' },
    });
    expect((await t.rpc('fs.mkdir', { projectId, path: 'keep.txt/x' }, dev)).error).toMatchObject({
      code: INVALID_PARAMS,
      data: { reason: 'not_a_directory' },
    });
  });
});

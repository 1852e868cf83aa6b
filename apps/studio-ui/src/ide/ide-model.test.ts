import type { FsEntry } from '@cyber/contract';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64 } from './bytes.ts';
import { buildTree, checkPath, visiblePaths } from './file-tree.ts';
import { languageOf, runtimeOf } from './language.ts';
import { withServerFile, type Tab } from './open-tabs.ts';
import { zipFiles } from './zip.ts';

const entry = (path: string, type: FsEntry['type'] = 'file'): FsEntry => ({
  path,
  name: path.split('/').pop() ?? path,
  type,
  size: 0,
  modifiedAt: '2026-01-01T00:00:00.000Z',
  version: type === 'file' ? 'v1' : null,
});

describe('language detection', () => {
  it('maps extensions and well-known names to Monaco languages and runtimes', () => {
    expect(languageOf('src/main.py')).toBe('python');
    expect(languageOf('a/b/index.TS')).toBe('typescript');
    expect(languageOf('Dockerfile')).toBe('dockerfile');
    expect(languageOf('notes')).toBe('plaintext');
    expect(languageOf('.env')).toBe('plaintext');
    expect(runtimeOf('run.sh')).toBe('shell');
    expect(runtimeOf('app.mjs')).toBe('node');
    expect(runtimeOf('README.md')).toBeUndefined();
  });
});

describe('file tree', () => {
  it('nests entries, directories first then by name, and walks only expanded folders', () => {
    const tree = buildTree([
      entry('z.txt'),
      entry('src', 'directory'),
      entry('src/b.py'),
      entry('src/a.py'),
      entry('a.txt'),
      entry('src/lib', 'directory'),
    ]);
    expect(tree.map((n) => n.entry.path)).toEqual(['src', 'a.txt', 'z.txt']);
    expect(tree[0]?.children.map((n) => n.entry.path)).toEqual(['src/lib', 'src/a.py', 'src/b.py']);
    expect(visiblePaths(tree, new Set())).toEqual(['src', 'a.txt', 'z.txt']);
    expect(visiblePaths(tree, new Set(['src']))).toEqual([
      'src',
      'src/lib',
      'src/a.py',
      'src/b.py',
      'a.txt',
      'z.txt',
    ]);
  });

  it('refuses paths that escape or have empty parts', () => {
    expect(checkPath(' /src/new.py ')).toEqual({ path: 'src/new.py' });
    expect(checkPath('../etc/passwd')).toHaveProperty('error');
    expect(checkPath('a//b')).toHaveProperty('error');
    expect(checkPath('')).toHaveProperty('error');
  });
});

describe('zip and base64', () => {
  it('round-trips binary content through base64 and the zip archive', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
    const base64 = bytesToBase64(bytes);
    expect(base64ToBytes(base64)).toEqual(bytes);
    const archive = unzipSync(
      zipFiles([
        { path: 'dir/blob.bin', base64 },
        { path: 'a.txt', base64: btoa('hi') },
      ]),
    );
    expect(Object.keys(archive).sort()).toEqual(['a.txt', 'dir/blob.bin']);
    expect(archive['dir/blob.bin']).toEqual(bytes);
    expect(new TextDecoder().decode(archive['a.txt'])).toBe('hi');
  });
});

describe('open tabs after a change on the server', () => {
  const tab = (path: string, change: Partial<Tab> = {}): Tab => ({
    path,
    content: 'old\n',
    saved: 'old\n',
    version: 'v1',
    binary: false,
    ...change,
  });
  const server = { content: 'new\n', version: 'v2' };

  it('shows the new content and version in a clean tab of the file and leaves other tabs alone', () => {
    const other = tab('b.py');
    expect(withServerFile([tab('a.py'), other], 'a.py', server)).toEqual([
      tab('a.py', { content: 'new\n', saved: 'new\n', version: 'v2' }),
      other,
    ]);
  });

  it('keeps unsaved changes and the old version, so saving meets the conflict', () => {
    const dirty = tab('a.py', { content: 'mine\n' });
    expect(withServerFile([dirty], 'a.py', server)).toEqual([dirty]);
  });

  it('leaves binary tabs and tabs already at that version as they are', () => {
    const binary = tab('a.bin', { binary: true, content: '', saved: '' });
    const current = tab('a.py', { version: 'v2' });
    expect(withServerFile([binary], 'a.bin', server)).toEqual([binary]);
    expect(withServerFile([current], 'a.py', server)).toEqual([current]);
  });
});

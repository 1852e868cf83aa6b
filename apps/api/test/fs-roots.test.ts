// The cache of open project root descriptors: one per project, closed only when no operation holds it, dropped
// when the project is deleted, and never answering for another project (even when the kernel reuses numbers).
import { fstatSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRpcError } from '@cyber/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { at } from '../src/fd-walk.js';
import { ProjectFiles } from '../src/project-files.js';
import { ProjectRoots } from '../src/project-roots.js';

const A = '0a4cbd7e-1b8f-4c2e-9d3a-5f6e7a8b9c01';
const B = '0a4cbd7e-1b8f-4c2e-9d3a-5f6e7a8b9c02';
const C = '0a4cbd7e-1b8f-4c2e-9d3a-5f6e7a8b9c03';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cyber-roots-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

describe('ProjectRoots', () => {
  beforeEach(async () => {
    for (const id of [A, B, C]) {
      await mkdir(join(dir, id));
      await writeFile(join(dir, id, 'owner.txt'), id);
    }
  });

  it('shares one descriptor per project and gives each project its own folder', () => {
    const roots = new ProjectRoots({ pathOf: (id) => join(dir, id), maxOpen: 8 });
    const a1 = roots.acquire(A);
    const a2 = roots.acquire(A);
    const b = roots.acquire(B);
    expect(a2.fd).toBe(a1.fd);
    expect(b.fd).not.toBe(a1.fd);
    expect(readFileSync(at(a1, 'owner.txt'), 'utf8')).toBe(A);
    expect(readFileSync(at(b, 'owner.txt'), 'utf8')).toBe(B);
    for (const lease of [a1, a2, b]) lease.release();
    roots.dropAll();
    expect(isOpen(a1.fd) || isOpen(b.fd)).toBe(false);
  });

  it('closes a dropped root only after the last lease is released', () => {
    const roots = new ProjectRoots({ pathOf: (id) => join(dir, id), maxOpen: 8 });
    const lease = roots.acquire(A);
    roots.drop(A);
    expect(roots.size).toBe(0);
    // Still held: the walk using it keeps working in project A.
    expect(readFileSync(at(lease, 'owner.txt'), 'utf8')).toBe(A);
    lease.release();
    lease.release();
    expect(isOpen(lease.fd)).toBe(false);
  });

  it('evicts the least recently used idle root beyond its bound and never hands it out for another project', () => {
    const roots = new ProjectRoots({ pathOf: (id) => join(dir, id), maxOpen: 2 });
    const a = roots.acquire(A);
    a.release();
    roots.acquire(B).release();
    roots.acquire(A).release();
    // C evicts B (least recently used), not A.
    const c = roots.acquire(C);
    expect(roots.size).toBe(2);
    // The number B had may now be reused by the kernel; B's next lease opens B's own folder again.
    const b = roots.acquire(B);
    expect(readFileSync(at(b, 'owner.txt'), 'utf8')).toBe(B);
    expect(readFileSync(at(c, 'owner.txt'), 'utf8')).toBe(C);
    // A was evicted by B while idle: closed, and reopened on demand.
    const a2 = roots.acquire(A);
    expect(readFileSync(at(a2, 'owner.txt'), 'utf8')).toBe(A);
    for (const lease of [b, c, a2]) lease.release();
    roots.dropAll();
  });

  it('keeps an evicted root open while an operation still holds it', () => {
    const roots = new ProjectRoots({ pathOf: (id) => join(dir, id), maxOpen: 1 });
    const a = roots.acquire(A);
    const b = roots.acquire(B);
    expect(roots.size).toBe(1);
    expect(readFileSync(at(a, 'owner.txt'), 'utf8')).toBe(A);
    a.release();
    expect(isOpen(a.fd)).toBe(false);
    expect(isOpen(b.fd)).toBe(true);
    b.release();
    roots.dropAll();
  });
});

describe('ProjectFiles root descriptors', () => {
  const limits = { maxFileBytes: 1024 * 1024, maxProjectBytes: 16 * 1024 * 1024 };

  it('drops the root of a deleted project, whose files then answer not_found', async () => {
    const files = new ProjectFiles({ projectsDir: join(dir, 'projects'), ...limits });
    await files.create(A, [{ path: 'a.txt', content: 'from A' }]);
    await files.create(B, [{ path: 'a.txt', content: 'from B' }]);
    expect((await files.read({ projectId: A, path: 'a.txt', encoding: 'auto' })).content).toBe('from A');
    expect((await files.read({ projectId: B, path: 'a.txt', encoding: 'auto' })).content).toBe('from B');
    expect(files.openRoots).toBe(2);
    await files.remove(A);
    expect(files.openRoots).toBe(1);
    const refused = await files
      .read({ projectId: A, path: 'a.txt', encoding: 'auto' })
      .catch((e: unknown) => e);
    expect(isRpcError(refused, 'not_found')).toBe(true);
    expect(files.openRoots).toBe(1);
    expect((await files.read({ projectId: B, path: 'a.txt', encoding: 'auto' })).content).toBe('from B');
    files.close();
    expect(files.openRoots).toBe(0);
  });

  it('answers every read from its own project while roots are evicted and numbers reused', async () => {
    const files = new ProjectFiles({ projectsDir: join(dir, 'projects'), ...limits, maxOpenRoots: 1 });
    for (const id of [A, B, C]) await files.create(id, [{ path: 'src/who.txt', content: id }]);
    const reads = [];
    for (let i = 0; i < 60; i += 1) {
      const id = [A, B, C][i % 3] ?? A;
      reads.push(
        Promise.all([
          files.read({ projectId: id, path: 'src/who.txt', encoding: 'utf8' }),
          files.list({ projectId: id, path: 'src', recursive: false, maxEntries: 10 }),
        ]).then(([read, list]) => ({ id, content: read.content, entries: list.entries.length })),
      );
    }
    for (const { id, content, entries } of await Promise.all(reads)) {
      expect(content).toBe(id);
      expect(entries).toBe(1);
    }
    expect(files.openRoots).toBe(1);
    files.close();
  });
});

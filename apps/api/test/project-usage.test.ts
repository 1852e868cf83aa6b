// The project size cache: one walk shared by concurrent callers, and never a stale walk's result cached.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProjectFiles } from '../src/project-files.js';
import { ProjectUsage } from '../src/project-usage.js';

const PROJECT = 'p1';

/** A walk the test finishes by hand, counting how often one was started. */
function walks(): { walk: () => Promise<number>; started: () => number; finish: (bytes: number) => void } {
  const pending: ((bytes: number) => void)[] = [];
  let started = 0;
  return {
    walk: () => {
      started += 1;
      return new Promise<number>((resolve) => pending.push(resolve));
    },
    started: () => started,
    finish: (bytes) => pending.shift()?.(bytes),
  };
}

describe('ProjectUsage', () => {
  it('shares one walk between callers and caches its result', async () => {
    const usage = new ProjectUsage();
    const w = walks();
    const first = usage.measure(PROJECT, w.walk);
    const second = usage.measure(PROJECT, w.walk);
    expect(w.started()).toBe(1);
    w.finish(100);
    expect(await Promise.all([first, second])).toEqual([100, 100]);
    expect(usage.get(PROJECT)).toBe(100);
    expect(await usage.measure(PROJECT, w.walk)).toBe(100);
    expect(w.started()).toBe(1);
  });

  it('does not cache a walk that a change overtook, and a later caller walks again', async () => {
    const usage = new ProjectUsage();
    const w = walks();
    const before = usage.measure(PROJECT, w.walk);
    // A sandbox run ends while the walk is under way: its files may or may not have been counted.
    usage.forget(PROJECT);
    const after = usage.measure(PROJECT, w.walk);
    expect(w.started()).toBe(2);
    w.finish(100);
    expect(await before).toBe(100);
    expect(usage.get(PROJECT)).toBeUndefined();
    w.finish(5100);
    expect(await after).toBe(5100);
    expect(usage.get(PROJECT)).toBe(5100);
  });

  it('keeps an exact size recorded during a walk over the walk’s result', async () => {
    const usage = new ProjectUsage();
    const w = walks();
    const walking = usage.measure(PROJECT, w.walk);
    usage.set(PROJECT, 42);
    w.finish(7);
    expect(await walking).toBe(7);
    expect(usage.get(PROJECT)).toBe(42);
  });

  it('lets a failed walk fail its callers and the next call walk again', async () => {
    const usage = new ProjectUsage();
    await expect(usage.measure(PROJECT, () => Promise.reject(new Error('gone')))).rejects.toThrow('gone');
    expect(await usage.measure(PROJECT, () => Promise.resolve(3))).toBe(3);
  });
});

describe('ProjectFiles usage', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('counts files written behind its back (as a sandbox run does) once invalidated', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cyber-usage-'));
    const files = new ProjectFiles({ projectsDir: dir, maxFileBytes: 1 << 20, maxProjectBytes: 1 << 20 });
    try {
      await files.create(PROJECT, [{ path: 'a.txt', content: 'hello' }]);
      expect(await files.usage(PROJECT)).toBe(5);
      await writeFile(join(files.hostPath(PROJECT), 'made.bin'), Buffer.alloc(1000));
      expect(await files.usage(PROJECT)).toBe(5);
      files.invalidateUsage(PROJECT);
      expect(await files.usage(PROJECT)).toBe(1005);
    } finally {
      files.close();
    }
  });
});

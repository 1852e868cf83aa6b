import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.js';

describe('FairQueue', () => {
  it('serves users round robin so one user with many requests cannot starve another', async () => {
    const queue = new FairQueue(8);
    queue.setCapacity('m', 1);
    const order: string[] = [];
    const first = await queue.acquire(1, 'm');
    const pending = [...Array.from({ length: 5 }, (_, i) => ['a', i] as const), ['b', 0] as const].map(
      ([who, i]) =>
        queue.acquire(who === 'a' ? 1 : 2, 'm').then((release) => {
          order.push(`${who}${i}`);
          release();
        }),
    );
    expect(queue.waiting('m')).toBe(6);
    first();
    await Promise.all(pending);
    // User 2 was served least recently, so its single request goes right after the running one.
    expect(order).toEqual(['b0', 'a0', 'a1', 'a2', 'a3', 'a4']);
  });

  it('caps concurrent generations per user and reports queue positions', async () => {
    const queue = new FairQueue(1);
    queue.setCapacity('m', 4);
    const release = await queue.acquire(1, 'm');
    const positions: number[] = [];
    const second = queue.acquire(1, 'm', { onPosition: (p) => positions.push(p) });
    expect(queue.running('m')).toBe(1);
    expect(positions).toEqual([1]);
    release();
    (await second)();
    expect(queue.running('m')).toBe(0);
  });

  it('moves positions up as earlier waiters leave, and cancels on abort', async () => {
    const queue = new FairQueue(4);
    queue.setCapacity('m', 1);
    const release = await queue.acquire(1, 'm');
    const controller = new AbortController();
    const positions: number[] = [];
    const a = queue.acquire(2, 'm', { signal: controller.signal });
    const b = queue.acquire(3, 'm', { onPosition: (p) => positions.push(p) });
    expect(positions).toEqual([2]);
    controller.abort();
    await expect(a).rejects.toMatchObject({ key: 'cancelled' });
    expect(positions).toEqual([2, 1]);
    release();
    (await b)();
  });

  it('rejects waiters with model_not_loaded when the model goes away', async () => {
    const queue = new FairQueue(4);
    await expect(queue.acquire(1, 'none')).rejects.toMatchObject({ key: 'model_not_loaded' });
    queue.setCapacity('m', 1);
    const release = await queue.acquire(1, 'm');
    const waiting = queue.acquire(2, 'm');
    queue.setCapacity('m', 0);
    await expect(waiting).rejects.toMatchObject({ key: 'model_not_loaded' });
    release();
  });
});

import { isRpcError } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { SequencePool } from './sequence-pool.js';

describe('SequencePool', () => {
  it('hands out free items, then serves waiters first come first served', async () => {
    const pool = new SequencePool(['a']);
    const first = await pool.acquire();
    const positions: number[] = [];
    const second = pool.acquire({ onQueued: (p) => positions.push(p) });
    const third = pool.acquire({ onQueued: (p) => positions.push(p) });
    expect(positions).toEqual([1, 2]);
    expect(pool.busy).toBe(1);
    expect(pool.waiting).toBe(2);
    pool.release(first);
    await expect(second).resolves.toBe('a');
    pool.release('a');
    await expect(third).resolves.toBe('a');
    pool.release('a');
    expect(pool.busy).toBe(0);
  });

  it('rejects a waiter with cancelled when its signal aborts, and skips it on release', async () => {
    const pool = new SequencePool([1]);
    const held = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire({ signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toSatisfy((error) => isRpcError(error, 'cancelled'));
    expect(pool.waiting).toBe(0);
    pool.release(held);
    await expect(pool.acquire()).resolves.toBe(1);
  });

  it('rejects waiters and later callers with the close error', async () => {
    const pool = new SequencePool([1]);
    await pool.acquire();
    const waiting = pool.acquire();
    const error = new Error('unloaded');
    pool.close(error);
    await expect(waiting).rejects.toBe(error);
    await expect(pool.acquire()).rejects.toBe(error);
  });
});

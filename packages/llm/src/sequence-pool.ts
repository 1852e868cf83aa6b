// Hands out a loaded model's context sequences; callers beyond the free ones wait first-come first-served.
// Fairness between users is the server's job (its own queue in front of this one).
import { RpcError } from '@cyber/contract';

interface Waiter<T> {
  resolve: (item: T) => void;
  reject: (error: Error) => void;
}

/** Options for {@link SequencePool.acquire}. */
export interface AcquireOptions {
  /** Gives up waiting (RpcError `cancelled`) when aborted. */
  signal?: AbortSignal;
  /** Called once when the caller has to wait, with its 1-based position in the queue. */
  onQueued?: (position: number) => void;
}

/** A FIFO pool of items (context sequences). */
export class SequencePool<T> {
  private readonly free: T[];
  private readonly waiters: Waiter<T>[] = [];
  private readonly total: number;
  private closedError: Error | undefined;

  constructor(items: readonly T[]) {
    this.free = [...items];
    this.total = items.length;
  }

  /** Items currently handed out. */
  get busy(): number {
    return this.total - this.free.length;
  }

  /** Callers waiting for an item. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes a free item, or waits for one in arrival order. */
  acquire(options: AcquireOptions = {}): Promise<T> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    if (options.signal?.aborted) return Promise.reject(cancelled());
    const item = this.free.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(cancelled());
      };
      const waiter: Waiter<T> = {
        resolve: (value) => {
          options.signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error) => {
          options.signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.waiters.push(waiter);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      options.onQueued?.(this.waiters.length);
    });
  }

  /** Returns an item: the longest waiter gets it, else it goes back to the free list. */
  release(item: T): void {
    const next = this.waiters.shift();
    if (next) next.resolve(item);
    else this.free.push(item);
  }

  /** Rejects every waiter and every later acquire with `error` (the model is being unloaded). */
  close(error: Error): void {
    this.closedError = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

function cancelled(): RpcError {
  return new RpcError('cancelled', { message: 'Cancelled while waiting for a free sequence' });
}

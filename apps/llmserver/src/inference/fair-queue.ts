// Who generates next. Each loaded model has as many slots as context sequences; a request takes one slot for
// its whole generation. Requests beyond the free slots wait here, not in the engine, so the order is fair:
// - a user runs at most `perUserCap` generations at once (across models); more wait;
// - a free slot goes to the waiting user served least recently (round robin between users), and within one
//   user to their oldest request. A user with 100 queued requests therefore delays another user's single
//   request by at most one generation per slot, not by 100.
// Positions are reported as the order in which waiters would be served if nothing else arrived.
import { RpcError } from '@cyber/contract';

interface Waiter {
  userId: number;
  model: string;
  seq: number;
  position: number;
  onPosition: ((position: number) => void) | undefined;
  resolve: (release: () => void) => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

/** Options of {@link FairQueue.acquire}. */
export interface AcquireSlotOptions {
  /** Gives up waiting (RpcError `cancelled`). */
  signal?: AbortSignal;
  /** Called with the 1-based queue position whenever it changes while waiting. */
  onPosition?: (position: number) => void;
}

/** Fair slots per model with a per-user cap. */
export class FairQueue {
  private readonly capacity = new Map<string, number>();
  private readonly busy = new Map<string, number>();
  private readonly activeByUser = new Map<number, number>();
  private readonly lastServed = new Map<number, number>();
  private readonly waiters: Waiter[] = [];
  private seq = 0;
  private served = 0;

  constructor(private readonly perUserCap: number) {}

  /** Declares a model's slots (its context sequences); 0 removes it and rejects its waiters with `error`. */
  setCapacity(model: string, slots: number, error?: Error): void {
    if (slots <= 0) {
      this.capacity.delete(model);
      for (const waiter of this.waiters.filter((w) => w.model === model)) {
        this.remove(waiter);
        waiter.reject(error ?? new RpcError('model_not_loaded', { data: { model } }));
      }
      this.reportPositions();
      return;
    }
    this.capacity.set(model, slots);
    this.dispatch();
  }

  /** Requests waiting for `model` (all models when absent). */
  waiting(model?: string): number {
    return model === undefined ? this.waiters.length : this.waiters.filter((w) => w.model === model).length;
  }

  /** Generations running on `model`. */
  running(model: string): number {
    return this.busy.get(model) ?? 0;
  }

  /**
   * Waits for a slot of `model` and resolves with the function that gives it back (call it exactly once).
   * @throws RpcError `model_not_loaded` when the model has no slots, `cancelled` when the signal fires first.
   */
  acquire(userId: number, model: string, options: AcquireSlotOptions = {}): Promise<() => void> {
    if (!this.capacity.has(model)) {
      return Promise.reject(
        new RpcError('model_not_loaded', { message: `Model ${model} is not loaded`, data: { model } }),
      );
    }
    if (options.signal?.aborted) return Promise.reject(cancelledWhileQueued());
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.remove(waiter);
        reject(cancelledWhileQueued());
        this.reportPositions();
      };
      const waiter: Waiter = {
        userId,
        model,
        seq: (this.seq += 1),
        position: 0,
        onPosition: options.onPosition,
        resolve,
        reject,
        cleanup: () => options.signal?.removeEventListener('abort', onAbort),
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (;;) {
      const next = this.order().find((w) => this.hasFreeSlot(w.model) && this.underCap(w.userId));
      if (next === undefined) break;
      this.remove(next);
      this.busy.set(next.model, (this.busy.get(next.model) ?? 0) + 1);
      this.activeByUser.set(next.userId, (this.activeByUser.get(next.userId) ?? 0) + 1);
      this.lastServed.set(next.userId, (this.served += 1));
      next.resolve(this.releaser(next.userId, next.model));
    }
    this.reportPositions();
  }

  private releaser(userId: number, model: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.busy.set(model, Math.max(0, (this.busy.get(model) ?? 1) - 1));
      const active = (this.activeByUser.get(userId) ?? 1) - 1;
      if (active > 0) this.activeByUser.set(userId, active);
      else this.activeByUser.delete(userId);
      this.dispatch();
    };
  }

  /** Waiters in serving order: round robin over users (least recently served first), oldest first within one. */
  private order(): Waiter[] {
    const byUser = new Map<number, Waiter[]>();
    for (const waiter of [...this.waiters].sort((a, b) => a.seq - b.seq)) {
      const list = byUser.get(waiter.userId);
      if (list) list.push(waiter);
      else byUser.set(waiter.userId, [waiter]);
    }
    const users = [...byUser.keys()].sort(
      (a, b) => (this.lastServed.get(a) ?? 0) - (this.lastServed.get(b) ?? 0),
    );
    const ordered: Waiter[] = [];
    for (let round = 0; ordered.length < this.waiters.length; round += 1) {
      for (const user of users) {
        const waiter = byUser.get(user)?.[round];
        if (waiter) ordered.push(waiter);
      }
    }
    return ordered;
  }

  private reportPositions(): void {
    const positions = new Map<string, number>();
    for (const waiter of this.order()) {
      const position = (positions.get(waiter.model) ?? 0) + 1;
      positions.set(waiter.model, position);
      if (waiter.position !== position) {
        waiter.position = position;
        waiter.onPosition?.(position);
      }
    }
  }

  private hasFreeSlot(model: string): boolean {
    return (this.busy.get(model) ?? 0) < (this.capacity.get(model) ?? 0);
  }

  private underCap(userId: number): boolean {
    return (this.activeByUser.get(userId) ?? 0) < this.perUserCap;
  }

  private remove(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
    waiter.cleanup();
  }
}

function cancelledWhileQueued(): RpcError {
  return new RpcError('cancelled', { message: 'Cancelled while waiting in the queue' });
}

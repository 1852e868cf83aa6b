// Token metering of one llmserver process (DESIGN.md "Token metering"): reserve the worst case before a
// generation, settle the actual usage after it. The Redis scripts (@cyber/metering) make reservations atomic;
// this layer adds what needs PostgreSQL and the outbox:
// - Rebuild. Redis holds a cache. When a user's hash is missing (first use, Redis restarted empty) or stale (auth
//   changed the balance), the balance is rebuilt as PostgreSQL's `users.balance` minus the charges this process
//   settled that the usage sink has not booked yet (they are in the durable outbox until the ledger has them),
//   read in ONE statement so a booking landing meanwhile is either in both or in neither. The open reservations
//   of this process are restored with it when Redis lost them.
// - Order. Settling appends the usage event to the outbox (durable) and then settles in Redis, under a per-user
//   lock that the rebuild takes too, so a rebuild sees a charge either in the outbox or in Redis, never in both
//   and never in neither.
// - Fail closed. When Redis cannot be reached, reservations are refused with `service_unavailable`; a settle that
//   could not reach Redis is retried in the background (its charge is already durable in the outbox).
// One llmserver per installation: the lock is in-process, and start-up clears the reservations a crashed
// predecessor left behind (MeterStore.reset).
import { RpcError } from '@cyber/contract';
import type { DB } from '@cyber/db';
import { type MeterStore, type HeldReservation, type RateLimits } from '@cyber/metering';
import type { UsageEvent } from '@cyber/usage-events';
import { sql, type Kysely } from 'kysely';

/** The slice of the usage outbox metering needs. */
export interface MeteringOutbox {
  /** Durably records a settled usage event (it reaches Kafka and then the ledger). */
  append(event: UsageEvent): Promise<void>;
  /** Settled events of a user the ledger has not confirmed yet. */
  unbookedFor(userId: number): readonly UsageEvent[];
}

/** The slice of a pino logger metering writes to. */
export interface MeteringLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Options of {@link Metering}. */
export interface MeteringOptions {
  store: MeterStore;
  db: Kysely<DB>;
  outbox: MeteringOutbox;
  limits: RateLimits;
  logger: MeteringLogger;
  /** Current time in ms. */
  clock?: () => number;
  /** Delay between retries of settles that could not reach Redis. Default 1 s. */
  settleRetryMs?: number;
}

/** What to hold for one request. */
export interface ReserveOptions {
  userId: number;
  /** The usage event id of the request. */
  reservationId: string;
  /** Worst-case cost, micro-credits. */
  amount: number;
  /** Worst-case tokens (prompt + max tokens). */
  tokens: number;
}

const REBUILD_ATTEMPTS = 5;

/** Reserves and settles metered requests. */
export class Metering {
  private readonly open = new Map<string, HeldReservation>();
  private readonly locks = new Map<number, Promise<unknown>>();
  private readonly unsettled: { reservation: HeldReservation; cost: number; tokens: number }[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: MeteringOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Reservations this process holds right now. */
  get openReservations(): number {
    return this.open.size;
  }

  /** Settles that wait for Redis to come back. */
  get pendingSettles(): number {
    return this.unsettled.length;
  }

  /**
   * Holds the worst-case cost of a request.
   * @throws RpcError `budget_exceeded` (data: required, available), `rate_limited` (data: limit, retryAfterMs),
   * `service_unavailable` when Redis or PostgreSQL cannot be reached.
   */
  async reserve(request: ReserveOptions): Promise<HeldReservation> {
    for (let attempt = 0; attempt <= REBUILD_ATTEMPTS; attempt += 1) {
      const outcome = await this.redis(() =>
        this.options.store.reserve({ ...request, limits: this.options.limits, now: this.clock() }),
      );
      switch (outcome.kind) {
        case 'held':
          this.open.set(request.reservationId, outcome.reservation);
          return outcome.reservation;
        case 'budget':
          throw new RpcError('budget_exceeded', {
            message: `This request may cost up to ${request.amount} micro-credits but only ${outcome.available} are available`,
            data: { required: request.amount, available: outcome.available },
          });
        case 'rate':
          throw new RpcError('rate_limited', {
            message:
              outcome.limit === 'requests'
                ? `At most ${this.options.limits.requestsPerMinute} requests per minute`
                : `At most ${this.options.limits.tokensPerMinute} tokens per minute (this request may use ${request.tokens})`,
            data: {
              limit: outcome.limit === 'requests' ? 'requests_per_minute' : 'tokens_per_minute',
              max:
                outcome.limit === 'requests'
                  ? this.options.limits.requestsPerMinute
                  : this.options.limits.tokensPerMinute,
              // Whole seconds like auth's limits, and the exact wait for clients that want it.
              retryAfter: Math.max(1, Math.ceil(outcome.retryAfterMs / 1000)),
              retryAfterMs: outcome.retryAfterMs,
            },
          });
        case 'rebuild':
          await this.rebuild(request.userId);
          break;
      }
    }
    throw new RpcError('service_unavailable', {
      message: 'The balance cache kept changing while it was rebuilt; try again',
      data: { service: 'metering' },
    });
  }

  /**
   * Records the actual usage: the event goes to the durable outbox first, then the reservation is released and
   * the cost taken from the cached balance. Never throws for Redis trouble (the charge is durable by then);
   * throws only when the outbox cannot store the event.
   */
  async settle(reservation: HeldReservation, event: UsageEvent): Promise<void> {
    const tokens = event.promptTokens + event.completionTokens;
    await this.withUserLock(reservation.userId, async () => {
      await this.options.outbox.append(event);
      this.open.delete(reservation.reservationId);
      try {
        await this.options.store.settle(reservation, { cost: event.cost, tokens });
      } catch (error) {
        this.options.logger.warn(
          { err: error, userId: reservation.userId },
          'metering: Redis unreachable while settling; retrying in the background',
        );
        this.unsettled.push({ reservation, cost: event.cost, tokens });
        this.scheduleRetry();
      }
    });
  }

  /** Releases a reservation whose request never ran (cancelled while queued, refused): nothing is charged. */
  async release(reservation: HeldReservation): Promise<void> {
    this.open.delete(reservation.reservationId);
    await this.withUserLock(reservation.userId, async () => {
      try {
        await this.options.store.settle(reservation, { cost: 0, tokens: 0 });
      } catch (error) {
        this.options.logger.warn({ err: error }, 'metering: Redis unreachable while releasing; retrying');
        this.unsettled.push({ reservation, cost: 0, tokens: 0 });
        this.scheduleRetry();
      }
    });
  }

  /** Stops the retry timer after one last attempt. */
  async close(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.retrySettles();
  }

  private async rebuild(userId: number): Promise<void> {
    await this.withUserLock(userId, async () => {
      for (let attempt = 0; attempt < REBUILD_ATTEMPTS; attempt += 1) {
        const epoch = await this.redis(() => this.options.store.epoch(userId));
        const balance = await this.balanceFromLedger(userId);
        const openReservations = [...this.open.values()]
          .filter((r) => r.userId === userId)
          .map((r) => ({ reservationId: r.reservationId, amount: r.amount }));
        const done = await this.redis(() =>
          this.options.store.rebuild({ userId, epoch, balance, openReservations }),
        );
        if (done) return;
      }
    });
  }

  /** PostgreSQL's balance minus this process's settled charges the ledger has not booked, in one snapshot. */
  private async balanceFromLedger(userId: number): Promise<number> {
    const unbooked = this.options.outbox.unbookedFor(userId);
    const ids = unbooked.map((event) => event.eventId);
    let row: { balance: string | number; booked: string[] | null } | undefined;
    try {
      const result = await sql<{ balance: string | number; booked: string[] | null }>`
        SELECT balance,
               ARRAY(SELECT event_id::text FROM tokens_used WHERE event_id = ANY(${ids}::uuid[])) AS booked
          FROM users WHERE id = ${userId}`.execute(this.options.db);
      row = result.rows[0];
    } catch (error) {
      this.options.logger.error({ err: error }, 'metering: cannot read the balance from PostgreSQL');
      throw new RpcError('service_unavailable', {
        message: 'The balance cannot be read right now; try again',
        data: { service: 'database' },
      });
    }
    if (row === undefined) throw new RpcError('forbidden', { message: 'The account no longer exists' });
    const booked = new Set(row.booked ?? []);
    const pending = unbooked.reduce((sum, event) => (booked.has(event.eventId) ? sum : sum + event.cost), 0);
    return Math.max(0, Number(row.balance) - pending);
  }

  private async redis<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      this.options.logger.error({ err: error }, 'metering: Redis unreachable');
      throw new RpcError('service_unavailable', {
        message: 'Metering is unavailable (Redis cannot be reached); no request is served unmetered',
        data: { service: 'redis' },
      });
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retrySettles().finally(() => {
        if (this.unsettled.length > 0) this.scheduleRetry();
      });
    }, this.options.settleRetryMs ?? 1000);
    this.retryTimer.unref();
  }

  private async retrySettles(): Promise<void> {
    while (this.unsettled.length > 0) {
      const next = this.unsettled[0];
      if (next === undefined) return;
      try {
        await this.withUserLock(next.reservation.userId, () =>
          this.options.store.settle(next.reservation, { cost: next.cost, tokens: next.tokens }),
        );
        this.unsettled.shift();
      } catch {
        return;
      }
    }
  }

  private async withUserLock<T>(userId: number, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(userId) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.locks.set(userId, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(userId) === tail) this.locks.delete(userId);
    }
  }
}

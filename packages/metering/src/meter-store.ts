// The Redis side of token metering. One hash per user holds a cached copy of what the user may still spend and
// the reservations open against it; each operation is one Lua script, so concurrent requests (from any number of
// connections) can never reserve past the balance.
//
//   <prefix>meter:<userId>   HASH
//     balance   what PostgreSQL says minus charges settled but not yet booked by the usage sink (micro-credits)
//     reserved  sum of the open reservations (micro-credits)
//     r:<id>    one open reservation: its amount
//     epoch     bumped by auth after every change of the balance in PostgreSQL (grants)
//     built     the epoch the balance was computed at; a hash whose `built` differs from `epoch` (or that has
//               no balance at all, e.g. after Redis lost its data) must be rebuilt before the next reservation
//   <prefix>meter:rate:<userId>:<minute>   HASH  req, tok   (fixed one-minute windows, expire after two)
//
// Invariant: balance - reserved >= 0 after every script. Settling charges at most what was reserved (the
// worst case), so balance never goes below 0 either.
//
// Settle debits the cached balance only while its reservation is held. A reservation is missing only when the
// hash was rebuilt after the charge had reached the durable outbox, and a rebuild already subtracts every
// settled-but-unbooked charge, so debiting again would count it twice.
import type { Redis } from 'ioredis';

const RESERVE = `
local m = KEYS[1]
local built = redis.call('HGET', m, 'built')
if not built or built ~= (redis.call('HGET', m, 'epoch') or '0') or not redis.call('HGET', m, 'balance') then
  return {-1}
end
local amount = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local rpm = tonumber(ARGV[4])
local tpm = tonumber(ARGV[5])
local available = tonumber(redis.call('HGET', m, 'balance')) - tonumber(redis.call('HGET', m, 'reserved') or '0')
if amount > available then return {0, available} end
local rate = KEYS[2]
local req = tonumber(redis.call('HGET', rate, 'req') or '0')
local tok = tonumber(redis.call('HGET', rate, 'tok') or '0')
if req + 1 > rpm then return {2, 1, req} end
if tok + tokens > tpm then return {2, 2, tok} end
redis.call('HINCRBY', rate, 'req', 1)
redis.call('HINCRBY', rate, 'tok', tokens)
redis.call('PEXPIRE', rate, 120000)
redis.call('HSET', m, 'r:' .. ARGV[1], amount)
redis.call('HINCRBY', m, 'reserved', amount)
return {1, available - amount}
`;

const SETTLE = `
local m = KEYS[1]
local field = 'r:' .. ARGV[1]
local held = redis.call('HGET', m, field)
if held then
  redis.call('HDEL', m, field)
  redis.call('HINCRBY', m, 'reserved', -tonumber(held))
  local cost = tonumber(ARGV[2])
  if cost > 0 then
    if redis.call('HINCRBY', m, 'balance', -cost) < 0 then redis.call('HSET', m, 'balance', 0) end
  end
end
local unused = tonumber(ARGV[3])
if unused > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HINCRBY', KEYS[2], 'tok', -unused) < 0 then redis.call('HSET', KEYS[2], 'tok', 0) end
end
return held and 1 or 0
`;

// ARGV: expected epoch, balance, then pairs of reservation id and amount to restore when the hash had lost its
// balance (Redis restarted empty): the open reservations of the calling process.
const REBUILD = `
local m = KEYS[1]
local epoch = redis.call('HGET', m, 'epoch') or '0'
if epoch ~= ARGV[1] then return 0 end
if not redis.call('HGET', m, 'balance') then
  local reserved = 0
  for i = 3, #ARGV, 2 do
    redis.call('HSET', m, 'r:' .. ARGV[i], ARGV[i + 1])
    reserved = reserved + tonumber(ARGV[i + 1])
  end
  redis.call('HSET', m, 'reserved', reserved)
end
redis.call('HSET', m, 'balance', ARGV[2], 'built', epoch)
return 1
`;

interface MeterCommands {
  cyberMeterReserve(
    meterKey: string,
    rateKey: string,
    ...args: (string | number)[]
  ): Promise<[number, number?, number?]>;
  cyberMeterSettle(meterKey: string, rateKey: string, ...args: (string | number)[]): Promise<number>;
  cyberMeterRebuild(meterKey: string, ...args: (string | number)[]): Promise<number>;
}

/** Per-user rate limits, per fixed one-minute window. */
export interface RateLimits {
  requestsPerMinute: number;
  tokensPerMinute: number;
}

/** What {@link MeterStore.reserve} asks to hold. */
export interface ReserveRequest {
  userId: number;
  /** Unique id; the same id settles it (llmserver uses the usage event id). */
  reservationId: string;
  /** Worst-case cost in micro-credits. */
  amount: number;
  /** Worst-case tokens (prompt + max tokens), counted against the tokens-per-minute window. */
  tokens: number;
  limits: RateLimits;
  /** Current time in ms; picks the rate window. */
  now: number;
}

/** A reservation that is held; settle it with {@link MeterStore.settle}. */
export interface HeldReservation {
  userId: number;
  reservationId: string;
  amount: number;
  tokens: number;
  /** The rate window it was counted in (unused tokens go back to it). */
  rateKey: string;
}

/** Outcome of {@link MeterStore.reserve}. */
export type ReserveOutcome =
  | { kind: 'held'; reservation: HeldReservation; availableAfter: number }
  /** The cached balance is missing or stale: rebuild it from PostgreSQL, then try again. */
  | { kind: 'rebuild' }
  | { kind: 'budget'; available: number }
  | { kind: 'rate'; limit: 'requests' | 'tokens'; used: number; retryAfterMs: number };

/** A user's cached state, for reports (billing.balance, tests). */
export interface MeterSnapshot {
  /** Cached spendable balance, or null when nothing is cached. */
  balance: number | null;
  reserved: number;
  reservations: number;
  epoch: number;
  built: number | null;
}

const WINDOW_MS = 60_000;

/** The metering scripts over one ioredis connection. */
export class MeterStore {
  private readonly redis: Redis & MeterCommands;

  /**
   * @param redis a connection (llmserver gives it `enableOfflineQueue: false` so a lost Redis fails fast)
   * @param keyPrefix the installation's Redis key prefix, e.g. `cyber:`
   */
  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
  ) {
    redis.defineCommand('cyberMeterReserve', { numberOfKeys: 2, lua: RESERVE });
    redis.defineCommand('cyberMeterSettle', { numberOfKeys: 2, lua: SETTLE });
    redis.defineCommand('cyberMeterRebuild', { numberOfKeys: 1, lua: REBUILD });
    this.redis = redis as Redis & MeterCommands;
  }

  /** The hash of one user. */
  meterKey(userId: number): string {
    return `${this.keyPrefix}meter:${userId}`;
  }

  /** Atomically checks the budget and both rate windows and, when all pass, holds `amount`. */
  async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
    const window = Math.floor(request.now / WINDOW_MS);
    const rateKey = `${this.keyPrefix}meter:rate:${request.userId}:${window}`;
    const [code, a = 0, b = 0] = await this.redis.cyberMeterReserve(
      this.meterKey(request.userId),
      rateKey,
      request.reservationId,
      request.amount,
      request.tokens,
      request.limits.requestsPerMinute,
      request.limits.tokensPerMinute,
    );
    switch (code) {
      case 1:
        return {
          kind: 'held',
          availableAfter: a,
          reservation: {
            userId: request.userId,
            reservationId: request.reservationId,
            amount: request.amount,
            tokens: request.tokens,
            rateKey,
          },
        };
      case 0:
        return { kind: 'budget', available: a };
      case 2:
        return {
          kind: 'rate',
          limit: a === 1 ? 'requests' : 'tokens',
          used: b,
          retryAfterMs: (window + 1) * WINDOW_MS - request.now,
        };
      default:
        return { kind: 'rebuild' };
    }
  }

  /**
   * Releases a reservation and takes the actual cost off the cached balance; tokens reserved but not used go
   * back to the rate window. Returns false, charging nothing to the cache, when the reservation was no longer
   * held: the hash was rebuilt meanwhile and that rebuild counted the charge (see the header).
   */
  async settle(reservation: HeldReservation, usage: { cost: number; tokens: number }): Promise<boolean> {
    const held = await this.redis.cyberMeterSettle(
      this.meterKey(reservation.userId),
      reservation.rateKey,
      reservation.reservationId,
      usage.cost,
      Math.max(0, reservation.tokens - usage.tokens),
    );
    return held === 1;
  }

  /** The epoch the next {@link rebuild} must name; read it BEFORE reading the balance from PostgreSQL. */
  async epoch(userId: number): Promise<number> {
    return Number((await this.redis.hget(this.meterKey(userId), 'epoch')) ?? '0');
  }

  /**
   * Stores a balance computed from PostgreSQL at `epoch`. When Redis had lost the hash, the given open
   * reservations are restored with it. Returns false when the epoch moved meanwhile (a grant landed): read
   * again and retry.
   */
  async rebuild(options: {
    userId: number;
    epoch: number;
    balance: number;
    openReservations: readonly { reservationId: string; amount: number }[];
  }): Promise<boolean> {
    const pairs = options.openReservations.flatMap((r) => [r.reservationId, r.amount]);
    const done = await this.redis.cyberMeterRebuild(
      this.meterKey(options.userId),
      String(options.epoch),
      options.balance,
      ...pairs,
    );
    return done === 1;
  }

  /** Marks a user's cached balance stale (auth calls it after committing a grant). */
  async invalidate(userId: number): Promise<void> {
    await this.redis.hincrby(this.meterKey(userId), 'epoch', 1);
  }

  /** Micro-credits held by open reservations (0 when nothing is cached). */
  async reservedOf(userId: number): Promise<number> {
    return Number((await this.redis.hget(this.meterKey(userId), 'reserved')) ?? '0');
  }

  /** The cached state of a user. */
  async snapshot(userId: number): Promise<MeterSnapshot> {
    const hash = await this.redis.hgetall(this.meterKey(userId));
    return {
      balance: hash.balance === undefined ? null : Number(hash.balance),
      reserved: Number(hash.reserved ?? '0'),
      reservations: Object.keys(hash).filter((key) => key.startsWith('r:')).length,
      epoch: Number(hash.epoch ?? '0'),
      built: hash.built === undefined ? null : Number(hash.built),
    };
  }

  /**
   * Drops every cached balance and open reservation of this installation. llmserver calls it at start: the
   * reservations of a previous process that crashed would otherwise hold money forever. (One llmserver per
   * installation; see docs.)
   */
  async reset(): Promise<number> {
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.keyPrefix}meter:*`, 'COUNT', 500);
      if (keys.length > 0) removed += await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    return removed;
  }
}

// The Redis role of the standalone studio: one emulated Redis server per process, built on ioredis-mock (an
// in-memory ioredis emulation whose Lua runs on fengari). Every client of one EmbeddedRedis shares its data and
// its pub/sub channels, so the services get the same `Redis` type and the same scripts as with a real server.
//
// ioredis-mock keeps its servers in a module-wide map keyed by `host:port/db`; each EmbeddedRedis takes a host
// name of its own, so two of them (two tests in one worker) never see each other's keys.
//
// Where ioredis-mock 8.13.1 differs from ioredis in what the services rely on, `patchClient` closes the gap in
// the smallest way (the shared contract tests in test/redis-contract.test.ts pin every point):
// - it has no `status` property: the services and auth-client read it (`ready` before trusting a subscription);
// - `disconnect()`/`quit()` emit only 'end', never 'close' (auth-client drops its caches on 'close');
// - a client that quit keeps answering commands, where ioredis rejects them ("Connection is closed.");
// - `disconnect()` forgets the client's subscriptions but leaves its listeners on the shared channels, so a
//   client that left still receives messages and PUBLISH still counts it: they are removed here;
// - scripts are cached per client, where a Redis server caches them for every connection, and SCRIPT LOAD is
//   missing: the clients of one server share one cache, and SCRIPT LOAD/EXISTS are added (EVALSHA works);
// - `duplicate()` builds a client that bypasses the patches above.
// Commands run synchronously inside one promise executor, and a Lua script runs to its end before the next
// command, so scripts stay atomic as on a real server. The price: the emulation builds a fresh fengari VM and
// compiles the script on every call, 5 to 12 ms of blocked event loop per script (MeterStore reserve+settle:
// p50 10-24 ms and 36-69/s, against 0.5 ms and 1000-2300/s on a real Redis; docs/benchmarks.md). Plenty for
// one developer's studio; a deployment that meters many users runs a real Redis.
import { createHash, randomUUID } from 'node:crypto';
import { RpcError } from '@cyber/contract';
import type { Redis, RedisOptions } from 'ioredis';
import RedisMock from 'ioredis-mock';

/**
 * Options of {@link EmbeddedRedis.client}: the ioredis options that mean something without a network (the
 * address ones are ignored; every client talks to its EmbeddedRedis).
 */
export type EmbeddedRedisClientOptions = Omit<RedisOptions, 'host' | 'port' | 'path' | 'db' | 'data'>;

/** One in-process Redis server (create one per studio process) and the clients connected to it. */
export interface EmbeddedRedis {
  /**
   * A new client of this server, typed as ioredis `Redis`: shares data and pub/sub with every other client of
   * this EmbeddedRedis. It is ready on the next tick (listen for 'ready'), or on `connect()` when given
   * `lazyConnect: true`. Throws `service_unavailable` after {@link EmbeddedRedis.close}.
   */
  client(options?: EmbeddedRedisClientOptions): Redis;
  /** Disconnects every client still open (each emits 'close' and 'end') and drops all data. Idempotent. */
  close(): Promise<void>;
}

type ClientStatus = Redis['status'];

/** What this file touches inside an emulated client (ioredis-mock 8.13.1, lib/index.js). */
interface MockInternals {
  options: { enableOfflineQueue?: boolean };
  shaScripts: Record<string, string>;
  channels: ChannelRegistry;
  patternChannels: ChannelRegistry;
}

/** The emulation's shared pub/sub emitter and, per channel, each subscribed client's listener. */
interface ChannelRegistry {
  instanceListeners?: Map<string, Map<unknown, (...args: unknown[]) => void>>;
  removeListener(channel: string, listener: (...args: unknown[]) => void): unknown;
}

/** Creates an empty in-process Redis server. */
export function createEmbeddedRedis(): EmbeddedRedis {
  // A name no real host has, so the emulation's module-wide map gives this server its own context.
  const host = `embedded-redis-${randomUUID()}`;
  const open = new Set<Redis>();
  const scripts: Record<string, string> = {};
  let closed = false;

  function client(options: EmbeddedRedisClientOptions = {}): Redis {
    if (closed) throw new RpcError('service_unavailable', { message: 'The embedded Redis is closed' });
    const created = new RedisMock({ ...options, host, port: 6379, db: 0 });
    patchClient(created, {
      lazy: options.lazyConnect === true,
      scripts,
      duplicate: (override) => client({ ...options, ...override }),
      onEnd: () => open.delete(created),
    });
    open.add(created);
    return created;
  }

  return {
    client,
    async close() {
      if (closed) return;
      closed = true;
      const remaining = [...open];
      const janitor = new RedisMock({ host, port: 6379, db: 0, lazyConnect: true, enableOfflineQueue: true });
      await janitor.flushall();
      janitor.disconnect();
      for (const redis of remaining) redis.disconnect();
      // Let the 'close'/'end' events of the clients fire before the caller moves on.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

interface PatchOptions {
  /** Created with lazyConnect: waits for connect(). */
  lazy: boolean;
  /** The server's script cache, sha1 to source. */
  scripts: Record<string, string>;
  /** Builds a sibling client of the same server (for `duplicate()`). */
  duplicate: (override: Partial<EmbeddedRedisClientOptions>) => Redis;
  /** Called once the client has ended. */
  onEnd: () => void;
}

/** Gives an emulated client the ioredis behaviour listed in the header. */
function patchClient(redis: Redis, options: PatchOptions): void {
  let status: ClientStatus = options.lazy ? 'wait' : 'connecting';
  Object.defineProperty(redis, 'status', { get: () => status, configurable: true });
  redis.on('ready', () => {
    if (status !== 'end') status = 'ready';
  });

  // A client that quit refuses commands, as ioredis does once its status is 'end'. The emulation refuses them
  // while it is not connected only when `enableOfflineQueue` is off, so that flag is off from the end until the
  // next connect().
  const internals = redis as unknown as MockInternals;
  const mockOptions = internals.options;
  const offlineQueue = mockOptions.enableOfflineQueue;

  const connect = redis.connect.bind(redis);
  redis.connect = async () => {
    if (status === 'end') status = 'connecting';
    mockOptions.enableOfflineQueue = offlineQueue;
    await connect();
    // ioredis resolves connect() once ready; the emulation emits 'ready' on the next tick.
    if (status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  };

  const disconnect = redis.disconnect.bind(redis);
  redis.disconnect = (reconnect?: boolean) => {
    if (status === 'end') return;
    status = 'end';
    mockOptions.enableOfflineQueue = false;
    // The emulation schedules 'end'; ioredis emits 'close' first.
    process.nextTick(() => redis.emit('close'));
    for (const registry of [internals.channels, internals.patternChannels]) leaveChannels(registry, redis);
    disconnect(reconnect);
    options.onEnd();
  };

  internals.shaScripts = options.scripts;
  const script = (subcommand: string, ...args: string[]): Promise<unknown> => {
    switch (subcommand.toUpperCase()) {
      case 'LOAD': {
        const source = String(args[0]);
        const sha = createHash('sha1').update(source).digest('hex');
        options.scripts[sha] = source;
        return Promise.resolve(sha);
      }
      case 'EXISTS':
        return Promise.resolve(args.map((sha) => (sha in options.scripts ? 1 : 0)));
      default:
        return Promise.reject(new Error(`ERR SCRIPT ${subcommand} is not supported by the embedded Redis`));
    }
  };
  (redis as unknown as { script: typeof script }).script = script;

  redis.duplicate = (override?: Partial<RedisOptions>) => options.duplicate(override ?? {});
}

/** Removes a client's listeners from the shared channels (what the emulation's UNSUBSCRIBE does). */
function leaveChannels(registry: ChannelRegistry, client: unknown): void {
  for (const [channel, listeners] of registry.instanceListeners ?? []) {
    const listener = listeners.get(client);
    if (!listener) continue;
    registry.removeListener(channel, listener);
    listeners.delete(client);
    if (listeners.size === 0) registry.instanceListeners?.delete(channel);
  }
}

// How a service other than auth decides who is calling.
// - `Authorization: Bearer <jwt>`: verified locally against auth's JWKS (fetched once, cached, refetched when a
//   token names an unknown `kid`), with the algorithms pinned so `alg: none` or an HMAC signed with the public key
//   cannot pass.
// - `X-Cyber-Token: <api key>`: resolved by auth's `auth.introspect` and cached briefly. The cache is only as long
//   as revocation allows: while the Redis revocation feed is subscribed, a revoked key is dropped the moment auth
//   publishes it, so answers may be kept `cacheTtlMs` (seconds); while the feed is down, at most the TTL auth
//   advises (<= 1 s). Refused keys are cached for a moment only, so a flood of bad keys costs one lookup each.
// - Verified session JWTs are cached by token hash for at most `sessionCacheTtlMs` and never past `exp`, with
//   the same rule: only while the revocation feed is up (or no feed is configured, when nothing revokes
//   sessions before they expire anyway). A "user" revocation drops that user's cached sessions at once, and each
//   hit re-checks the user's revocation time against the token's `iat`, so the cache never outlives a revocation.
import { hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiKeySecret, RoleSchema, RpcError, type IntrospectionResult } from '@cyber/contract';
import { createHttpClient } from '@cyber/rpc-client';
import { Redis } from 'ioredis';
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { VerifiedIdentity } from './identity.js';
import { KeyCache } from './key-cache.js';
import { SessionCache } from './session-cache.js';
import { decodeRevocation, revocationChannel } from './revocation.js';

/** JWS algorithms auth may sign with; both asymmetric. */
export type SessionAlgorithm = 'EdDSA' | 'ES256';

/** The slice of a pino/Fastify logger the verifier writes to. */
export interface VerifierLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Options of {@link createVerifier}. */
export interface VerifierOptions {
  /** Base URL of the auth service, e.g. `http://127.0.0.1:7402`; introspection goes to `<authUrl>/rpc`. */
  authUrl: string;
  /** Where the JWKS is; `<authUrl>/.well-known/jwks.json` when absent. */
  jwksUrl?: string;
  /** Required `iss` of session JWTs. */
  issuer: string;
  /** Required `aud` of session JWTs, when auth sets one. */
  audience?: string | string[];
  /** Accepted signature algorithms. Default both of auth's (EdDSA, ES256); never an HMAC or `none`. */
  algorithms?: SessionAlgorithm[];
  /**
   * Redis to subscribe to revocations on (`redis://…`). Without it, introspection answers are cached only as
   * long as auth advises (<= 1 s), which alone keeps revocation within a second.
   */
  redisUrl?: string;
  /**
   * Creates the subscriber connection instead of connecting to `redisUrl` (standalone mode: a client of the
   * embedded Redis). Called once; the verifier owns the client and disconnects it on `close()`.
   */
  createRedis?: () => Redis;
  /** The installation's Redis key prefix; the channel is `<prefix>keys:revoked`. Default `cyber:`. */
  redisKeyPrefix?: string;
  /** How long a resolved key is cached while the revocation feed is up. Default 10 s. */
  cacheTtlMs?: number;
  /** How long a refused key is cached. Default 1 s. */
  negativeCacheTtlMs?: number;
  /** Most cached keys. Default 10,000. */
  maxCacheEntries?: number;
  /**
   * How long a verified session JWT is cached (never past its `exp`), while the revocation feed is up or when
   * none is configured. 0 verifies every request. Default 60 s.
   */
  sessionCacheTtlMs?: number;
  /** Most cached sessions. Default 10,000. */
  maxSessionCacheEntries?: number;
  /** Longest lifetime of an access JWT; a user revocation is remembered this long. Default 15 min. */
  maxSessionAgeMs?: number;
  /** Current time in ms (tests move it). Default Date.now. */
  clock?: () => number;
  /** fetch for introspection and the JWKS. Default the global one. */
  fetch?: typeof fetch;
  /** Where feed problems are reported. */
  logger?: VerifierLogger;
}

/** Options of {@link Verifier.authenticate}. */
export interface AuthenticateOptions {
  /** The end client's address, forwarded to introspection so auth rate-limits failures per client. */
  clientAddress?: string;
}

/** Authenticates callers of a service. */
export interface Verifier {
  /**
   * Resolves the caller from request headers: undefined when no credentials were sent, an identity when they
   * are valid. Throws RpcError `unauthenticated` (the same error for every kind of bad credential) or
   * `service_unavailable` when auth cannot be reached (fail closed).
   */
  authenticate(
    headers: IncomingHttpHeaders,
    options?: AuthenticateOptions,
  ): Promise<VerifiedIdentity | undefined>;
  /** Verifies an access JWT. */
  verifySession(token: string): Promise<VerifiedIdentity>;
  /** Resolves an API key. */
  resolveApiKey(token: string, options?: AuthenticateOptions): Promise<VerifiedIdentity>;
  /** Resolves once the revocation feed is subscribed (immediately without Redis). */
  ready(): Promise<void>;
  /** Closes the Redis subscription. */
  close(): Promise<void>;
}

const INVALID_SESSION = 'Invalid or expired session token';
const INVALID_KEY = 'Invalid API key';

/** Creates a verifier. It subscribes to the revocation feed at once when `redisUrl` or `createRedis` is given. */
export function createVerifier(options: VerifierOptions): Verifier {
  const now = options.clock ?? Date.now;
  const cacheTtlMs = options.cacheTtlMs ?? 10_000;
  const negativeTtlMs = options.negativeCacheTtlMs ?? 1_000;
  const maxSessionAgeMs = options.maxSessionAgeMs ?? 15 * 60_000;
  const authUrl = options.authUrl.replace(/\/+$/, '');
  const cache = new KeyCache({ maxEntries: options.maxCacheEntries ?? 10_000, now });
  const sessionCacheTtlMs = options.sessionCacheTtlMs ?? 60_000;
  const sessions = new SessionCache({ maxEntries: options.maxSessionCacheEntries ?? 10_000, now });
  const pending = new Map<string, Promise<IntrospectionResult>>();
  // userId -> epoch ms of the latest "user" revocation: sessions issued before it are refused.
  const revokedUsers = new Map<string, number>();
  const rpc = createHttpClient({ url: `${authUrl}/rpc`, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl ?? `${authUrl}/.well-known/jwks.json`), {
    // A token signed by a key this verifier has not seen yet refetches after at most this long.
    cooldownDuration: 5_000,
    cacheMaxAge: 10 * 60_000,
    ...(options.fetch ? { [customFetch]: options.fetch } : {}),
  });
  const { redisUrl } = options;
  const createRedis =
    options.createRedis ??
    (redisUrl === undefined
      ? undefined
      : () => new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null }));
  const feed = createRedis
    ? subscribeToRevocations({
        createRedis,
        channel: revocationChannel(options.redisKeyPrefix ?? 'cyber:'),
        cache,
        sessions,
        revokedUsers,
        logger: options.logger,
      })
    : undefined;

  function introspect(
    token: string,
    tokenHash: string,
    clientAddress?: string,
  ): Promise<IntrospectionResult> {
    let lookup = pending.get(tokenHash);
    if (lookup === undefined) {
      // Concurrent requests with the same key share one round trip.
      lookup = rpc
        .call('auth.introspect', { token, ...(clientAddress ? { clientAddress } : {}) })
        .finally(() => pending.delete(tokenHash));
      pending.set(tokenHash, lookup);
    }
    return lookup;
  }

  async function resolveApiKey(token: string, opts: AuthenticateOptions = {}): Promise<VerifiedIdentity> {
    const tokenHash = hashToken(token);
    const cached = cache.get(tokenHash);
    if (cached !== undefined) {
      if (cached.identity === undefined) throw new RpcError('unauthenticated', { message: INVALID_KEY });
      return cached.identity;
    }
    const subscribedBefore = feed?.isSubscribed() ?? false;
    const result = await introspect(token, tokenHash, opts.clientAddress);
    if (!result.active) {
      cache.set(tokenHash, undefined, negativeTtlMs);
      throw new RpcError('unauthenticated', { message: INVALID_KEY });
    }
    const identity: VerifiedIdentity = {
      userId: String(result.userId),
      id: result.userId,
      username: result.username,
      role: result.role,
      via: 'api_key',
      keyId: result.keyId,
      balance: result.balance,
    };
    // Long caching only when the feed was up for the whole lookup; otherwise a revocation may have been missed.
    const ttl =
      subscribedBefore && (feed?.isSubscribed() ?? false)
        ? cacheTtlMs
        : Math.min(cacheTtlMs, result.cacheTtlMs);
    const expiresAt = result.expiresAt === null ? Infinity : Date.parse(result.expiresAt);
    cache.set(tokenHash, identity, Math.min(ttl, expiresAt - now()));
    return identity;
  }

  /** True when the user was revoked at or after `issuedAtMs` (and the revocation still matters). */
  function revokedSince(userId: string, issuedAtMs: number): boolean {
    const revokedAt = revokedUsers.get(userId);
    if (revokedAt === undefined) return false;
    if (revokedAt + maxSessionAgeMs < now()) {
      revokedUsers.delete(userId);
      return false;
    }
    return issuedAtMs <= revokedAt;
  }

  async function verifySession(token: string): Promise<VerifiedIdentity> {
    const tokenHash = hashToken(token);
    const hit = sessions.get(tokenHash);
    if (hit !== undefined) {
      if (!revokedSince(hit.identity.userId, hit.issuedAtMs)) return hit.identity;
      sessions.delete(tokenHash);
      throw new RpcError('unauthenticated', { message: INVALID_SESSION });
    }
    const subscribedBefore = feed?.isSubscribed() ?? true;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        ...(options.audience !== undefined ? { audience: options.audience } : {}),
        algorithms: options.algorithms ?? ['EdDSA', 'ES256'],
        currentDate: new Date(now()),
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      if (isJwksUnavailable(error)) {
        throw new RpcError('service_unavailable', { message: 'Auth key set unreachable', cause: error });
      }
      throw new RpcError('unauthenticated', { message: INVALID_SESSION, cause: error });
    }
    const role = RoleSchema.safeParse(payload.role);
    const id = Number(payload.sub);
    if (!role.success || !Number.isSafeInteger(id) || id <= 0) {
      throw new RpcError('unauthenticated', { message: INVALID_SESSION });
    }
    const issuedAtMs = (payload.iat ?? 0) * 1000;
    if (revokedSince(String(id), issuedAtMs)) {
      throw new RpcError('unauthenticated', { message: INVALID_SESSION });
    }
    const identity: VerifiedIdentity = {
      userId: String(id),
      id,
      role: role.data,
      via: 'session',
      ...(typeof payload.sid === 'string' ? { sessionId: payload.sid } : {}),
    };
    // Cached only when no revocation can have been missed during the verification (as for API keys).
    if (subscribedBefore && (feed?.isSubscribed() ?? true)) {
      const untilExpiry = (payload.exp ?? 0) * 1000 - now();
      sessions.set(tokenHash, { identity, issuedAtMs }, Math.min(sessionCacheTtlMs, untilExpiry));
    }
    return identity;
  }

  return {
    async authenticate(headers, opts) {
      const authorization = headers.authorization;
      const apiKey = headers['x-cyber-token'];
      if (authorization !== undefined) {
        const match = /^Bearer ([^\s]+)$/i.exec(authorization);
        if (!match?.[1]) throw new RpcError('unauthenticated', { message: INVALID_SESSION });
        return verifySession(match[1]);
      }
      if (apiKey !== undefined) {
        // A key introspection would refuse as malformed params is simply a wrong key to the caller: the same
        // `unauthenticated` as every other bad key, and no round trip to auth.
        if (typeof apiKey !== 'string' || !ApiKeySecret.safeParse(apiKey).success) {
          throw new RpcError('unauthenticated', { message: INVALID_KEY });
        }
        return resolveApiKey(apiKey, opts);
      }
      return undefined;
    },
    verifySession,
    resolveApiKey,
    ready: () => feed?.ready ?? Promise.resolve(),
    close: async () => {
      await feed?.close();
    },
  };
}

/**
 * The cache key of a credential: its SHA-256, so no raw secret is kept as a map key. The one-shot `hash` is about
 * twice as fast as a `createHash` object, and this runs on every authenticated request.
 */
function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}

/** True for failures to reach the JWKS (as opposed to a bad token). */
function isJwksUnavailable(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout) return true;
  if (error instanceof joseErrors.JOSEError) return false;
  // fetch rejects with a TypeError when the host is unreachable; jose passes it through.
  return error instanceof TypeError;
}

interface Feed {
  ready: Promise<void>;
  isSubscribed(): boolean;
  close(): Promise<void>;
}

function subscribeToRevocations(input: {
  createRedis: () => Redis;
  channel: string;
  cache: KeyCache;
  sessions: SessionCache;
  revokedUsers: Map<string, number>;
  logger: VerifierLogger | undefined;
}): Feed {
  const { cache, sessions, revokedUsers, logger } = input;
  const redis = input.createRedis();
  let subscribed = false;
  redis.on('message', (channel: string, raw: string) => {
    if (channel !== input.channel) return;
    const message = decodeRevocation(raw);
    if (message === undefined) {
      logger?.warn({ channel }, 'auth-client: malformed revocation message ignored');
      return;
    }
    if (message.type === 'key') {
      cache.dropKey(message.keyId);
    } else {
      cache.dropUser(String(message.userId));
      sessions.dropUser(String(message.userId));
      const previous = revokedUsers.get(String(message.userId)) ?? 0;
      revokedUsers.set(String(message.userId), Math.max(previous, message.at));
    }
  });
  // Messages published while disconnected are lost: forget everything cached and serve short TTLs until the
  // subscription is back (ioredis resubscribes on reconnect).
  redis.on('close', () => {
    if (subscribed) logger?.warn({ channel: input.channel }, 'auth-client: revocation feed lost');
    subscribed = false;
    cache.clear();
    sessions.clear();
  });
  redis.on('error', (error: Error) => logger?.warn({ err: error }, 'auth-client: revocation feed error'));
  redis.on('ready', () => {
    // On a reconnect ioredis resubscribes before 'ready' is emitted.
    if (redis.status === 'ready' && initial.settled) {
      cache.clear();
      sessions.clear();
      subscribed = true;
    }
  });
  const initial = { settled: false };
  const ready = (async () => {
    // A client made lazy (ours) connects here; a factory's client may already be connecting or connected.
    if (redis.status === 'wait') await redis.connect();
    await redis.subscribe(input.channel);
    initial.settled = true;
    subscribed = true;
  })();
  // The caller awaits ready() when it cares; an unobserved failure must not crash the process.
  ready.catch((error: unknown) =>
    logger?.error({ err: error }, 'auth-client: cannot subscribe to revocations'),
  );
  return {
    ready,
    isSubscribed: () => subscribed,
    close: async () => {
      subscribed = false;
      await ready.catch(() => undefined);
      redis.disconnect();
    },
  };
}

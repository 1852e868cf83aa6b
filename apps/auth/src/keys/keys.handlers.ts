// keys.* and auth.introspect. Owner rules on top of the contract's `viewer` access: callers manage their own
// keys; admins anyone's, and an admin acting on someone else's key leaves an audit row.
import { RpcError } from '@cyber/contract';
import { auditActorOf } from '../audit/index.js';
import type { AuthHandlers, AuthIdentity } from '../auth-types.js';
import { requestMetaOf } from '../request-meta.js';
import type { FailureLimiter } from '../identity/login-limiter.js';
import type { AuthServices } from '../services.js';
import { ApiKeyRepository } from './api-key.repository.js';
import { type ApiKeyService, toApiKey } from './api-key.service.js';
import { resolveWithLimits } from './limited-resolve.js';

/** How long a caller may cache an introspection answer when it does not follow the revocation broadcast. */
export const INTROSPECTION_CACHE_TTL_MS = 1_000;

function callerOf(identity: AuthIdentity | undefined): AuthIdentity {
  if (identity === undefined) throw new RpcError('unauthenticated');
  return identity;
}

/** For a target user id given by the caller: allowed when it is the caller's own id or the caller is admin. */
function assertSelfOrAdmin(caller: AuthIdentity, userId: number | undefined): void {
  if (userId !== undefined && userId !== caller.id && caller.role !== 'admin') {
    throw new RpcError('forbidden', { message: 'Only admins may act on other users’ keys' });
  }
}

function decodeKeysCursor(cursor: string | undefined): { createdMicros: number; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const match = /^(\d{1,17})\.([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const micros = Number(match?.[1]);
  if (!match?.[2] || !Number.isSafeInteger(micros)) {
    throw new RpcError('invalid_params', { message: 'Invalid cursor', data: { field: 'cursor' } });
  }
  return { createdMicros: micros, id: match[2] };
}

/** The keys module's handlers, given its service and limiter. */
export function keysHandlersWith(input: {
  services: AuthServices;
  keys: ApiKeyService;
  limiter: FailureLimiter;
}): AuthHandlers {
  const { services, keys, limiter } = input;
  const repository = new ApiKeyRepository(services.db);
  const maxFailures = services.config.loginRateLimit.maxFailures;

  return {
    'keys.create': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      assertSelfOrAdmin(caller, params.userId);
      const ownerId = params.userId ?? caller.id;
      const owner = await repository.findOwner(ownerId);
      if (owner === undefined) throw new RpcError('not_found', { message: 'No such user' });
      const { row, token } = await keys.create({
        owner,
        label: params.label,
        roleCap: params.roleCap,
        expiresAt: params.expiresAt === undefined ? undefined : new Date(params.expiresAt),
        auditActor: ownerId !== caller.id ? auditActorOf(ctx) : undefined,
      });
      return { key: toApiKey(row), secret: token };
    },

    'keys.list': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      assertSelfOrAdmin(caller, params.userId);
      // Admins without a user id see everyone's keys; everyone else only ever their own.
      const userId = caller.role === 'admin' ? params.userId : caller.id;
      const rows = await repository.list({
        userId,
        includeRevoked: params.includeRevoked,
        before: decodeKeysCursor(params.cursor),
        limit: params.limit,
      });
      const page = rows.slice(0, params.limit);
      const last = page.at(-1);
      const nextCursor =
        rows.length > params.limit && last !== undefined
          ? Buffer.from(`${last.created_micros}.${last.id}`, 'utf8').toString('base64url')
          : null;
      return { items: page.map((row) => toApiKey(row)), nextCursor };
    },

    'keys.revoke': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const isAdmin = caller.role === 'admin';
      const row = await keys.revoke({
        keyId: params.keyId,
        ownerId: isAdmin ? undefined : caller.id,
        // Every revoke by an admin is an admin action and is audited (another user's key or not).
        auditActor: isAdmin ? auditActorOf(ctx) : undefined,
      });
      return { key: toApiKey(row) };
    },

    'auth.introspect': async (params, ctx) => {
      // Per end client when the calling service names it, else per calling address.
      const resolved = await resolveWithLimits({
        keys,
        limiter,
        maxFailuresPerKey: maxFailures,
        maxFailuresPerAddress: services.config.loginRateLimit.maxFailuresPerAddress,
        token: params.token,
        address: params.clientAddress ?? requestMetaOf(ctx.request).ip ?? 'unknown',
      });
      if (resolved === undefined) {
        // One answer for unknown, wrong, expired and revoked keys and disabled owners.
        return { active: false as const };
      }
      return {
        active: true as const,
        keyId: resolved.keyId,
        userId: resolved.owner.id,
        username: resolved.owner.username,
        role: resolved.role,
        balance: resolved.owner.balance,
        expiresAt: resolved.expiresAt?.toISOString() ?? null,
        cacheTtlMs: INTROSPECTION_CACHE_TTL_MS,
      };
    },
  };
}

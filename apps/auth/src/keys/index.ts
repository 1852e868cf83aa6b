// The keys module: API keys (`keys.*`), introspection for other services, and the resolver behind the auth
// service's own `X-Cyber-Token` authentication.
import { RpcError } from '@cyber/contract';
import type { AuthHandlers, AuthIdentity } from '../auth-types.js';
import { FailureLimiter } from '../identity/login-limiter.js';
import type { AuthModule, AuthServices } from '../services.js';
import { ApiKeyService } from './api-key.service.js';
import { keysHandlersWith } from './keys.handlers.js';
import { resolveWithLimits } from './limited-resolve.js';

function keyParts(services: AuthServices): { keys: ApiKeyService; limiter: FailureLimiter } {
  const keys = new ApiKeyService({
    db: services.db,
    redis: services.redis,
    redisKeyPrefix: services.config.redis.keyPrefix,
    clock: services.clock,
    logger: services.logger,
  });
  const limiter = new FailureLimiter({
    redis: services.redis,
    keyPrefix: services.config.redis.keyPrefix,
    scope: 'apikey',
    windowSeconds: services.config.loginRateLimit.windowSeconds,
  });
  return { keys, limiter };
}

/** Resolves `X-Cyber-Token` for the auth service's authenticate hook, given the client's address. */
export type ApiKeyResolver = (token: string, address: string) => Promise<AuthIdentity>;

/**
 * The resolver for the auth service's authenticate hook: an identity for a valid key, `unauthenticated` (one
 * message for every refusal) otherwise, behind the same failure limits as `auth.introspect`.
 */
export function resolveApiKey(services: AuthServices): ApiKeyResolver {
  return resolverOf(services, keyParts(services));
}

function resolverOf(
  services: AuthServices,
  parts: { keys: ApiKeyService; limiter: FailureLimiter },
): ApiKeyResolver {
  return async (token, address) => {
    const resolved = await resolveWithLimits({
      ...parts,
      maxFailuresPerKey: services.config.loginRateLimit.maxFailures,
      maxFailuresPerAddress: services.config.loginRateLimit.maxFailuresPerAddress,
      token,
      address,
    });
    if (resolved === undefined) throw new RpcError('unauthenticated', { message: 'Invalid API key' });
    return {
      userId: String(resolved.owner.id),
      id: resolved.owner.id,
      username: resolved.owner.username,
      role: resolved.role,
      via: 'api_key',
      keyId: resolved.keyId,
    };
  };
}

/** The handlers of `keys.*` and `auth.introspect`. */
export function keysHandlers(services: AuthServices): AuthHandlers {
  return keysHandlersWith({ services, ...keyParts(services) });
}

/** The keys module as buildApp composes it: handlers plus the API key resolver. */
export function keysModule(services: AuthServices): AuthModule & { keys: ApiKeyService } {
  const parts = keyParts(services);
  return {
    handlers: keysHandlersWith({ services, ...parts }),
    resolveApiKey: resolverOf(services, parts),
    keys: parts.keys,
  };
}

export {
  ApiKeyService,
  LAST_USED_INTERVAL_MS,
  minRole,
  toApiKey,
  type ResolvedApiKey,
} from './api-key.service.js';
export { INTROSPECTION_CACHE_TTL_MS } from './keys.handlers.js';

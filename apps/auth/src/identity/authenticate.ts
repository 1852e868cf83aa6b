// Who is calling the auth service: `Authorization: Bearer <access JWT>` verified with our own keys, or
// `X-Cyber-Token` resolved by the keys module. The role always comes from the database, so a demotion or a
// disabled account takes effect on the next request, not when the token expires.
import { RpcError } from '@cyber/contract';
import type { Authenticate } from '@cyber/rpc-server';
import type { AuthIdentity } from '../auth-types.js';
import type { SigningKeyStore } from './jwt-keys.js';
import type { AuthUsersRepository } from './users.repository.js';

/** Options of {@link createAuthenticate}. */
export interface AuthenticateOptions {
  signingKeys: SigningKeyStore;
  users: AuthUsersRepository;
  /** The keys module's resolver; without one, API keys are refused. */
  resolveApiKey: ((token: string, address: string) => Promise<AuthIdentity>) | undefined;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9_.-]+)[ \t]*$/i;

/** Builds the rpc-server `authenticate` hook of the auth service. */
export function createAuthenticate(options: AuthenticateOptions): Authenticate<AuthIdentity> {
  return async (headers, meta) => {
    const authorization = headers.authorization;
    if (authorization !== undefined && authorization !== '') {
      const token = BEARER.exec(authorization)?.[1];
      if (token === undefined)
        throw new RpcError('unauthenticated', { message: 'Malformed Authorization header' });
      const claims = await options.signingKeys.verify(token);
      const user = await options.users.findSessionUser({
        userId: claims.userId,
        sessionId: claims.sessionId,
      });
      // Deleted, disabled and logged-out users look alike to the caller.
      if (user === undefined || user.disabled || !user.sessionActive) {
        throw new RpcError('unauthenticated', { message: 'Invalid access token' });
      }
      return {
        userId: String(user.id),
        id: user.id,
        username: user.username,
        role: user.role,
        via: 'session',
        sessionId: claims.sessionId,
      };
    }
    const apiKey = headers['x-cyber-token'];
    if (typeof apiKey === 'string' && apiKey !== '') {
      if (options.resolveApiKey === undefined)
        throw new RpcError('unauthenticated', { message: 'Invalid API key' });
      return options.resolveApiKey(apiKey, meta.ip);
    }
    return undefined;
  };
}

// The `auth.*` methods this folder owns (auth.introspect belongs to the keys module).
import { RpcError } from '@cyber/contract';
import type { AuthHandlers } from '../auth-types.js';
import { requestMetaOf } from '../request-meta.js';
import type { AuthServices } from '../services.js';
import { toUserView } from './user-view.js';
import { AuthUsersRepository } from './users.repository.js';

/** Handlers of auth.login, auth.refresh, auth.logout, auth.me and auth.changePassword. */
export function authHandlers(services: AuthServices): AuthHandlers {
  const users = new AuthUsersRepository(services.db);
  return {
    'auth.login': (params, ctx) =>
      services.sessions.login({
        login: params.username,
        password: params.password,
        ip: requestMetaOf(ctx.request).ip ?? 'unknown',
      }),
    'auth.refresh': (params) => services.sessions.refresh(params.refreshToken),
    'auth.logout': async (params) => ({
      revokedSessions: await services.sessions.logout({
        refreshToken: params.refreshToken,
        everywhere: params.everywhere,
      }),
    }),
    'auth.me': async (_params, ctx) => {
      const identity = ctx.identity;
      const user = identity === undefined ? undefined : await users.findById(identity.id);
      if (user === undefined) throw new RpcError('unauthenticated');
      return toUserView(user);
    },
    'auth.changePassword': async (params, ctx) => {
      const identity = ctx.identity;
      if (identity === undefined) throw new RpcError('unauthenticated');
      await services.accounts.changePassword({
        userId: identity.id,
        currentPassword: params.currentPassword,
        newPassword: params.newPassword,
        keepSessionId: identity.sessionId,
        ip: requestMetaOf(ctx.request).ip ?? 'unknown',
      });
      return { ok: true };
    },
  };
}

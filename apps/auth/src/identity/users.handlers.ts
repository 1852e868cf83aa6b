// The admin `users.*` methods.
import type { AuthHandlers } from '../auth-types.js';
import { auditActorOf } from '../audit/record-audit.js';
import { decodeCursor, pageFrom } from '../paging.js';
import type { AuthServices } from '../services.js';
import { toUserView } from './user-view.js';
import { AuthUsersRepository } from './users.repository.js';

/** Handlers of users.list, users.create, users.update and users.delete. */
export function usersHandlers(services: AuthServices): AuthHandlers {
  const users = new AuthUsersRepository(services.db);
  return {
    'users.list': async (params) => {
      const rows = await users.list({
        role: params.role,
        disabled: params.disabled,
        prefix: params.query,
        beforeId: decodeCursor(params.cursor),
        limit: params.limit + 1,
      });
      return pageFrom(rows, { limit: params.limit, keyOf: (row) => row.id, toItem: toUserView });
    },
    'users.create': (params, ctx) =>
      services.accounts.create({
        username: params.username,
        email: params.email,
        password: params.password,
        role: params.role,
        actor: auditActorOf(ctx),
      }),
    'users.update': (params, ctx) =>
      services.accounts.update({
        userId: params.userId,
        changes: { role: params.role, disabled: params.disabled, email: params.email },
        actor: auditActorOf(ctx),
      }),
    'users.delete': async (params, ctx) => {
      await services.accounts.delete({ userId: params.userId, actor: auditActorOf(ctx) });
      return { deleted: true };
    },
  };
}

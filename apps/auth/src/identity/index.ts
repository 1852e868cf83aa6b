// The identity module: users, passwords, sessions and JWT keys. Other modules import from here only.
import { auditHandlers } from '../audit/audit.handlers.js';
import type { AuthServices, AuthModule } from '../services.js';
import { authHandlers } from './auth.handlers.js';
import { usersHandlers } from './users.handlers.js';

/** The identity module: `auth.*` (but introspect), `users.*` and `audit.*`. */
export function identityModule(services: AuthServices): AuthModule {
  return {
    handlers: {
      ...authHandlers(services),
      ...usersHandlers(services),
      ...auditHandlers(services.db),
    },
  };
}

export { AccountService, type AccountServiceOptions } from './account.service.js';
export { createAuthenticate, type AuthenticateOptions } from './authenticate.js';
export { bootstrapAdmin, type BootstrapOptions, type BootstrapResult } from './bootstrap-admin.js';
export {
  SigningKeyStore,
  type AccessClaims,
  type AccessTokenInput,
  type JwkSet,
  type SignedAccessToken,
  type SigningKeyStoreOptions,
} from './jwt-keys.js';
export { FailureLimiter, type FailureLimiterOptions, type LimitSubject } from './login-limiter.js';
export { PasswordHasher, generatePassword } from './password-hasher.js';
export { SessionService, hashRefreshToken, type SessionServiceOptions } from './session.service.js';
export { toUserView } from './user-view.js';
export { AuthUsersRepository } from './users.repository.js';

// Sessions: login, rotating refresh tokens, logout. A session is a refresh-token family; its access tokens carry
// the family id (`sid`) so revoking the family also ends them at this service at once (other services, which
// verify JWTs offline, see the end when the short-lived access token expires).
import type { AuthConfig } from '@cyber/config';
import { RpcError, type SessionTokens } from '@cyber/contract';
import type { DB, User as UserRow } from '@cyber/db';
import type { Kysely } from 'kysely';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../auth-types.js';
import type { SigningKeyStore } from './jwt-keys.js';
import type { FailureLimiter, LimitSubject } from './login-limiter.js';
import type { PasswordHasher } from './password-hasher.js';
import { RefreshTokensRepository } from './refresh-tokens.repository.js';
import { toUserView } from './user-view.js';
import { AuthUsersRepository } from './users.repository.js';

/** The one answer for an unknown user, a wrong password and a disabled account, so none can be told apart. */
const BAD_LOGIN = 'Invalid username or password';

/** sha256 (base64url) of a refresh token: what is stored and looked up. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** Options of {@link SessionService}. */
export interface SessionServiceOptions {
  db: Kysely<DB>;
  config: AuthConfig;
  clock: Clock;
  passwords: PasswordHasher;
  signingKeys: SigningKeyStore;
  loginLimiter: FailureLimiter;
}

/** Logs users in and out and rotates their refresh tokens. */
export class SessionService {
  readonly #users: AuthUsersRepository;
  readonly #tokens: RefreshTokensRepository;
  readonly #options: SessionServiceOptions;

  constructor(options: SessionServiceOptions) {
    this.#options = options;
    this.#users = new AuthUsersRepository(options.db);
    this.#tokens = new RefreshTokensRepository(options.db);
  }

  /**
   * Checks a username (or email) and password and starts a session. Failures count per account and per client
   * address; over the limit the answer is `rate_limited` with `retryAfter` before any password is checked.
   */
  async login(options: { login: string; password: string; ip: string }): Promise<SessionTokens> {
    const { passwords, loginLimiter, config } = this.#options;
    const user = await this.#users.findByLogin(options.login);
    // Known accounts are counted by id (username and email share one counter); unknown names by the name.
    const account: LimitSubject = {
      kind: 'account',
      id: user === undefined ? `name:${options.login.toLowerCase()}` : `user:${user.id}`,
      max: config.loginRateLimit.maxFailures,
    };
    const address: LimitSubject = {
      kind: 'address',
      id: options.ip,
      max: config.loginRateLimit.maxFailuresPerAddress,
    };
    await loginLimiter.assertAllowed([account, address]);
    const valid =
      user === undefined
        ? await passwords.verifyDummy(options.password)
        : await passwords.verify(user.password_hash, options.password);
    if (user === undefined || !valid || user.disabled) {
      await loginLimiter.recordFailure([account, address]);
      throw new RpcError('unauthenticated', { message: BAD_LOGIN });
    }
    await loginLimiter.reset([account]);
    const now = this.#options.clock();
    if (passwords.needsRehash(user.password_hash)) {
      // The configured cost changed since this hash was made; upgrade it while the password is at hand.
      await this.#users.setPasswordHash({
        id: user.id,
        passwordHash: await passwords.hash(options.password),
        at: now,
      });
    }
    await this.#users.recordLogin({ id: user.id, at: now });
    return this.#issue({ user: { ...user, last_login_at: now }, familyId: randomUUID() });
  }

  /** Trades a refresh token for new tokens. Reusing a retired token revokes its whole family. */
  async refresh(refreshToken: string): Promise<SessionTokens> {
    const now = this.#options.clock();
    const next = this.#newRefreshToken(now);
    const outcome = await this.#tokens.rotate({
      tokenHash: hashRefreshToken(refreshToken),
      next: { tokenHash: next.hash, expiresAt: next.expiresAt },
      now,
    });
    switch (outcome.kind) {
      case 'invalid':
        throw new RpcError('unauthenticated', { message: 'Invalid refresh token' });
      case 'reused':
        throw new RpcError('unauthenticated', {
          message: 'Refresh token reused; the session was revoked',
          data: { reason: 'reused' },
        });
      case 'rotated': {
        const user = await this.#users.findById(outcome.previous.user_id);
        if (user === undefined || user.disabled) {
          await this.#tokens.revokeFamily({ familyId: outcome.previous.family_id, at: now });
          throw new RpcError('unauthenticated', { message: 'Invalid refresh token' });
        }
        return this.#tokensFor({ user, familyId: outcome.previous.family_id, refresh: next });
      }
    }
  }

  /** Ends the session of `refreshToken`, and with `everywhere` every session of its user. */
  async logout(options: { refreshToken: string; everywhere: boolean }): Promise<number> {
    const token = await this.#tokens.findByHash(hashRefreshToken(options.refreshToken));
    if (token === undefined) return 0;
    const at = this.#options.clock();
    if (options.everywhere) return this.#tokens.revokeUserSessions({ userId: token.user_id, at });
    return (await this.#tokens.revokeFamily({ familyId: token.family_id, at })) ? 1 : 0;
  }

  /** Revokes the sessions of a user (all, or all but one); returns how many ended. */
  async revokeUserSessions(options: {
    userId: number;
    exceptSessionId?: string | undefined;
  }): Promise<number> {
    return this.#tokens.revokeUserSessions({
      userId: options.userId,
      at: this.#options.clock(),
      exceptFamilyId: options.exceptSessionId,
    });
  }

  async #issue(options: { user: UserRow; familyId: string }): Promise<SessionTokens> {
    const now = this.#options.clock();
    const refresh = this.#newRefreshToken(now);
    await this.#tokens.insert({
      familyId: options.familyId,
      userId: options.user.id,
      tokenHash: refresh.hash,
      expiresAt: refresh.expiresAt,
    });
    return this.#tokensFor({ user: options.user, familyId: options.familyId, refresh });
  }

  async #tokensFor(options: {
    user: UserRow;
    familyId: string;
    refresh: { token: string; expiresAt: Date };
  }): Promise<SessionTokens> {
    const access = await this.#options.signingKeys.sign({
      userId: options.user.id,
      role: options.user.role,
      sessionId: options.familyId,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt.toISOString(),
      refreshToken: options.refresh.token,
      refreshTokenExpiresAt: options.refresh.expiresAt.toISOString(),
      user: toUserView(options.user),
    };
  }

  #newRefreshToken(now: Date): { token: string; hash: string; expiresAt: Date } {
    // 256 random bits: unguessable, so a plain sha256 (not a slow hash) is enough to protect it at rest.
    const token = randomBytes(32).toString('base64url');
    return {
      token,
      hash: hashRefreshToken(token),
      expiresAt: new Date(now.getTime() + this.#options.config.jwt.refreshTtlSeconds * 1000),
    };
  }
}

// Account administration and the caller's own password. Every admin change commits together with its audit row.
import { RpcError, type Role, type User } from '@cyber/contract';
import type { DB } from '@cyber/db';
import type { Kysely } from 'kysely';
import type { Clock } from '../auth-types.js';
import { recordAudit, type AuditActor } from '../audit/record-audit.js';
import { generatePassword, type PasswordHasher } from './password-hasher.js';
import { RefreshTokensRepository } from './refresh-tokens.repository.js';
import type { FailureLimiter } from './login-limiter.js';
import { toUserView } from './user-view.js';
import { AccountTakenError, AuthUsersRepository, type AccountChanges } from './users.repository.js';
import type { AuthConfig } from '@cyber/config';

/** Options of {@link AccountService}. */
export interface AccountServiceOptions {
  db: Kysely<DB>;
  config: AuthConfig;
  clock: Clock;
  passwords: PasswordHasher;
  loginLimiter: FailureLimiter;
  /**
   * Told after a committed change that must reach other services at once (role change, disable, delete), so
   * that their caches of the user's API keys and sessions are dropped (keys module: Redis broadcast).
   */
  onUserChanged?: (userId: number) => Promise<void>;
}

/** What {@link AccountService.create} needs. */
export interface CreateAccountInput {
  username: string;
  email?: string | undefined;
  password?: string | undefined;
  role: Role;
  actor: AuditActor;
}

function conflictFor(error: unknown): never {
  if (error instanceof AccountTakenError) {
    throw new RpcError('conflict', { message: error.message, data: { field: error.field } });
  }
  throw error;
}

const LAST_ADMIN = new RpcError('conflict', {
  message: 'This would leave no enabled admin',
  data: { reason: 'last_admin' },
});

/** Admin operations on accounts, and password changes. */
export class AccountService {
  readonly #options: AccountServiceOptions;

  constructor(options: AccountServiceOptions) {
    this.#options = options;
  }

  /** Creates an account (generating a password when none is given) and audits it. */
  async create(input: CreateAccountInput): Promise<{ user: User; generatedPassword?: string }> {
    const generated = input.password === undefined ? generatePassword() : undefined;
    const passwordHash = await this.#options.passwords.hash(input.password ?? generated ?? '');
    try {
      const user = await this.#options.db.transaction().execute(async (tx) => {
        const row = await new AuthUsersRepository(tx).create({
          username: input.username,
          email: input.email ?? null,
          passwordHash,
          role: input.role,
        });
        await recordAudit(tx, {
          actor: input.actor,
          action: 'user.create',
          targetType: 'user',
          targetId: row.id,
          details: { username: row.username, role: row.role, passwordGenerated: generated !== undefined },
        });
        return row;
      });
      return { user: toUserView(user), ...(generated === undefined ? {} : { generatedPassword: generated }) };
    } catch (error) {
      return conflictFor(error);
    }
  }

  /**
   * Changes role, disabled state or email. Refuses to leave no enabled admin. Disabling revokes every session;
   * each kind of change gets its own audit row (role change, disable/enable, email update).
   */
  async update(options: { userId: number; changes: AccountChanges; actor: AuditActor }): Promise<User> {
    const { userId, changes, actor } = options;
    const now = this.#options.clock();
    try {
      const updated = await this.#options.db.transaction().execute(async (tx) => {
        const users = new AuthUsersRepository(tx);
        const before = await users.lockById(userId);
        if (before === undefined) throw new RpcError('not_found', { message: 'No such user' });
        const losesAdmin =
          before.role === 'admin' &&
          !before.disabled &&
          ((changes.role !== undefined && changes.role !== 'admin') || changes.disabled === true);
        if (losesAdmin && (await users.countOtherActiveAdmins(userId)) === 0) throw LAST_ADMIN;
        const after = await users.update({ id: userId, changes, at: now });
        if (after === undefined) throw new RpcError('not_found', { message: 'No such user' });
        if (changes.role !== undefined && changes.role !== before.role) {
          await recordAudit(tx, {
            actor,
            action: 'user.roleChange',
            targetType: 'user',
            targetId: userId,
            details: { from: before.role, to: after.role },
          });
        }
        if (changes.disabled !== undefined && changes.disabled !== before.disabled) {
          let revokedSessions = 0;
          if (changes.disabled) {
            revokedSessions = await new RefreshTokensRepository(tx).revokeUserSessions({ userId, at: now });
          }
          await recordAudit(tx, {
            actor,
            action: changes.disabled ? 'user.disable' : 'user.enable',
            targetType: 'user',
            targetId: userId,
            details: changes.disabled ? { revokedSessions } : {},
          });
        }
        if (changes.email !== undefined && changes.email !== before.email) {
          await recordAudit(tx, {
            actor,
            action: 'user.update',
            targetType: 'user',
            targetId: userId,
            // Whether an email is set, not the address itself: the audit log is read by every admin.
            details: { field: 'email', set: after.email !== null },
          });
        }
        return after;
      });
      if (changes.role !== undefined || changes.disabled !== undefined) {
        await this.#options.onUserChanged?.(userId);
      }
      return toUserView(updated);
    } catch (error) {
      return conflictFor(error);
    }
  }

  /**
   * Deletes a user with no ledger rows (usage or grants); its sessions and keys go with it. A user with
   * ledger rows gets `conflict`: disable it instead.
   */
  async delete(options: { userId: number; actor: AuditActor }): Promise<void> {
    const { userId, actor } = options;
    await this.#options.db.transaction().execute(async (tx) => {
      const users = new AuthUsersRepository(tx);
      const target = await users.lockById(userId);
      if (target === undefined) throw new RpcError('not_found', { message: 'No such user' });
      if (target.role === 'admin' && !target.disabled && (await users.countOtherActiveAdmins(userId)) === 0) {
        throw LAST_ADMIN;
      }
      if (await users.hasLedgerRows(userId)) {
        throw new RpcError('conflict', {
          message: 'The user has usage or balance history; disable it instead',
          data: { reason: 'has_ledger' },
        });
      }
      await users.delete(userId);
      await recordAudit(tx, {
        actor,
        action: 'user.delete',
        targetType: 'user',
        targetId: userId,
        details: { username: target.username, role: target.role },
      });
    });
    await this.#options.onUserChanged?.(userId);
  }

  /**
   * Changes the caller's password after checking the current one, then revokes every other session. Wrong
   * current passwords count against the account like failed logins.
   */
  async changePassword(options: {
    userId: number;
    currentPassword: string;
    newPassword: string;
    keepSessionId: string | undefined;
    ip: string;
  }): Promise<void> {
    const { passwords, loginLimiter, config, db } = this.#options;
    const users = new AuthUsersRepository(db);
    const user = await users.findById(options.userId);
    if (user === undefined) throw new RpcError('unauthenticated');
    const subjects = [
      { kind: 'account', id: `user:${user.id}`, max: config.loginRateLimit.maxFailures },
      { kind: 'address', id: options.ip, max: config.loginRateLimit.maxFailuresPerAddress },
    ];
    await loginLimiter.assertAllowed(subjects);
    if (!(await passwords.verify(user.password_hash, options.currentPassword))) {
      await loginLimiter.recordFailure(subjects);
      throw new RpcError('forbidden', { message: 'The current password is wrong' });
    }
    const passwordHash = await passwords.hash(options.newPassword);
    const now = this.#options.clock();
    await db.transaction().execute(async (tx) => {
      await new AuthUsersRepository(tx).setPasswordHash({ id: user.id, passwordHash, at: now });
      await new RefreshTokensRepository(tx).revokeUserSessions({
        userId: user.id,
        at: now,
        exceptFamilyId: options.keepSessionId,
      });
    });
  }
}

// The auth service's SQL on `users`: case-insensitive lookups, paging, admin changes and the guards that keep
// at least one active admin and never lose a ledger row.
import { isUniqueViolation, type DB, type User, type UserRole } from '@cyber/db';
import { sql, type Kysely } from 'kysely';

/** Thrown when a username or email is already taken (compared case-insensitively). */
export class AccountTakenError extends Error {
  readonly field: 'username' | 'email';

  constructor(field: 'username' | 'email') {
    super(`That ${field} is already taken`);
    this.name = 'AccountTakenError';
    this.field = field;
  }
}

/** A new account. */
export interface NewAccount {
  username: string;
  email: string | null;
  passwordHash: string;
  role: UserRole;
}

/** Changes an admin may make to an account. */
export interface AccountChanges {
  role?: UserRole | undefined;
  disabled?: boolean | undefined;
  email?: string | null | undefined;
}

/** Filters and paging of {@link AuthUsersRepository.list}. */
export interface UserQuery {
  role?: UserRole | undefined;
  disabled?: boolean | undefined;
  /** Username or email prefix, case-insensitive. */
  prefix?: string | undefined;
  /** Only users with a smaller id (the paging cursor). */
  beforeId?: number | undefined;
  limit: number;
}

/** The user and session state the authenticator needs on every request. */
export interface SessionUser {
  id: number;
  username: string;
  role: UserRole;
  disabled: boolean;
  /** False when the session (refresh-token family) was revoked by logout, password change or disabling. */
  sessionActive: boolean;
}

// Advisory lock key of the admin bootstrap ("cyberadm"); distinct from the migrator's.
const BOOTSTRAP_LOCK_KEY = '7167868469787059309';

const UNIQUE_FIELDS: Record<string, 'username' | 'email'> = {
  users_username_key: 'username',
  users_username_lower_key: 'username',
  users_email_lower_key: 'email',
};

function takenField(error: unknown): 'username' | 'email' | undefined {
  if (!isUniqueViolation(error)) return undefined;
  const constraint = (error as { constraint?: unknown }).constraint;
  return typeof constraint === 'string' ? UNIQUE_FIELDS[constraint] : undefined;
}

/** LIKE pattern matching strings that start with `prefix` literally. */
function likePrefix(prefix: string): string {
  return `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Reads and writes `users` for the auth service. */
export class AuthUsersRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** The user with this id, or undefined. */
  async findById(id: number): Promise<User | undefined> {
    return this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The user whose username, or email when `login` contains `@`, matches case-insensitively. */
  async findByLogin(login: string): Promise<User | undefined> {
    const column = login.includes('@') ? 'email' : 'username';
    return this.#db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', [eb.ref(column)]), '=', login.toLowerCase()))
      .executeTakeFirst();
  }

  /** The user and whether the session family still has an unrevoked token, in one query. */
  async findSessionUser(options: { userId: number; sessionId: string }): Promise<SessionUser | undefined> {
    const row = await this.#db
      .selectFrom('users')
      .select((eb) => [
        'users.id',
        'users.username',
        'users.role',
        'users.disabled',
        eb
          .exists(
            eb
              .selectFrom('refresh_tokens')
              .select('refresh_tokens.id')
              .where('refresh_tokens.family_id', '=', options.sessionId)
              .where('refresh_tokens.user_id', '=', options.userId)
              .where('refresh_tokens.revoked_at', 'is', null),
          )
          .as('session_active'),
      ])
      .where('users.id', '=', options.userId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return {
      id: row.id,
      username: row.username,
      role: row.role,
      disabled: row.disabled,
      sessionActive: Boolean(row.session_active),
    };
  }

  /**
   * Takes the transaction-scoped lock that serialises first-start bootstraps, so two instances starting on an
   * empty database create one admin between them. Call inside a transaction.
   */
  async lockBootstrap(): Promise<void> {
    await sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY}::bigint)`.execute(this.#db);
  }

  /** How many users exist. */
  async count(): Promise<number> {
    const row = await this.#db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Creates an account; throws AccountTakenError for a duplicate username or email. */
  async create(account: NewAccount): Promise<User> {
    try {
      return await this.#db
        .insertInto('users')
        .values({
          username: account.username,
          email: account.email,
          password_hash: account.passwordHash,
          role: account.role,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (error) {
      const field = takenField(error);
      if (field !== undefined) throw new AccountTakenError(field);
      throw error;
    }
  }

  /** Users matching the filters, newest first. */
  async list(query: UserQuery): Promise<User[]> {
    let select = this.#db.selectFrom('users').selectAll();
    if (query.role !== undefined) select = select.where('role', '=', query.role);
    if (query.disabled !== undefined) select = select.where('disabled', '=', query.disabled);
    if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId);
    const prefix = query.prefix;
    if (prefix !== undefined) {
      const pattern = likePrefix(prefix);
      select = select.where((eb) =>
        eb.or([
          eb(eb.fn('lower', [eb.ref('username')]), 'like', pattern),
          eb(eb.fn('lower', [eb.ref('email')]), 'like', pattern),
        ]),
      );
    }
    return select.orderBy('id', 'desc').limit(query.limit).execute();
  }

  /**
   * Locks the row of `id` for the rest of the transaction and returns it. Run inside a transaction, before
   * checks that must hold until commit (the last-admin guard).
   */
  async lockById(id: number): Promise<User | undefined> {
    return this.#db.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  /**
   * How many enabled admins other than `exceptId` exist, locking their rows so two concurrent demotions cannot
   * both see the other admin and leave none.
   */
  async countOtherActiveAdmins(exceptId: number): Promise<number> {
    const rows = await this.#db
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .where('disabled', '=', false)
      .where('id', '<>', exceptId)
      .forUpdate()
      .execute();
    return rows.length;
  }

  /** Applies admin changes and returns the updated row; throws AccountTakenError for a taken email. */
  async update(options: { id: number; changes: AccountChanges; at: Date }): Promise<User | undefined> {
    const { role, disabled, email } = options.changes;
    try {
      return await this.#db
        .updateTable('users')
        .set({
          ...(role === undefined ? {} : { role }),
          ...(disabled === undefined ? {} : { disabled }),
          ...(email === undefined ? {} : { email }),
          updated_at: options.at,
        })
        .where('id', '=', options.id)
        .returningAll()
        .executeTakeFirst();
    } catch (error) {
      const field = takenField(error);
      if (field !== undefined) throw new AccountTakenError(field);
      throw error;
    }
  }

  /** Stores a new password hash. */
  async setPasswordHash(options: { id: number; passwordHash: string; at: Date }): Promise<void> {
    await this.#db
      .updateTable('users')
      .set({ password_hash: options.passwordHash, updated_at: options.at })
      .where('id', '=', options.id)
      .execute();
  }

  /** Records a successful login. */
  async recordLogin(options: { id: number; at: Date }): Promise<void> {
    await this.#db
      .updateTable('users')
      .set({ last_login_at: options.at })
      .where('id', '=', options.id)
      .execute();
  }

  /** True when the user has ledger rows (usage or grants), which must never be deleted. */
  async hasLedgerRows(id: number): Promise<boolean> {
    const usage = await this.#db
      .selectFrom('tokens_used')
      .select('id')
      .where('user_id', '=', id)
      .limit(1)
      .executeTakeFirst();
    if (usage !== undefined) return true;
    const grant = await this.#db
      .selectFrom('balance_grants')
      .select('id')
      .where('user_id', '=', id)
      .limit(1)
      .executeTakeFirst();
    return grant !== undefined;
  }

  /** Deletes the user (its sessions and keys cascade). True when a row was deleted. */
  async delete(id: number): Promise<boolean> {
    const result = await this.#db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

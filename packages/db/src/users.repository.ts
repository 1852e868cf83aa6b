// Users and their balances. The pattern for every repository: it takes a Kysely<DB> (a transaction is one
// too, so callers compose repositories inside their own transaction) and is the only place that builds SQL.
import type { Kysely } from 'kysely';
import { isUniqueViolation } from './db-errors.js';
import type { DB, NewUser, User } from './schema.js';

/** Thrown by {@link UsersRepository.create} when the username is taken. */
export class UsernameTakenError extends Error {
  constructor(username: string) {
    super(`Username ${JSON.stringify(username)} is already taken`);
    this.name = 'UsernameTakenError';
  }
}

/** Thrown when a user id does not exist. */
export class UserNotFoundError extends Error {
  constructor(userId: number) {
    super(`User ${userId} does not exist`);
    this.name = 'UserNotFoundError';
  }
}

/** Thrown by {@link UsersRepository.adjustBalance} when a debit would take the balance below zero. */
export class InsufficientBalanceError extends Error {
  /** The balance that was left untouched, in money units. */
  readonly balance: number;
  /** The change that was refused, in money units. */
  readonly delta: number;

  constructor(balance: number, delta: number) {
    super(`Balance ${balance} cannot cover a change of ${delta}`);
    this.name = 'InsufficientBalanceError';
    this.balance = balance;
    this.delta = delta;
  }
}

/** Options of {@link UsersRepository.adjustBalance}. */
export interface AdjustBalanceOptions {
  /** The user whose balance changes. */
  userId: number;
  /** Money units to add (credit, > 0) or remove (debit, < 0); an integer. */
  delta: number;
}

/** Reads and writes `users`. */
export class UsersRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Inserts a user and returns the stored row. Throws UsernameTakenError for a duplicate username. */
  async create(user: NewUser): Promise<User> {
    try {
      return await this.#db.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error, 'users_username_key')) throw new UsernameTakenError(user.username);
      throw error;
    }
  }

  /** The user with this id, or undefined. */
  async findById(id: number): Promise<User | undefined> {
    return this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The user with this username, or undefined. */
  async findByUsername(username: string): Promise<User | undefined> {
    return this.#db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  /**
   * Adds `delta` to the balance atomically and returns the new balance. Refuses (InsufficientBalanceError,
   * nothing changed) when the result would be negative, and throws UserNotFoundError for an unknown user.
   * Runs in the caller's transaction when given one, otherwise in its own.
   */
  async adjustBalance(options: AdjustBalanceOptions): Promise<number> {
    const { userId, delta } = options;
    if (!Number.isSafeInteger(delta))
      throw new RangeError('A balance change must be a safe integer of money units');
    const run = async (db: Kysely<DB>): Promise<number> => {
      // The guard in WHERE makes the check and the write one statement, so concurrent debits cannot both pass.
      const updated = await db
        .updateTable('users')
        .set((eb) => ({ balance: eb('balance', '+', delta) }))
        .where('id', '=', userId)
        .where((eb) => eb(eb('balance', '+', delta), '>=', 0))
        .returning('balance')
        .executeTakeFirst();
      if (updated) return updated.balance;
      const current = await db
        .selectFrom('users')
        .select('balance')
        .where('id', '=', userId)
        .executeTakeFirst();
      if (!current) throw new UserNotFoundError(userId);
      throw new InsufficientBalanceError(current.balance, delta);
    };
    if (this.#db.isTransaction) return run(this.#db);
    return this.#db.transaction().execute(run);
  }
}

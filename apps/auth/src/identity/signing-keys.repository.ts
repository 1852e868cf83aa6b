// SQL of `signing_keys`.
import { isUniqueViolation, type DB, type NewSigningKey, type SigningKey } from '@cyber/db';
import type { Kysely } from 'kysely';

/** Thrown by {@link SigningKeysRepository.insertActive} when another process created the active key first. */
export class ActiveKeyExistsError extends Error {
  constructor() {
    super('Another signing key is already active');
    this.name = 'ActiveKeyExistsError';
  }
}

/** Reads and writes `signing_keys`. */
export class SigningKeysRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** The key that signs now, if any. */
  async findActive(): Promise<SigningKey | undefined> {
    return this.#db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).executeTakeFirst();
  }

  /** Keys whose tokens may still be valid at `now` (the active one and retired ones not yet past not_after). */
  async findVerifiable(now: Date): Promise<SigningKey[]> {
    return this.#db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('not_after', 'is', null), eb('not_after', '>', now)]))
      .orderBy('created_at', 'desc')
      .execute();
  }

  /** Inserts a new active key; throws ActiveKeyExistsError when one is active already. */
  async insertActive(key: NewSigningKey): Promise<void> {
    try {
      await this.#db.insertInto('signing_keys').values(key).execute();
    } catch (error) {
      if (isUniqueViolation(error, 'signing_keys_one_active')) throw new ActiveKeyExistsError();
      throw error;
    }
  }

  /** Retires the active key; its tokens stay verifiable until `notAfter`. */
  async retireActive(options: { at: Date; notAfter: Date }): Promise<void> {
    await this.#db
      .updateTable('signing_keys')
      .set({ retired_at: options.at, not_after: options.notAfter })
      .where('retired_at', 'is', null)
      .execute();
  }
}

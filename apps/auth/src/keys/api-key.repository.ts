// The SQL of API keys, including keeping the original `users.api_key_hash` column meaningful: it holds the
// secret_hash of the user's newest active key (see 0003_auth.sql), rewritten in the same transaction as every
// key create and revoke.
import type { ApiKeyRow, DB, NewApiKey, UserRole } from '@cyber/db';
import { isUniqueViolation } from '@cyber/db';
import { sql, type Kysely } from 'kysely';

/** Thrown by {@link ApiKeyRepository.insert} when the random prefix collides (retry with a new key). */
export class ApiKeyPrefixTakenError extends Error {
  constructor() {
    super('API key prefix already exists');
    this.name = 'ApiKeyPrefixTakenError';
  }
}

/** What resolving a key needs about its owner. */
export interface KeyOwner {
  id: number;
  username: string;
  role: UserRole;
  disabled: boolean;
  balance: number;
}

/** A key row with its owner, read in one query. */
export interface ApiKeyWithOwner {
  key: ApiKeyRow;
  owner: KeyOwner;
}

/** Filters and paging of {@link ApiKeyRepository.list}. */
export interface ApiKeyListQuery {
  /** Only this user's keys; every user's when undefined. */
  userId: number | undefined;
  includeRevoked: boolean;
  /** Keyset cursor: only keys strictly older than this position (creation time in µs, then id). */
  before: { createdMicros: number; id: string } | undefined;
  limit: number;
}

/** A listed key with its creation time in microseconds (the paging key). */
export type ListedApiKey = ApiKeyRow & { created_micros: number };

/** Reads and writes `api_keys` (and `users.api_key_hash`). */
export class ApiKeyRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Inserts a key. */
  async insert(row: NewApiKey): Promise<ApiKeyRow> {
    try {
      return await this.#db.insertInto('api_keys').values(row).returningAll().executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error, 'api_keys_prefix_key')) throw new ApiKeyPrefixTakenError();
      throw error;
    }
  }

  /** A would-be key owner, or undefined. */
  async findOwner(userId: number): Promise<KeyOwner | undefined> {
    return this.#db
      .selectFrom('users')
      .select(['id', 'username', 'role', 'disabled', 'balance'])
      .where('id', '=', userId)
      .executeTakeFirst();
  }

  /** The key with this id, or undefined. */
  async findById(id: string): Promise<ApiKeyRow | undefined> {
    return this.#db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The key with this prefix and its owner (one indexed lookup), or undefined. */
  async findByPrefixWithOwner(prefix: string): Promise<ApiKeyWithOwner | undefined> {
    const row = await this.#db
      .selectFrom('api_keys as k')
      .innerJoin('users as u', 'u.id', 'k.user_id')
      .selectAll('k')
      .select([
        'u.username as owner_username',
        'u.role as owner_role',
        'u.disabled as owner_disabled',
        'u.balance as owner_balance',
      ])
      .where('k.prefix', '=', prefix)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const { owner_username, owner_role, owner_disabled, owner_balance, ...key } = row;
    return {
      key,
      owner: {
        id: key.user_id,
        username: owner_username,
        role: owner_role,
        disabled: owner_disabled,
        balance: owner_balance,
      },
    };
  }

  /**
   * The owner of a legacy key: a user whose `api_key_hash` is this hash while no `api_keys` row has it (so the
   * secret part of a new-format key, presented alone, never passes as a legacy key).
   */
  async findLegacyOwner(hash: string): Promise<KeyOwner | undefined> {
    return this.#db
      .selectFrom('users as u')
      .select(['u.id', 'u.username', 'u.role', 'u.disabled', 'u.balance'])
      .where('u.api_key_hash', '=', hash)
      .where((eb) =>
        eb.not(eb.exists(eb.selectFrom('api_keys as k').select('k.id').where('k.secret_hash', '=', hash))),
      )
      .executeTakeFirst();
  }

  /** Keys newest first, `limit + 1` rows so the caller knows whether another page exists. */
  async list(query: ApiKeyListQuery): Promise<ListedApiKey[]> {
    const micros = sql<number>`(extract(epoch from created_at) * 1000000)::bigint`;
    let select = this.#db.selectFrom('api_keys').selectAll().select(micros.as('created_micros'));
    if (query.userId !== undefined) select = select.where('user_id', '=', query.userId);
    if (!query.includeRevoked) select = select.where('revoked_at', 'is', null);
    const before = query.before;
    if (before !== undefined) {
      select = select.where((eb) =>
        eb.or([
          eb(micros, '<', before.createdMicros),
          eb.and([eb(micros, '=', before.createdMicros), eb('id', '<', before.id)]),
        ]),
      );
    }
    return select
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit + 1)
      .execute();
  }

  /** Marks a key revoked (once; a second call changes nothing) and returns it, or undefined if unknown. */
  async revoke(id: string, at: Date): Promise<ApiKeyRow | undefined> {
    const updated = await this.#db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return updated ?? this.findById(id);
  }

  /** Rewrites `users.api_key_hash` to the hash of the user's newest active key (NULL when none). */
  async syncUserKeyHash(userId: number, now: Date): Promise<void> {
    await this.#db
      .updateTable('users')
      .set((eb) => ({
        api_key_hash: eb
          .selectFrom('api_keys')
          .select('secret_hash')
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .where((w) => w.or([w('expires_at', 'is', null), w('expires_at', '>', now)]))
          .orderBy('created_at', 'desc')
          .limit(1),
      }))
      .where('id', '=', userId)
      .execute();
  }

  /** Sets `last_used_at` unless it was set less than `minIntervalMs` ago (several auth instances may race). */
  async touchLastUsed(id: string, at: Date, minIntervalMs: number): Promise<void> {
    const threshold = new Date(at.getTime() - minIntervalMs);
    await this.#db
      .updateTable('api_keys')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', threshold)]))
      .execute();
  }
}

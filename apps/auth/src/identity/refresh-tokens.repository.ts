// SQL of `refresh_tokens`: issue, rotate (with reuse detection) and revoke, each atomic.
import type { DB, RefreshToken } from '@cyber/db';
import type { Kysely } from 'kysely';

/** A token to store (its hash only). */
export interface RefreshTokenInsert {
  familyId: string;
  userId: number;
  tokenHash: string;
  expiresAt: Date;
}

/** Outcome of {@link RefreshTokensRepository.rotate}. */
export type RotateOutcome =
  /** The token was current: it is retired and `next` stored in its place. */
  | { kind: 'rotated'; previous: RefreshToken }
  /** The token was already rotated: a copy is in someone else's hands, so the whole family is now revoked. */
  | { kind: 'reused'; familyId: string; userId: number }
  /** Unknown, expired or revoked. */
  | { kind: 'invalid' };

/** Reads and writes `refresh_tokens`. */
export class RefreshTokensRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Stores a new token. */
  async insert(token: RefreshTokenInsert): Promise<void> {
    await this.#db
      .insertInto('refresh_tokens')
      .values({
        family_id: token.familyId,
        user_id: token.userId,
        token_hash: token.tokenHash,
        expires_at: token.expiresAt,
      })
      .execute();
  }

  /**
   * Trades the token with `tokenHash` for `next` (same family and user) in one transaction. The row lock makes
   * two concurrent uses of one token serialise: the second sees it rotated and revokes the family.
   */
  async rotate(options: {
    tokenHash: string;
    next: Omit<RefreshTokenInsert, 'familyId' | 'userId'>;
    now: Date;
  }): Promise<RotateOutcome> {
    return this.#db.transaction().execute(async (tx) => {
      const current = await tx
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('token_hash', '=', options.tokenHash)
        .forUpdate()
        .executeTakeFirst();
      if (current === undefined || current.revoked_at !== null) return { kind: 'invalid' };
      if (current.rotated_at !== null) {
        await revokeFamilyIn(tx, { familyId: current.family_id, at: options.now });
        return { kind: 'reused', familyId: current.family_id, userId: current.user_id };
      }
      if (current.expires_at.getTime() <= options.now.getTime()) return { kind: 'invalid' };
      const inserted = await tx
        .insertInto('refresh_tokens')
        .values({
          family_id: current.family_id,
          user_id: current.user_id,
          token_hash: options.next.tokenHash,
          expires_at: options.next.expiresAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await tx
        .updateTable('refresh_tokens')
        .set({ rotated_at: options.now, replaced_by: inserted.id })
        .where('id', '=', current.id)
        .execute();
      return { kind: 'rotated', previous: current };
    });
  }

  /** The token with this hash, or undefined. */
  async findByHash(tokenHash: string): Promise<RefreshToken | undefined> {
    return this.#db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  /** Revokes every live token of a family; true when the family was still active. */
  async revokeFamily(options: { familyId: string; at: Date }): Promise<boolean> {
    return (await revokeFamilyIn(this.#db, options)) > 0;
  }

  /**
   * Revokes every session of a user except `exceptFamilyId`; returns how many sessions (families) it ended.
   */
  async revokeUserSessions(options: {
    userId: number;
    at: Date;
    exceptFamilyId?: string | undefined;
  }): Promise<number> {
    let update = this.#db
      .updateTable('refresh_tokens')
      .set({ revoked_at: options.at })
      .where('user_id', '=', options.userId)
      .where('revoked_at', 'is', null);
    if (options.exceptFamilyId !== undefined)
      update = update.where('family_id', '<>', options.exceptFamilyId);
    const rows = await update.returning('family_id').execute();
    return new Set(rows.map((row) => row.family_id)).size;
  }
}

async function revokeFamilyIn(db: Kysely<DB>, options: { familyId: string; at: Date }): Promise<number> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: options.at })
    .where('family_id', '=', options.familyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

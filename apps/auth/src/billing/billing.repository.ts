// Balances, admin grants and usage aggregates. BIGINT sums are cast back to bigint: PostgreSQL's sum(bigint)
// is NUMERIC, which would arrive as a string.
import type { BalanceGrant, DB } from '@cyber/db';
import { isUniqueViolation } from '@cyber/db';
import { sql, type Kysely } from 'kysely';

/** Thrown by {@link BillingRepository.insertGrant} when the idempotency key was used already. */
export class GrantKeyTakenError extends Error {
  constructor() {
    super('Idempotency key already used');
    this.name = 'GrantKeyTakenError';
  }
}

/** Filters of a usage summary. */
export interface UsageFilter {
  /** First day included (UTC, YYYY-MM-DD). */
  from: string;
  /** Last day included (UTC). */
  to: string;
  userId: number | undefined;
  model: string | undefined;
}

/** Options of {@link BillingRepository.usageSummary}. */
export interface UsageSummaryQuery extends UsageFilter {
  groupBy: readonly ('user' | 'model' | 'day')[];
  offset: number;
  limit: number;
}

/** One aggregated row; the group columns present are those asked for. */
export interface UsageSummaryRow {
  user_id?: number;
  model?: string;
  day?: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
}

/** Reads balances, writes grants, aggregates the ledger. */
export class BillingRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** A user's balance, or undefined for an unknown user. */
  async balanceOf(userId: number): Promise<number | undefined> {
    const row = await this.#db
      .selectFrom('users')
      .select('balance')
      .where('id', '=', userId)
      .executeTakeFirst();
    return row?.balance;
  }

  /** The grant made with this idempotency key, if any. */
  async findGrantByKey(key: string): Promise<BalanceGrant | undefined> {
    return this.#db
      .selectFrom('balance_grants')
      .selectAll()
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
  }

  /** Appends a grant row. */
  async insertGrant(grant: {
    userId: number;
    amount: number;
    balanceAfter: number;
    reason: string;
    actorUserId: number | null;
    idempotencyKey: string | null;
  }): Promise<BalanceGrant> {
    try {
      return await this.#db
        .insertInto('balance_grants')
        .values({
          user_id: grant.userId,
          amount: grant.amount,
          balance_after: grant.balanceAfter,
          reason: grant.reason,
          actor_user_id: grant.actorUserId,
          idempotency_key: grant.idempotencyKey,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error, 'balance_grants_idempotency_key_key')) throw new GrantKeyTakenError();
      throw error;
    }
  }

  /** Aggregated usage rows (`limit + 1` of them, for paging), ordered by the group columns. */
  async usageSummary(query: UsageSummaryQuery): Promise<UsageSummaryRow[]> {
    const dims = new Set(query.groupBy);
    let select = this.#filtered(query).select([
      sql<number>`count(*)::bigint`.as('requests'),
      sql<number>`coalesce(sum(t.prompt_tokens), 0)::bigint`.as('prompt_tokens'),
      sql<number>`coalesce(sum(t.completion_tokens), 0)::bigint`.as('completion_tokens'),
      sql<number>`coalesce(sum(t.cost), 0)::bigint`.as('cost'),
    ]);
    const day = sql<string>`to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD')`;
    if (dims.has('user')) select = select.select('t.user_id').groupBy('t.user_id').orderBy('t.user_id');
    if (dims.has('model')) select = select.select('m.name as model').groupBy('m.name').orderBy('m.name');
    if (dims.has('day')) select = select.select(day.as('day')).groupBy(day).orderBy(day);
    return select
      .offset(query.offset)
      .limit(query.limit + 1)
      .execute();
  }

  /** Totals over the whole filter. */
  async usageTotals(filter: UsageFilter): Promise<Omit<UsageSummaryRow, 'user_id' | 'model' | 'day'>> {
    return this.#filtered(filter)
      .select([
        sql<number>`count(*)::bigint`.as('requests'),
        sql<number>`coalesce(sum(t.prompt_tokens), 0)::bigint`.as('prompt_tokens'),
        sql<number>`coalesce(sum(t.completion_tokens), 0)::bigint`.as('completion_tokens'),
        sql<number>`coalesce(sum(t.cost), 0)::bigint`.as('cost'),
      ])
      .executeTakeFirstOrThrow();
  }

  #filtered(filter: UsageFilter) {
    // Half-open range on created_at so the (user_id, created_at) index serves it.
    let select = this.#db
      .selectFrom('tokens_used as t')
      .innerJoin('models as m', 'm.id', 't.model_id')
      .where('t.created_at', '>=', sql<Date>`${filter.from}::date::timestamp at time zone 'UTC'`)
      .where('t.created_at', '<', sql<Date>`(${filter.to}::date + 1)::timestamp at time zone 'UTC'`);
    if (filter.userId !== undefined) select = select.where('t.user_id', '=', filter.userId);
    if (filter.model !== undefined) select = select.where('m.name', '=', filter.model);
    return select;
  }
}

// The usage sink's SQL: one call books one batch of usage events inside the caller's transaction.
// Set-based statements (unnest of arrays) keep a 1,000-event batch at a handful of round trips.
import type { DB } from '@cyber/db';
import type { InvalidUsageMessage, UsageEvent } from '@cyber/usage-events';
import { sql, type Kysely } from 'kysely';

/** A message to park: one the consumer found failing the usage event schema. */
export type DeadLetter = InvalidUsageMessage;

/** One chunk of one partition, as the consumer hands it over. */
export interface BookingBatch {
  topic: string;
  partition: number;
  /** Valid events in offset order. */
  events: readonly UsageEvent[];
  /** Kafka offset of each event (same index). */
  eventOffsets: readonly string[];
  /** Messages that failed the schema. */
  deadLetters: readonly DeadLetter[];
}

interface PositionedEvent {
  event: UsageEvent;
  offset: string;
}

/** What booking a batch did. */
export interface BookingResult {
  /** New tokens_used rows. */
  inserted: number;
  /** Events already in the ledger (redeliveries), skipped. */
  duplicates: number;
  /** Messages parked as dead letters. */
  parked: number;
  /** Micro-credits debited from balances. */
  debited: number;
  /** Micro-credits of usage the balances could not cover (recorded in usage_shortfalls). */
  shortfall: number;
}

/** Books usage batches. Pass a transaction: the whole batch must commit or roll back together. */
export class UsageLedgerRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /**
   * Inserts the events' tokens_used rows (a redelivered event inserts nothing), debits each user by the costs of
   * the rows actually inserted — down to 0 at most, the rest recorded as a shortfall — and parks dead letters.
   */
  async book(batch: BookingBatch): Promise<BookingResult> {
    const { events } = batch;
    const parked: DeadLetter[] = [...batch.deadLetters];
    const unique = new Map<string, PositionedEvent>();
    events.forEach((event, index) => {
      if (!unique.has(event.eventId)) {
        unique.set(event.eventId, { event, offset: batch.eventOffsets[index] ?? '-1' });
      }
    });
    const bookable = await this.#dropUnknownReferences({ batch, events: [...unique.values()], parked });

    const inserted = bookable.length === 0 ? [] : await this.#insertUsage(bookable);
    const charges = new Map<number, { amount: number; eventIds: string[] }>();
    for (const row of inserted) {
      const charge = charges.get(row.user_id) ?? { amount: 0, eventIds: [] };
      charge.amount += row.cost;
      charge.eventIds.push(row.event_id);
      charges.set(row.user_id, charge);
    }
    const { debited, shortfall } = await this.#debit(charges);
    const parkedCount = await this.#park(parked);
    return {
      inserted: inserted.length,
      // Redeliveries: events the ledger already had, plus repeats within this batch.
      duplicates: events.length - (unique.size - bookable.length) - inserted.length,
      parked: parkedCount,
      debited,
      shortfall,
    };
  }

  /** Moves events naming a user or model that does not exist to the dead letters (a FK failure would stall). */
  async #dropUnknownReferences(input: {
    batch: BookingBatch;
    events: PositionedEvent[];
    parked: DeadLetter[];
  }): Promise<UsageEvent[]> {
    const { batch, parked } = input;
    const events = input.events.map((positioned) => positioned.event);
    if (events.length === 0) return events;
    const userIds = [...new Set(events.map((e) => e.userId))];
    const modelIds = [...new Set(events.map((e) => e.modelId))];
    const [users, models] = await Promise.all([
      this.#db.selectFrom('users').select('id').where('id', 'in', userIds).execute(),
      this.#db.selectFrom('models').select('id').where('id', 'in', modelIds).execute(),
    ]);
    const knownUsers = new Set(users.map((u) => u.id));
    const knownModels = new Set(models.map((m) => m.id));
    return input.events
      .filter(({ event, offset }) => {
        const problem = !knownUsers.has(event.userId)
          ? `unknown user ${event.userId}`
          : !knownModels.has(event.modelId)
            ? `unknown model ${event.modelId}`
            : undefined;
        if (problem === undefined) return true;
        parked.push({
          topic: batch.topic,
          partition: batch.partition,
          offset,
          key: String(event.userId),
          value: JSON.stringify(event),
          error: problem,
        });
        return false;
      })
      .map(({ event }) => event);
  }

  async #insertUsage(events: UsageEvent[]): Promise<{ event_id: string; user_id: number; cost: number }[]> {
    const result = await sql<{ event_id: string; user_id: number; cost: number }>`
      insert into tokens_used (event_id, user_id, model_id, prompt_tokens, completion_tokens, cost, trace_id, created_at)
      select * from unnest(
        ${events.map((e) => e.eventId)}::uuid[],
        ${events.map((e) => e.userId)}::bigint[],
        ${events.map((e) => e.modelId)}::bigint[],
        ${events.map((e) => e.promptTokens)}::integer[],
        ${events.map((e) => e.completionTokens)}::integer[],
        ${events.map((e) => e.cost)}::bigint[],
        ${events.map((e) => e.traceId)}::text[],
        ${events.map((e) => e.occurredAt)}::timestamptz[]
      )
      on conflict (event_id) do nothing
      returning event_id, user_id, cost`.execute(this.#db);
    return result.rows;
  }

  async #debit(
    charges: Map<number, { amount: number; eventIds: string[] }>,
  ): Promise<{ debited: number; shortfall: number }> {
    if (charges.size === 0) return { debited: 0, shortfall: 0 };
    const userIds = [...charges.keys()].sort((a, b) => a - b);
    // Lock in id order so two sinks debiting overlapping users cannot deadlock.
    const balances = await this.#db
      .selectFrom('users')
      .select(['id', 'balance'])
      .where('id', 'in', userIds)
      .orderBy('id')
      .forUpdate()
      .execute();
    const debits: { userId: number; amount: number }[] = [];
    const shortfalls: { userId: number; charged: number; shortfall: number; eventIds: string[] }[] = [];
    let debited = 0;
    let shortfall = 0;
    for (const { id, balance } of balances) {
      const charge = charges.get(id);
      if (charge === undefined) continue;
      const amount = Math.min(balance, charge.amount);
      if (amount > 0) debits.push({ userId: id, amount });
      debited += amount;
      if (charge.amount > amount) {
        shortfalls.push({
          userId: id,
          charged: charge.amount,
          shortfall: charge.amount - amount,
          eventIds: charge.eventIds,
        });
        shortfall += charge.amount - amount;
      }
    }
    if (debits.length > 0) {
      await sql`
        update users set balance = users.balance - d.amount
        from unnest(${debits.map((d) => d.userId)}::bigint[], ${debits.map((d) => d.amount)}::bigint[]) as d(id, amount)
        where users.id = d.id`.execute(this.#db);
    }
    if (shortfalls.length > 0) {
      await this.#db
        .insertInto('usage_shortfalls')
        .values(
          shortfalls.map((s) => ({
            user_id: s.userId,
            charged: s.charged,
            shortfall: s.shortfall,
            event_ids: sql<string[]>`${s.eventIds}::uuid[]`,
          })),
        )
        .execute();
    }
    return { debited, shortfall };
  }

  async #park(letters: DeadLetter[]): Promise<number> {
    if (letters.length === 0) return 0;
    const result = await this.#db
      .insertInto('usage_dead_letters')
      .values(
        letters.map((letter) => ({
          topic: letter.topic,
          partition: letter.partition,
          kafka_offset: Number(letter.offset),
          message_key: letter.key,
          payload: letter.value,
          error: letter.error,
        })),
      )
      .onConflict((oc) => oc.columns(['topic', 'partition', 'kafka_offset']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }
}

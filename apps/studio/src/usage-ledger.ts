// The one query the launcher makes itself: which usage events auth's sink has booked (tokens_used, unique on the
// event id). The outbox asks it before forgetting published events, and shutdown waits on it so no event
// is left unbooked in the in-process bus, which keeps nothing across restarts.
import type { DB } from '@cyber/db';
import type { Kysely } from 'kysely';

/** Read access to the usage ledger. */
export interface UsageLedger {
  /** The subset of `eventIds` with a tokens_used row. */
  booked(eventIds: readonly string[]): Promise<ReadonlySet<string>>;
}

/** The ledger over `db`. */
export function usageLedger(db: Kysely<DB>): UsageLedger {
  return {
    async booked(eventIds) {
      if (eventIds.length === 0) return new Set();
      const rows = await db
        .selectFrom('tokens_used')
        .select('event_id')
        .where('event_id', 'in', eventIds)
        .execute();
      return new Set(rows.map((row) => row.event_id));
    },
  };
}

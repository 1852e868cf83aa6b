import type { DB } from '@cyber/db';
import { sql, type Kysely } from 'kysely';

/** The readiness probe's one query. */
export class HealthRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Resolves once the database answers a trivial query. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }
}

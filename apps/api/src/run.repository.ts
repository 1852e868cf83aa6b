// Sandbox runs: the only file that builds SQL for `runs`. Listings join the caller's access to the project,
// so a run is visible exactly when its project is.
import type { DB, NewRunRow, RunRow, RunRowUpdate } from '@cyber/db';
import type { Kysely } from 'kysely';

/** Keyset position of a page: the last row of the previous page. */
export interface RunPosition {
  createdAt: Date;
  id: string;
}

/** Options of {@link RunRepository.listVisible}. */
export interface ListRunsOptions {
  userId: number;
  projectId?: string | undefined;
  status?: 'running' | 'finished' | undefined;
  limit: number;
  after?: RunPosition | undefined;
}

/** Reads and writes `runs`. */
export class RunRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Records a run as started. */
  async start(run: NewRunRow): Promise<RunRow> {
    return this.#db.insertInto('runs').values(run).returningAll().executeTakeFirstOrThrow();
  }

  /** Records how a run ended. */
  async finish(id: string, outcome: RunRowUpdate): Promise<void> {
    await this.#db
      .updateTable('runs')
      .set({ ...outcome, status: 'finished' })
      .where('id', '=', id)
      .execute();
  }

  /** Deletes the row of a run that never started (the sandbox refused it). */
  async remove(id: string): Promise<void> {
    await this.#db.deleteFrom('runs').where('id', '=', id).execute();
  }

  /** The run with this id, if its project is live and visible to `userId`. */
  async findVisible(id: string, userId: number): Promise<RunRow | undefined> {
    return this.#visibleQuery(userId).where('r.id', '=', id).executeTakeFirst();
  }

  /** Runs in projects `userId` may see, newest first. */
  async listVisible(options: ListRunsOptions): Promise<RunRow[]> {
    let query = this.#visibleQuery(options.userId);
    if (options.projectId !== undefined) query = query.where('r.project_id', '=', options.projectId);
    if (options.status !== undefined) query = query.where('r.status', '=', options.status);
    const after = options.after;
    if (after !== undefined) {
      query = query.where((eb) =>
        eb(eb.refTuple('r.created_at', 'r.id'), '<', eb.tuple(after.createdAt, after.id)),
      );
    }
    return query.orderBy('r.created_at', 'desc').orderBy('r.id', 'desc').limit(options.limit).execute();
  }

  #visibleQuery(userId: number) {
    return this.#db
      .selectFrom('runs as r')
      .innerJoin('projects as p', 'p.id', 'r.project_id')
      .leftJoin('project_members as m', (join) =>
        join.onRef('m.project_id', '=', 'p.id').on('m.user_id', '=', userId),
      )
      .selectAll('r')
      .where('p.deleted_at', 'is', null)
      .where((eb) => eb.or([eb('p.owner_id', '=', userId), eb('m.user_id', 'is not', null)]));
  }
}

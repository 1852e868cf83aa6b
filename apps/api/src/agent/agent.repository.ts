// Agent sessions, turns, events and edits: the only file that builds SQL for the agent_* tables (0012).
import type { AgentEvent } from '@cyber/contract';
import type { DB } from '@cyber/db';
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';

/** An `agent_sessions` row. */
export type AgentSessionRow = Selectable<DB['agent_sessions']>;
/** An `agent_turns` row. */
export type AgentTurnRow = Selectable<DB['agent_turns']>;
/** An `agent_edits` row. */
export type AgentEditRow = Selectable<DB['agent_edits']>;
/** A stored event with the turn it belongs to. */
export interface StoredAgentEvent {
  turnId: string;
  event: AgentEvent;
}

/** Tokens and cost of one model call or a sum of them (micro-credits). */
export interface UsageSum {
  promptTokens: number;
  completionTokens: number;
  cost: number;
}

/** Reads and writes the agent tables. */
export class AgentRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Creates a session. */
  async createSession(session: Insertable<DB['agent_sessions']>): Promise<AgentSessionRow> {
    return this.#db.insertInto('agent_sessions').values(session).returningAll().executeTakeFirstOrThrow();
  }

  /** The caller's session, or undefined (other users' sessions are invisible). */
  async findSession(id: string, userId: number): Promise<AgentSessionRow | undefined> {
    return this.#db
      .selectFrom('agent_sessions')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  /** A page of the user's sessions, most recently updated first. */
  async listSessions(options: {
    userId: number;
    projectId?: string | undefined;
    limit: number;
    after?: { at: Date; id: string } | undefined;
  }): Promise<AgentSessionRow[]> {
    let query = this.#db.selectFrom('agent_sessions').selectAll().where('user_id', '=', options.userId);
    if (options.projectId !== undefined) query = query.where('project_id', '=', options.projectId);
    const after = options.after;
    if (after !== undefined) {
      query = query.where((eb) =>
        eb.or([
          eb('updated_at', '<', after.at),
          eb.and([eb('updated_at', '=', after.at), eb('id', '<', after.id)]),
        ]),
      );
    }
    return query.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
  }

  /** Renames a session or flips auto-apply. */
  async updateSession(
    id: string,
    changes: { title?: string | undefined; autoApply?: boolean | undefined },
  ): Promise<AgentSessionRow> {
    return this.#db
      .updateTable('agent_sessions')
      .set({
        ...(changes.title === undefined ? {} : { title: changes.title }),
        ...(changes.autoApply === undefined ? {} : { auto_apply: changes.autoApply }),
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Deletes a session with its turns, events and edits. */
  async deleteSession(id: string): Promise<void> {
    await this.#db.deleteFrom('agent_sessions').where('id', '=', id).execute();
  }

  /**
   * Marks the session running and records a new turn; returns the turn and the seq its first event gets.
   * One statement pair in a transaction, so a turn never exists without its session claimed.
   */
  async startTurn(sessionId: string, message: string): Promise<{ turn: AgentTurnRow; nextSeq: number }> {
    return this.#db.transaction().execute(async (trx) => {
      const session = await trx
        .updateTable('agent_sessions')
        .set({ status: 'running', turns: sql`turns + 1`, updated_at: new Date() })
        .where('id', '=', sessionId)
        .returning('next_seq')
        .executeTakeFirstOrThrow();
      const turn = await trx
        .insertInto('agent_turns')
        .values({ session_id: sessionId, message })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { turn, nextSeq: Number(session.next_seq) };
    });
  }

  /** Appends events (seqs already assigned, consecutive) and advances the session's next seq past them. */
  async appendEvents(sessionId: string, turnId: string, events: readonly AgentEvent[]): Promise<void> {
    const last = events.at(-1);
    if (last === undefined) return;
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto('agent_events')
        .values(
          events.map((event) => ({
            session_id: sessionId,
            seq: event.seq,
            turn_id: turnId,
            event: JSON.stringify(event),
          })),
        )
        .execute();
      await trx
        .updateTable('agent_sessions')
        .set({ next_seq: last.seq + 1 })
        .where('id', '=', sessionId)
        .execute();
    });
  }

  /** Adds a model call's usage to the turn (kept per call, so a crash mid-turn loses no accounting). */
  async addStepUsage(turnId: string, usage: UsageSum, eventId: string | undefined): Promise<void> {
    await this.#db
      .updateTable('agent_turns')
      .set({
        steps: sql`steps + 1`,
        prompt_tokens: sql`prompt_tokens + ${usage.promptTokens}`,
        completion_tokens: sql`completion_tokens + ${usage.completionTokens}`,
        cost: sql`cost + ${usage.cost}`,
        ...(eventId === undefined
          ? {}
          : { llm_event_ids: sql`array_append(llm_event_ids, ${eventId}::uuid)` }),
      })
      .where('id', '=', turnId)
      .execute();
  }

  /** Closes a turn and adds its usage to the session, which becomes idle. */
  async finishTurn(options: {
    sessionId: string;
    turnId: string;
    finishReason: NonNullable<AgentTurnRow['finish_reason']>;
    answer: string;
    usage: UsageSum;
  }): Promise<void> {
    const { usage } = options;
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .updateTable('agent_turns')
        .set({ finish_reason: options.finishReason, answer: options.answer, finished_at: new Date() })
        .where('id', '=', options.turnId)
        .execute();
      await trx
        .updateTable('agent_sessions')
        .set({
          status: 'idle',
          prompt_tokens: sql`prompt_tokens + ${usage.promptTokens}`,
          completion_tokens: sql`completion_tokens + ${usage.completionTokens}`,
          cost: sql`cost + ${usage.cost}`,
          updated_at: new Date(),
        })
        .where('id', '=', options.sessionId)
        .execute();
    });
  }

  /** Turns of a session, oldest first. */
  async turns(sessionId: string): Promise<AgentTurnRow[]> {
    return this.#db
      .selectFrom('agent_turns')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('started_at')
      .orderBy('id')
      .execute();
  }

  /** Events of a session with seq > afterSeq (and < beforeSeq when given), in order. */
  async events(
    sessionId: string,
    options: { afterSeq?: number; beforeSeq?: number } = {},
  ): Promise<StoredAgentEvent[]> {
    let query = this.#db
      .selectFrom('agent_events')
      .select(['turn_id', 'event'])
      .where('session_id', '=', sessionId)
      .where('seq', '>', options.afterSeq ?? -1);
    if (options.beforeSeq !== undefined) query = query.where('seq', '<', options.beforeSeq);
    const rows = await query.orderBy('seq').execute();
    return rows.map((row) => ({ turnId: row.turn_id, event: row.event as unknown as AgentEvent }));
  }

  /** Records a proposed edit. */
  async addEdit(edit: Insertable<DB['agent_edits']>): Promise<AgentEditRow> {
    return this.#db.insertInto('agent_edits').values(edit).returningAll().executeTakeFirstOrThrow();
  }

  /** Edits of a session, oldest first; only pending ones, and only `ids`, when asked. */
  async edits(
    sessionId: string,
    options: { pendingOnly?: boolean; ids?: readonly string[] | undefined } = {},
  ): Promise<AgentEditRow[]> {
    let query = this.#db.selectFrom('agent_edits').selectAll().where('session_id', '=', sessionId);
    if (options.pendingOnly === true) query = query.where('status', '=', 'pending');
    if (options.ids !== undefined) query = query.where('id', 'in', options.ids);
    return query.orderBy('created_at').orderBy('id').execute();
  }

  /** Records a decision on a pending edit; undefined when it was no longer pending (decided meanwhile). */
  async decideEdit(
    id: string,
    decision: { status: 'applied' | 'rejected' | 'conflict'; decidedBy: number | null },
  ): Promise<AgentEditRow | undefined> {
    return this.#db
      .updateTable('agent_edits')
      .set({ status: decision.status, decided_at: new Date(), decided_by: decision.decidedBy })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
  }

  /** Sets an edit's status after a failed write (conflict), or back to pending (decided_at cleared). */
  async markEdit(id: string, status: 'conflict' | 'pending'): Promise<AgentEditRow> {
    return this.#db
      .updateTable('agent_edits')
      .set(status === 'pending' ? { status, decided_at: null, decided_by: null } : { status })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}

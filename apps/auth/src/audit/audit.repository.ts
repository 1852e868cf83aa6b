// The audit log's SQL. Only INSERT and SELECT: the table refuses UPDATE, DELETE and TRUNCATE (0003_auth.sql).
import type { AuditLogRow, DB, JsonObject, UserRole } from '@cyber/db';
import type { Kysely } from 'kysely';

/** One row to append. */
export interface AuditInsert {
  actorUserId: number | null;
  actorRole: UserRole | null;
  action: string;
  targetType: string;
  targetId: string | null;
  details: JsonObject;
  traceId: string | null;
  ip: string | null;
}

/** Filters and paging of {@link AuditRepository.list}. */
export interface AuditQuery {
  actorUserId?: number | undefined;
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  /** Inclusive lower bound of `created_at`. */
  from?: Date | undefined;
  /** Exclusive upper bound of `created_at`. */
  to?: Date | undefined;
  /** Only rows older (smaller `seq`) than this one: the paging cursor. */
  beforeSeq?: number | undefined;
  limit: number;
}

/** Reads and appends `audit_log` rows. */
export class AuditRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Appends one row and returns it. */
  async insert(entry: AuditInsert): Promise<AuditLogRow> {
    return this.#db
      .insertInto('audit_log')
      .values({
        actor_user_id: entry.actorUserId,
        actor_role: entry.actorRole,
        action: entry.action,
        target_type: entry.targetType,
        target_id: entry.targetId,
        details: JSON.stringify(entry.details),
        trace_id: entry.traceId,
        ip: entry.ip,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Rows matching the filters, newest first, at most `limit`. */
  async list(query: AuditQuery): Promise<AuditLogRow[]> {
    let select = this.#db.selectFrom('audit_log').selectAll();
    if (query.actorUserId !== undefined) select = select.where('actor_user_id', '=', query.actorUserId);
    if (query.action !== undefined) select = select.where('action', '=', query.action);
    if (query.targetType !== undefined) select = select.where('target_type', '=', query.targetType);
    if (query.targetId !== undefined) select = select.where('target_id', '=', query.targetId);
    if (query.from !== undefined) select = select.where('created_at', '>=', query.from);
    if (query.to !== undefined) select = select.where('created_at', '<', query.to);
    if (query.beforeSeq !== undefined) select = select.where('seq', '<', query.beforeSeq);
    return select.orderBy('seq', 'desc').limit(query.limit).execute();
  }
}

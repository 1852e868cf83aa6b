// audit.list: the admin view of the append-only audit log.
import { AuditAction, AuditEntry } from '@cyber/contract';
import type { AuditLogRow, DB } from '@cyber/db';
import type { Kysely } from 'kysely';
import type { AuthHandlers } from '../auth-types.js';
import { decodeCursor, pageFrom } from '../paging.js';
import { AuditRepository } from './audit.repository.js';
import { auditActorOf, recordAudit } from './record-audit.js';

/** The contract's view of an audit row. */
export function toAuditEntry(row: AuditLogRow): AuditEntry {
  return {
    id: row.id,
    at: row.created_at.toISOString(),
    actorId: row.actor_user_id,
    actorRole: row.actor_role,
    // Rows are written only through recordAudit with contract values; parse anyway so a row written by hand
    // (an operator's SQL) cannot break the result validation of a whole page.
    action: AuditAction.parse(row.action),
    targetType: AuditEntry.shape.targetType.parse(row.target_type),
    targetId: row.target_id,
    details: row.details,
    traceId: row.trace_id,
    ip: row.ip,
  };
}

/** Handlers of the `audit.*` family. */
export function auditHandlers(db: Kysely<DB>): AuthHandlers {
  const audit = new AuditRepository(db);
  return {
    'audit.list': async (params) => {
      const rows = await audit.list({
        actorUserId: params.actorId,
        action: params.action,
        targetType: params.targetType,
        targetId: params.targetId,
        from: params.from === undefined ? undefined : new Date(params.from),
        to: params.to === undefined ? undefined : new Date(params.to),
        beforeSeq: decodeCursor(params.cursor),
        limit: params.limit + 1,
      });
      return pageFrom(rows, { limit: params.limit, keyOf: (row) => row.seq, toItem: toAuditEntry });
    },
    // llmserver reports the model actions it performed for the calling admin (whose token it forwards), so
    // the actor is that admin, never a name the caller chooses.
    'audit.record': async (params, ctx) => {
      await recordAudit(db, {
        actor: auditActorOf(ctx),
        action: params.action,
        targetType: 'model',
        targetId: params.targetId,
        details: params.details,
      });
      return { recorded: true as const };
    },
  };
}

// The one way any part of the auth service writes an audit row. Pass the transaction that makes the change,
// so the change and its audit row commit together or not at all.
import type { AuditAction, AuditEntry, Role } from '@cyber/contract';
import type { DB, JsonObject } from '@cyber/db';
import type { RpcContext } from '@cyber/rpc-server';
import type { Kysely } from 'kysely';
import type { AuthIdentity } from '../auth-types.js';
import { requestMetaOf } from '../request-meta.js';
import { AuditRepository } from './audit.repository.js';

/** Who acted and through which request; {@link auditActorOf} builds it from a handler's context. */
export interface AuditActor {
  /** The acting user; null for the system (bootstrap, the usage sink). */
  userId: number | null;
  role: Role | null;
  /** W3C trace id from the request's `traceparent`, when it had one. */
  traceId: string | null;
  /** Client address of the request. */
  ip: string | null;
}

/** The system itself as an actor (start-up bootstrap, background jobs). */
export const SYSTEM_ACTOR: AuditActor = { userId: null, role: null, traceId: null, ip: null };

/** What happened, to whom. */
export interface AuditRecord {
  actor: AuditActor;
  action: AuditAction;
  targetType: AuditEntry['targetType'];
  /** Id or name of the target; numbers are stored as their decimal string. */
  targetId: string | number | null;
  /** Action-specific facts (old and new role, amount and reason…). Never secrets. */
  details?: JsonObject;
}

/** The actor of a request: its authenticated caller, trace id and client address. */
export function auditActorOf(
  ctx: Pick<RpcContext<unknown, AuthIdentity>, 'identity' | 'request'>,
): AuditActor {
  const meta = requestMetaOf(ctx.request);
  return {
    userId: ctx.identity?.id ?? null,
    role: ctx.identity?.role ?? null,
    traceId: meta.traceId,
    ip: meta.ip,
  };
}

/**
 * Appends one audit row. `db` should be the transaction of the change being audited. Exported for every module
 * of the service (users, keys, billing) so all audit rows have one shape.
 */
export async function recordAudit(db: Kysely<DB>, record: AuditRecord): Promise<void> {
  await new AuditRepository(db).insert({
    actorUserId: record.actor.userId,
    actorRole: record.actor.role,
    action: record.action,
    targetType: record.targetType,
    targetId: record.targetId === null ? null : String(record.targetId),
    details: record.details ?? {},
    traceId: record.actor.traceId,
    ip: record.actor.ip,
  });
}

export { auditHandlers, toAuditEntry } from './audit.handlers.js';
export { AuditRepository, type AuditInsert, type AuditQuery } from './audit.repository.js';
export {
  SYSTEM_ACTOR,
  auditActorOf,
  recordAudit,
  type AuditActor,
  type AuditRecord,
} from './record-audit.js';

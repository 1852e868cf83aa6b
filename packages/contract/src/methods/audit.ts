import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { pageOf, pageParams, RoleSchema, Timestamp, TraceId, UserId } from '../schemas/common.js';

/** Every kind of admin action the audit log records. */
export const AuditAction = z
  .enum([
    'user.create',
    'user.update',
    'user.roleChange',
    'user.disable',
    'user.enable',
    'user.delete',
    'key.create',
    'key.revoke',
    'billing.grant',
    'model.register',
    'model.download',
    'model.load',
    'model.unload',
    'model.delete',
  ])
  .describe('What was done.');
/** Audit action type. */
export type AuditAction = z.infer<typeof AuditAction>;

/** One audit row. Rows are append-only: the application never updates or deletes them. */
export const AuditEntry = z.object({
  id: z.uuid(),
  at: Timestamp,
  actorId: UserId.nullable().describe('Who did it; null for the system (e.g. bootstrap).'),
  actorRole: RoleSchema.nullable(),
  action: AuditAction,
  targetType: z.enum(['user', 'key', 'balance', 'model']),
  targetId: z.string().max(128).nullable().describe('Id or name of the target.'),
  details: z
    .record(z.string(), z.unknown())
    .describe('Action-specific facts, e.g. old and new role, amount and reason.'),
  traceId: TraceId.nullable(),
  ip: z.string().max(64).nullable().describe('Client address as the gateway saw it.'),
});
/** Audit entry type. */
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Admin actions that happen in llmserver, which reports them to auth (the owner of the audit log). */
export const ReportedAuditAction = z
  .enum(['model.register', 'model.download', 'model.load', 'model.unload', 'model.delete'])
  .describe('A model action performed by llmserver on behalf of the calling admin.');

/** The audit log (admins only). */
export const auditMethods = {
  'audit.record': defineMethod({
    description:
      'Records an admin action another service performed (llmserver: model actions), with the calling admin as actor.',
    access: 'admin',
    internal: true,
    params: z.strictObject({
      action: ReportedAuditAction,
      targetId: z.string().min(1).max(128).describe('The model’s id or name.'),
      details: z
        .record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean(), z.null()]))
        .refine((details) => Object.keys(details).length <= 32, 'at most 32 details')
        .default({})
        .describe('Flat facts about the action, e.g. bytes downloaded or memory used.'),
    }),
    result: z.object({ recorded: z.literal(true) }),
  }),
  'audit.list': defineMethod({
    description: 'Lists audit rows, newest first, filtered by actor, action, target and time.',
    access: 'admin',
    params: z
      .strictObject({
        ...pageParams,
        actorId: UserId.optional(),
        action: AuditAction.optional(),
        targetType: AuditEntry.shape.targetType.optional(),
        targetId: z.string().min(1).max(128).optional(),
        from: Timestamp.optional().describe('Only rows at or after this instant.'),
        to: Timestamp.optional().describe('Only rows before this instant.'),
      })
      .prefault({}),
    result: pageOf(AuditEntry),
  }),
} as const;

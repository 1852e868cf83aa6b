// Public entry of @cyber/auth: the app factory and what the other modules and services build on.
export { buildApp, type AuthDeps } from './app.js';
export type { AuthHandlers, AuthIdentity, Clock } from './auth-types.js';
export { SYSTEM_ACTOR, auditActorOf, recordAudit, type AuditActor, type AuditRecord } from './audit/index.js';
export {
  FailureLimiter,
  bootstrapAdmin,
  type BootstrapResult,
  type FailureLimiterOptions,
  type LimitSubject,
} from './identity/index.js';
export type { AuthModule, AuthServices } from './services.js';
export {
  createUsageSink,
  type UsageConsumerFactory,
  type UsageSink,
  type UsageSinkOptions,
} from './billing/index.js';

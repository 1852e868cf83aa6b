export {
  RPC_ERROR_CODES,
  RPC_ERROR_MESSAGES,
  RpcError,
  isRpcError,
  toWireError,
  type RpcErrorKey,
  type RpcErrorOptions,
  type ToWireErrorOptions,
  type WireError,
} from './rpc-errors.js';
export {
  ROLES,
  defineMethod,
  roleSatisfies,
  type Access,
  type MethodDef,
  type Role,
  type StreamDef,
} from './define-method.js';
export {
  CANCEL_NOTIFICATION,
  contract,
  isMethodName,
  type Contract,
  type MethodName,
  type Notification,
  type Params,
  type ParamsInput,
  type Result,
  type StreamingMethodName,
} from './contract.js';
export type {
  AnyContract,
  MethodOf,
  NotificationOf,
  ParamsInputOf,
  ParamsOf,
  ResultOf,
  StreamingMethodOf,
} from './contract-types.js';
export { FAMILY_SERVICE, METHOD_FAMILIES, type MethodFamily, type ServiceName } from './contract.js';
export {
  JSON_SCHEMA_DIALECT,
  diffRpcSchemas,
  renderRpcSchemas,
  type RpcIndexEntry,
  type SchemaDrift,
} from './json-schema.js';

// Shared sub-schemas (each also a type of the same name where callers need one).
export {
  Count,
  Cursor,
  DEFAULT_PAGE_SIZE,
  Day,
  Limit,
  MAX_PAGE_SIZE,
  MAX_PATH_LENGTH,
  MICRO_CREDITS_PER_CREDIT,
  MicroCredits,
  ModelId,
  ModelName,
  NoParams,
  ProjectId,
  ProjectPath,
  RoleSchema,
  RunId,
  SessionId,
  Timestamp,
  TraceId,
  Usage,
  UserId,
  Uuid,
  pageOf,
  pageParams,
} from './schemas/common.js';
export {
  ApiKey,
  ApiKeySecret,
  Email,
  NewPassword,
  SessionTokens,
  User,
  Username,
} from './schemas/identity.js';

// Method families and the schemas services share with their clients.
export { systemMethods } from './methods/system.js';
export { authMethods, IntrospectionResult } from './methods/auth.js';
export { usersMethods } from './methods/users.js';
export { keysMethods } from './methods/keys.js';
export { Balance, GrantKind, billingMethods } from './methods/billing.js';
export { UsageGroupBy, UsageRow, usageMethods } from './methods/usage.js';
export { AuditAction, AuditEntry, ReportedAuditAction, auditMethods } from './methods/audit.js';
export { Project, ProjectAccess, ProjectMember, ProjectName, projectMethods } from './methods/project.js';
export {
  ContentEncoding,
  FileVersion,
  FsEntry,
  FsEntryType,
  MAX_WRITE_CONTENT_LENGTH,
  fsMethods,
} from './methods/fs.js';
export {
  OutputStream,
  RunLanguage,
  RunLimits,
  RunOutput,
  RunResult,
  RunSummary,
  RunVerdict,
  runMethods,
} from './methods/run.js';
export {
  ChatMessage,
  FinishReason,
  JsonSchemaObject,
  MAX_COMPLETION_TOKENS,
  MAX_PROMPT_LENGTH,
  ResponseFormat,
  Sampling,
  TokenEvent,
  ToolCall,
  ToolDefinition,
  ToolName,
  llmMethods,
} from './methods/llm.js';
export {
  DownloadProgress,
  LoadedModel,
  MAX_CONTEXT_SIZE,
  Model,
  ModelStatus,
  modelsMethods,
} from './methods/models.js';
export {
  AgentEvent,
  AgentFinishReason,
  AgentSession,
  AgentTool,
  AgentTurn,
  EditProposal,
  EditStatus,
  agentMethods,
} from './methods/agent.js';
export {
  TelemetryPanelReading,
  TelemetryScrape,
  TelemetrySeries,
  TelemetrySnapshot,
  TelemetrySourceKind,
  TelemetrySummary,
  telemetryMethods,
} from './methods/telemetry.js';

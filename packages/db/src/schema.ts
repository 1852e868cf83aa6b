// Kysely types for database/migrations, written by hand to match the SQL. Column names are the SQL's own
// (snake_case); BIGINT columns are numbers (see int8.ts). Each migration that changes the schema updates
// this file in the same commit.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** The three roles, lowest privilege last. */
export const USER_ROLES = ['admin', 'developer', 'viewer'] as const;

/** A user's role. */
export type UserRole = (typeof USER_ROLES)[number];

/** A timestamp the database fills in (`DEFAULT now()`) and never changes afterwards. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

/** A timestamp column the application may write (Date or ISO string in, Date out). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** A UUID primary key the database generates (`DEFAULT gen_random_uuid()`) unless given. */
type UuidId = ColumnType<string, string | undefined, never>;

/** A JSON object stored as JSONB: read back parsed; written as a JSON string (both drivers accept that). */
export type JsonObject = Record<string, unknown>;
type JsonbColumn = ColumnType<JsonObject, string, string>;

/** An id from a BIGSERIAL column: generated on insert, never updated. */
type Id = ColumnType<number, never, never>;

/** `users` (0001). Money in units of 0.000001 credit. */
export interface UsersTable {
  id: Id;
  username: string;
  password_hash: string;
  role: Generated<UserRole>;
  api_key_hash: string | null;
  /** Spendable budget in money units (1 unit = 0.000001 credit); a CHECK keeps it >= 0. */
  balance: Generated<number>;
  created_at: CreatedAt;
  /** Optional email (0003); unique case-insensitively. */
  email: string | null;
  /** A disabled user cannot log in and all its tokens and keys are refused (0003). */
  disabled: Generated<boolean>;
  /** Last successful login (0003). */
  last_login_at: Timestamp | null;
  /** Last change of the account (0003). */
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** `models` (0001, extended by 0011 for llmserver's registry). */
export interface ModelsTable {
  id: Id;
  name: string;
  context_size: number;
  /** Price per token in money units (1 unit = 0.000001 credit). */
  cost_per_token: Generated<number>;
  source_url: string | null;
  created_at: CreatedAt;
  /** Path of the verified GGUF file; NULL until downloaded (0011). */
  file_path: string | null;
  /** File size in bytes: as registered, then as measured (0011). */
  size_bytes: number | null;
  /** sha256 (lowercase hex): expected when registered, verified after download (0011). */
  sha256: string | null;
  /** e.g. Q4_K_M (0011). */
  quantization: string | null;
  /** Parameter count, when known (0011). */
  parameters: number | null;
  /** Life-cycle status (0011); a CHECK holds it to the contract's values. */
  status: Generated<'registered' | 'downloading' | 'ready' | 'loading' | 'loaded' | 'failed'>;
  /** Why the last download or load failed (0011). */
  error: string | null;
  /** Last change of the row (0011). */
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** `tokens_used` (0001): the usage ledger; rows are only ever inserted. */
export interface TokensUsedTable {
  id: Id;
  /** The usage event's id (UUID); unique, so a redelivered event inserts nothing. */
  event_id: string;
  user_id: number;
  model_id: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Charge in money units (1 unit = 0.000001 credit). */
  cost: number;
  trace_id: string | null;
  created_at: CreatedAt;
}

/** Signature algorithms a signing key may use. */
export const SIGNING_ALGORITHMS = ['EdDSA', 'ES256'] as const;
/** A signing key's algorithm. */
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** `signing_keys` (0003): keys that sign access JWTs; at most one has `retired_at` NULL. */
export interface SigningKeysTable {
  kid: string;
  alg: SigningAlgorithm;
  /** Public JWK (no private members). */
  public_jwk: JsonbColumn;
  /** PKCS#8 PEM, stored unencrypted (see 0003_auth.sql). A secret. */
  private_key_pem: string;
  created_at: CreatedAt;
  /** When a newer key took over signing; NULL for the active key. */
  retired_at: Timestamp | null;
  /** When its last token expires; it leaves the JWKS afterwards. */
  not_after: Timestamp | null;
}

/** `refresh_tokens` (0003): every refresh token issued, hashed; rotation links them into families. */
export interface RefreshTokensTable {
  id: UuidId;
  family_id: string;
  user_id: number;
  /** sha256 (base64url) of the token. */
  token_hash: string;
  expires_at: Timestamp;
  rotated_at: Timestamp | null;
  replaced_by: string | null;
  revoked_at: Timestamp | null;
  created_at: CreatedAt;
}

/** `api_keys` (0003): API keys for scripts; only the secret's hash is stored. */
export interface ApiKeysTable {
  id: UuidId;
  user_id: number;
  label: string;
  /** Public leading part of the key, unique. */
  prefix: string;
  secret_hash: string;
  /** Most privileged role the key acts with; NULL means the owner's role. */
  role_cap: UserRole | null;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  created_at: CreatedAt;
}

/** `audit_log` (0003): append-only; the database refuses UPDATE, DELETE and TRUNCATE. */
export interface AuditLogTable {
  id: UuidId;
  /** Insertion order (identity column), the paging cursor. */
  seq: ColumnType<number, never, never>;
  actor_user_id: number | null;
  actor_role: UserRole | null;
  action: string;
  target_type: string;
  target_id: string | null;
  details: ColumnType<JsonObject, string | undefined, never>;
  trace_id: string | null;
  ip: string | null;
  created_at: CreatedAt;
}

/** `balance_grants` (0003): admin credits and debits, part of the ledger (never deleted). */
export interface BalanceGrantsTable {
  id: UuidId;
  user_id: number;
  /** Signed change in money units (1 unit = 0.000001 credit); never 0. */
  amount: number;
  /** users.balance right after the grant. */
  balance_after: number;
  reason: string;
  actor_user_id: number | null;
  idempotency_key: string | null;
  created_at: CreatedAt;
}

/** `schema_migrations`: written only by the migrator. */
export interface SchemaMigrationsTable {
  name: string;
  checksum: string;
  applied_at: CreatedAt;
}

/** Access a member has to a project (0010); the owner is `projects.owner_id`, never a member row. */
export type ProjectMemberAccess = 'write' | 'read';

/** `projects` (0010): metadata of a project; its files live on disk under the data directory. */
export interface ProjectsTable {
  id: UuidId;
  owner_id: number;
  name: string;
  description: Generated<string>;
  /** Bytes the files took when last measured. */
  size_bytes: Generated<number>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Set on delete; deleted rows are invisible to every method. */
  deleted_at: Timestamp | null;
}

/** `project_members` (0010): users a project is shared with. */
export interface ProjectMembersTable {
  project_id: string;
  user_id: number;
  access: ProjectMemberAccess;
  added_at: CreatedAt;
}

/** `runs` (0010): one row per sandbox run, completed when it ends. */
export interface RunsTable {
  id: UuidId;
  project_id: string;
  user_id: number;
  language: 'node' | 'python' | 'shell';
  entry: string | null;
  /** argv as JSONB (written as a JSON string, read back as an array). */
  command: ColumnType<string[] | null, string | null, string | null>;
  status: Generated<'running' | 'finished'>;
  verdict: 'ok' | 'error' | 'timeout' | 'memory' | 'output_limit' | 'cancelled' | null;
  exit_code: number | null;
  signal: string | null;
  wall_ms: number | null;
  cpu_ms: number | null;
  peak_memory_bytes: number | null;
  stdout_bytes: number | null;
  stderr_bytes: number | null;
  stdout_truncated: Generated<boolean>;
  stderr_truncated: Generated<boolean>;
  created_at: CreatedAt;
  finished_at: Timestamp | null;
}

/** `usage_shortfalls` (0004): usage the balance could not cover; rows are only ever inserted. */
export interface UsageShortfallsTable {
  id: Id;
  user_id: number;
  /** Sum of the costs of the batch's new tokens_used rows for this user (money units). */
  charged: number;
  /** Part of `charged` not debited because the balance reached 0 (money units). */
  shortfall: number;
  event_ids: string[];
  created_at: CreatedAt;
}

/** `usage_dead_letters` (0004): llm.usage messages parked instead of booked. */
export interface UsageDeadLettersTable {
  id: Id;
  topic: string;
  partition: number;
  kafka_offset: number;
  message_key: string | null;
  payload: string | null;
  error: string;
  created_at: CreatedAt;
}

/** `agent_sessions` (0012): a chat with the coding agent, bound to a project. Money in micro-credits. */
export interface AgentSessionsTable {
  id: UuidId;
  project_id: string;
  user_id: number;
  title: string;
  model: string;
  auto_apply: Generated<boolean>;
  status: Generated<'idle' | 'running'>;
  turns: Generated<number>;
  /** Seq the next event of the session gets. */
  next_seq: Generated<number>;
  prompt_tokens: Generated<number>;
  completion_tokens: Generated<number>;
  cost: Generated<number>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Why an agent turn ended (0012). */
export type AgentFinishReasonColumn = 'answered' | 'stepLimit' | 'cancelled' | 'budgetExceeded' | 'error';

/** `agent_turns` (0012): one user message and what the agent did for it. */
export interface AgentTurnsTable {
  id: UuidId;
  session_id: string;
  message: string;
  finish_reason: AgentFinishReasonColumn | null;
  answer: string | null;
  steps: Generated<number>;
  prompt_tokens: Generated<number>;
  completion_tokens: Generated<number>;
  cost: Generated<number>;
  /** Usage event ids of the turn's model calls (tokens_used.event_id). */
  llm_event_ids: Generated<string[]>;
  started_at: CreatedAt;
  finished_at: Timestamp | null;
}

/** `agent_events` (0012): every streamed AgentEvent, by per-session seq. */
export interface AgentEventsTable {
  session_id: string;
  seq: number;
  turn_id: string;
  event: JsonbColumn;
  created_at: CreatedAt;
}

/** `agent_edits` (0012): edits the agent proposed, until decided. */
export interface AgentEditsTable {
  id: UuidId;
  session_id: string;
  turn_id: string;
  path: string;
  operation: 'create' | 'replaceRange' | 'searchReplace' | 'delete';
  diff: string;
  base_version: string | null;
  /** Whole new content; null for delete. */
  new_content: string | null;
  status: Generated<'pending' | 'applied' | 'rejected' | 'conflict'>;
  created_at: CreatedAt;
  decided_at: Timestamp | null;
  decided_by: number | null;
}

/** The whole schema, for `Kysely<DB>`. */
export interface DB {
  users: UsersTable;
  models: ModelsTable;
  tokens_used: TokensUsedTable;
  signing_keys: SigningKeysTable;
  refresh_tokens: RefreshTokensTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  balance_grants: BalanceGrantsTable;
  usage_shortfalls: UsageShortfallsTable;
  usage_dead_letters: UsageDeadLettersTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  runs: RunsTable;
  agent_sessions: AgentSessionsTable;
  agent_turns: AgentTurnsTable;
  agent_events: AgentEventsTable;
  agent_edits: AgentEditsTable;
  schema_migrations: SchemaMigrationsTable;
}

/** A `users` row as read. */
export type User = Selectable<UsersTable>;
/** Columns accepted when inserting a user. */
export type NewUser = Insertable<UsersTable>;
/** Columns accepted when updating a user. */
export type UserUpdate = Updateable<UsersTable>;
/** A `models` row as read. */
export type Model = Selectable<ModelsTable>;
/** Columns accepted when inserting a model. */
export type NewModel = Insertable<ModelsTable>;
/** A `tokens_used` row as read. */
export type TokensUsed = Selectable<TokensUsedTable>;
/** Columns accepted when inserting a usage row. */
export type NewTokensUsed = Insertable<TokensUsedTable>;
/** A `signing_keys` row as read. */
export type SigningKey = Selectable<SigningKeysTable>;
/** Columns accepted when inserting a signing key. */
export type NewSigningKey = Insertable<SigningKeysTable>;
/** A `refresh_tokens` row as read. */
export type RefreshToken = Selectable<RefreshTokensTable>;
/** Columns accepted when inserting a refresh token. */
export type NewRefreshToken = Insertable<RefreshTokensTable>;
/** An `api_keys` row as read. */
export type ApiKeyRow = Selectable<ApiKeysTable>;
/** Columns accepted when inserting an API key. */
export type NewApiKey = Insertable<ApiKeysTable>;
/** Columns accepted when updating an API key. */
export type ApiKeyUpdate = Updateable<ApiKeysTable>;
/** An `audit_log` row as read. */
export type AuditLogRow = Selectable<AuditLogTable>;
/** Columns accepted when inserting an audit row (the only write the table allows). */
export type NewAuditLogRow = Insertable<AuditLogTable>;
/** A `balance_grants` row as read. */
export type BalanceGrant = Selectable<BalanceGrantsTable>;
/** Columns accepted when inserting a balance grant. */
export type NewBalanceGrant = Insertable<BalanceGrantsTable>;
/** A `projects` row as read. */
export type ProjectRow = Selectable<ProjectsTable>;
/** Columns accepted when inserting a project. */
export type NewProjectRow = Insertable<ProjectsTable>;
/** A `project_members` row as read. */
export type ProjectMemberRow = Selectable<ProjectMembersTable>;
/** A `runs` row as read. */
export type RunRow = Selectable<RunsTable>;
/** Columns accepted when inserting a run. */
export type NewRunRow = Insertable<RunsTable>;
/** Columns accepted when completing a run. */
export type RunRowUpdate = Updateable<RunsTable>;

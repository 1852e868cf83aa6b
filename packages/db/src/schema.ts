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
}

/** `models` (0001). */
export interface ModelsTable {
  id: Id;
  name: string;
  context_size: number;
  /** Price per token in money units (1 unit = 0.000001 credit). */
  cost_per_token: Generated<number>;
  source_url: string | null;
  created_at: CreatedAt;
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

/** `schema_migrations`: written only by the migrator. */
export interface SchemaMigrationsTable {
  name: string;
  checksum: string;
  applied_at: CreatedAt;
}

/** The whole schema, for `Kysely<DB>`. */
export interface DB {
  users: UsersTable;
  models: ModelsTable;
  tokens_used: TokensUsedTable;
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

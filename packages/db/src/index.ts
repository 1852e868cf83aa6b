export {
  createDatabase,
  wrapPglite,
  type Database,
  type DatabaseOptions,
  type PgDatabaseOptions,
  type PgliteDatabaseOptions,
} from './database.js';
export { isCheckViolation, isUniqueViolation } from './db-errors.js';
export { INT8_OID, Int8RangeError, parseInt8 } from './int8.js';
export {
  DEFAULT_MIGRATIONS_DIR,
  MigrationError,
  migrate,
  migrationChecksum,
  readMigrationFiles,
  type MigrateOptions,
  type MigrateResult,
  type MigrationFile,
} from './migrator.js';
export { PgliteDialect, type PgliteDialectOptions } from './pglite-dialect.js';
export {
  USER_ROLES,
  type DB,
  type Model,
  type ModelsTable,
  type NewModel,
  type NewTokensUsed,
  type NewUser,
  type SchemaMigrationsTable,
  type TokensUsed,
  type TokensUsedTable,
  type User,
  type UserRole,
  type UserUpdate,
  type UsersTable,
} from './schema.js';
export {
  InsufficientBalanceError,
  UserNotFoundError,
  UsernameTakenError,
  UsersRepository,
  type AdjustBalanceOptions,
} from './users.repository.js';

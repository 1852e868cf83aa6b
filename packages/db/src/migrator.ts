// The one migration runner, used by the services at start-up, by tests and by CI. It applies
// database/migrations/NNNN_name.sql in order, each in its own transaction together with its record in
// schema_migrations, and refuses to run when history and files disagree: landed migrations are never edited.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.js';

/** `database/migrations` of this repository, found relative to this file (src/ and dist/ alike). */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../database/migrations/', import.meta.url),
);

// Key of the session-level advisory lock that serialises migrators; any constant unlikely to clash ("cyberdb").
const MIGRATION_LOCK_KEY = 0x6379626572646200n;

const FILE_PATTERN = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** Thrown when the migrations on disk and the history in the database disagree, or a file is misnamed. */
export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** A migration file read from disk. */
export interface MigrationFile {
  /** File name, e.g. `0001_original_schema.sql`; also the name recorded in schema_migrations. */
  name: string;
  /** The SQL. */
  sql: string;
  /** sha256 of the SQL with line endings normalised to LF, hex. */
  checksum: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Names applied by this call, in order. */
  applied: string[];
  /** How many were already applied before this call. */
  alreadyApplied: number;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Directory of the `NNNN_name.sql` files; {@link DEFAULT_MIGRATIONS_DIR} when absent. */
  migrationsDir?: string;
}

/** sha256 hex of a migration's SQL; CRLF is normalised so a Windows checkout does not read as an edit. */
export function migrationChecksum(text: string): string {
  return createHash('sha256').update(text.replaceAll('\r\n', '\n')).digest('hex');
}

/** Reads and orders the migration files of a directory; throws MigrationError on a misnamed or duplicate file. */
export async function readMigrationFiles(
  migrationsDir: string = DEFAULT_MIGRATIONS_DIR,
): Promise<MigrationFile[]> {
  const names = (await readdir(migrationsDir)).filter((name) => name.endsWith('.sql')).sort();
  const seenNumbers = new Map<string, string>();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const match = FILE_PATTERN.exec(name);
    if (!match?.[1]) {
      throw new MigrationError(`Migration file ${name} is not named NNNN_lowercase_words.sql`);
    }
    const other = seenNumbers.get(match[1]);
    if (other !== undefined)
      throw new MigrationError(`Migrations ${other} and ${name} share the number ${match[1]}`);
    seenNumbers.set(match[1], name);
    const text = await readFile(`${migrationsDir}/${name}`, 'utf8');
    files.push({ name, sql: text, checksum: migrationChecksum(text) });
  }
  return files;
}

/**
 * Applies every pending migration. Safe to call from several processes at once: a PostgreSQL advisory lock
 * held on one connection serialises them, and the loser finds nothing left to do. Throws MigrationError,
 * before applying anything, when an applied migration's file changed, disappeared, or a new file sorts
 * before one already applied.
 */
export async function migrate(db: Kysely<DB>, options: MigrateOptions = {}): Promise<MigrateResult> {
  const files = await readMigrationFiles(options.migrationsDir);
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.execute(connection);
    try {
      return await applyPending(connection, files);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.execute(connection);
    }
  });
}

async function applyPending(db: Kysely<DB>, files: readonly MigrationFile[]): Promise<MigrateResult> {
  // Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL.
  await sql`
    create table if not exists schema_migrations (
      name       text primary key,
      checksum   text not null,
      applied_at timestamptz not null default now()
    )`.execute(db);
  const history = await db
    .selectFrom('schema_migrations')
    .select(['name', 'checksum'])
    .orderBy('name')
    .execute();
  const byName = new Map(files.map((file) => [file.name, file]));
  for (const row of history) {
    const file = byName.get(row.name);
    if (file === undefined) {
      throw new MigrationError(
        `Migration ${row.name} is applied in this database but missing from the migrations directory`,
      );
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationError(
        `Migration ${row.name} changed after it was applied; landed migrations must not be edited — add a new one`,
      );
    }
  }
  const appliedNames = new Set(history.map((row) => row.name));
  const pending = files.filter((file) => !appliedNames.has(file.name));
  const lastApplied = history.at(-1)?.name;
  const outOfOrder = pending.find((file) => lastApplied !== undefined && file.name < lastApplied);
  if (outOfOrder !== undefined) {
    throw new MigrationError(
      `Migration ${outOfOrder.name} sorts before the already applied ${lastApplied ?? ''}; renumber it after the last one`,
    );
  }
  for (const file of pending) {
    await db.transaction().execute(async (trx) => {
      await sql.raw(file.sql).execute(trx);
      await trx
        .insertInto('schema_migrations')
        .values({ name: file.name, checksum: file.checksum })
        .execute();
    });
  }
  return { applied: pending.map((file) => file.name), alreadyApplied: history.length };
}

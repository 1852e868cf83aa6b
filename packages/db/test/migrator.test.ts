// The migrator on PostgreSQL and PGlite. One throwaway database per driver, emptied before each test
// (dropping the public schema is instant; a new PGlite database per test would cost seconds each).
import { appendFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MIGRATIONS_DIR,
  MigrationError,
  createDatabase,
  migrate,
  migrationChecksum,
  readMigrationFiles,
} from '../src/index.js';
import type { TestDatabase } from '../src/testing.js';
import { DRIVERS, openTestDatabase } from './drivers.js';

const realFiles = await readMigrationFiles();
const realNames = realFiles.map((file) => file.name);

let scratchDirs: string[] = [];

/** A copy of the real migrations that a test may edit. */
async function scratchMigrations(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cyber-migrations-'));
  scratchDirs.push(dir);
  await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

async function tableExists(database: TestDatabase, table: string): Promise<boolean> {
  const { rows } = await sql<{ found: string | null }>`select to_regclass(${table})::text as found`.execute(
    database.db,
  );
  return rows[0]?.found != null;
}

afterEach(async () => {
  await Promise.all(scratchDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  scratchDirs = [];
});

describe.each(DRIVERS)('migrator on %s', (driver) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await openTestDatabase(driver, { migrated: false });
  });

  beforeEach(async () => {
    await sql`drop schema public cascade; create schema public`.execute(database.db);
  });

  afterAll(async () => {
    await database?.close();
  });

  it('applies every migration from empty, in order, and records each with its checksum', async () => {
    expect(realNames.slice(0, 2)).toEqual(['0001_original_schema.sql', '0002_enable_pgml.sql']);
    const result = await migrate(database.db);
    expect(result).toEqual({ applied: realNames, alreadyApplied: 0 });
    const history = await database.db
      .selectFrom('schema_migrations')
      .select(['name', 'checksum'])
      .orderBy('name')
      .execute();
    expect(history).toEqual(
      realFiles.map((file) => ({ name: file.name, checksum: migrationChecksum(file.sql) })),
    );
    expect(history[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    for (const table of ['users', 'models', 'tokens_used'])
      expect(await tableExists(database, table)).toBe(true);
  });

  it('does nothing when run again', async () => {
    await migrate(database.db);
    expect(await migrate(database.db)).toEqual({ applied: [], alreadyApplied: realNames.length });
    const { count } = await database.db
      .selectFrom('schema_migrations')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    expect(count).toBe(realNames.length);
  });

  it('refuses to run when an applied migration file changed, applying nothing new', async () => {
    const dir = await scratchMigrations();
    await migrate(database.db, { migrationsDir: dir });
    await appendFile(join(dir, '0001_original_schema.sql'), '\n-- an innocent-looking edit\n');
    await writeFile(join(dir, '9001_later.sql'), 'create table later (id int);');
    const error = await migrate(database.db, { migrationsDir: dir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/0001_original_schema\.sql changed after it was applied/);
    expect(await tableExists(database, 'later')).toBe(false);
  });

  it('ignores a change of line endings only', async () => {
    const dir = await scratchMigrations();
    await migrate(database.db, { migrationsDir: dir });
    const first = realFiles[0];
    if (!first) throw new Error('no migrations');
    await writeFile(join(dir, first.name), first.sql.replaceAll('\n', '\r\n'));
    expect(await migrate(database.db, { migrationsDir: dir })).toEqual({
      applied: [],
      alreadyApplied: realNames.length,
    });
  });

  it('refuses to run when an applied migration file disappeared', async () => {
    const dir = await scratchMigrations();
    await writeFile(join(dir, '9001_later.sql'), 'create table later (id int);');
    await migrate(database.db, { migrationsDir: dir });
    await rm(join(dir, '9001_later.sql'));
    await expect(migrate(database.db, { migrationsDir: dir })).rejects.toThrow(
      /9001_later\.sql is applied in this database but missing/,
    );
  });

  it('refuses a new migration numbered before one already applied', async () => {
    const dir = await scratchMigrations();
    await writeFile(join(dir, '9002_second.sql'), 'create table second (id int);');
    await migrate(database.db, { migrationsDir: dir });
    await writeFile(join(dir, '9001_first.sql'), 'create table first (id int);');
    await expect(migrate(database.db, { migrationsDir: dir })).rejects.toThrow(
      /9001_first\.sql sorts before the already applied 9002_second\.sql/,
    );
    expect(await tableExists(database, 'first')).toBe(false);
  });

  it('rolls a failing migration back completely and applies it once fixed', async () => {
    const dir = await scratchMigrations();
    const broken = join(dir, '9001_broken.sql');
    await writeFile(broken, 'create table half_done (id int);\nselect 1 / 0;');
    await expect(migrate(database.db, { migrationsDir: dir })).rejects.toThrow(/division by zero/);
    expect(await tableExists(database, 'half_done')).toBe(false);
    expect(await tableExists(database, 'users')).toBe(true);
    await writeFile(broken, 'create table half_done (id int);');
    expect(await migrate(database.db, { migrationsDir: dir })).toEqual({
      applied: ['9001_broken.sql'],
      alreadyApplied: realNames.length,
    });
  });

  it('refuses a misnamed migration file before touching the database', async () => {
    const dir = await scratchMigrations();
    await writeFile(join(dir, '12_Bad Name.sql'), 'select 1;');
    await expect(migrate(database.db, { migrationsDir: dir })).rejects.toThrow(
      /12_Bad Name\.sql is not named/,
    );
    expect(await tableExists(database, 'schema_migrations')).toBe(false);
  });

  it('enables nothing on a server without PostgresML: the pgml guard is a no-op', async () => {
    const { rows: available } = await sql<{ name: string }>`
      select name from pg_available_extensions where name = 'pgml'`.execute(database.db);
    // This server lacks pgml, so the guard must take its do-nothing branch and still succeed.
    expect(available).toEqual([]);
    await migrate(database.db);
    const { rows: installed } = await sql<{ extname: string }>`
      select extname from pg_extension where extname = 'pgml'`.execute(database.db);
    expect(installed).toEqual([]);
    expect(await database.db.selectFrom('schema_migrations').select('name').execute()).toContainEqual({
      name: '0002_enable_pgml.sql',
    });
  });
});

describe('migrator on pg with several processes', () => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await openTestDatabase('pg', { migrated: false });
  });

  afterEach(async () => {
    await database?.close();
  });

  it('applies each migration exactly once when migrators start at the same time', async () => {
    const url = database.url;
    if (url === undefined) throw new Error('a pg test database has a url');
    // Separate pools stand for separate service processes starting together.
    const processes = await Promise.all(
      Array.from({ length: 4 }, () => createDatabase({ driver: 'pg', url, poolSize: 2 })),
    );
    try {
      const results = await Promise.all(processes.map((process) => migrate(process.db)));
      expect(results.flatMap((result) => result.applied).sort()).toEqual(realNames);
      expect(results.filter((result) => result.applied.length > 0)).toHaveLength(1);
      const history = await database.db.selectFrom('schema_migrations').select('name').execute();
      expect(history).toHaveLength(realNames.length);
    } finally {
      await Promise.all(processes.map((process) => process.close()));
    }
  });
});

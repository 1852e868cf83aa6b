// Throwaway databases for tests (entry `@cyber/db/testing`). PostgreSQL: a fresh database per call, created
// with the CYBER_DATABASE_URL role (it has CREATEDB) and dropped on close. PGlite: initdb costs 10-15 s, so
// the migrated data directory is dumped once per migration set to a tarball (cached in the OS temp dir,
// shared by every test worker and later runs), and each call loads it into a new in-memory PGlite, about
// 1.3-2 s. That measured faster here than PGlite's clone() (1.8-2.8 s) and than copying a data directory and
// opening it (1-5 s, disk-bound), and unlike an in-process clone source it survives vitest's per-file isolation.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createDatabase, wrapPglite, type Database } from './database.js';
import { DEFAULT_MIGRATIONS_DIR, migrate, migrationChecksum, readMigrationFiles } from './migrator.js';

/** Options of {@link createTestDatabase}. */
export interface TestDatabaseOptions {
  /** Which driver to test. */
  driver: 'pg' | 'pglite';
  /**
   * For `pg`: a URL whose role may CREATE DATABASE, normally `process.env.CYBER_DATABASE_URL` as written by
   * `scripts/infra.sh up`. Missing is an error, never a skip: a PostgreSQL test that silently does not run
   * proves nothing.
   */
  adminUrl?: string | undefined;
  /** Apply the migrations (default true); false gives an empty database for migrator tests. */
  migrated?: boolean;
  /** Migrations to apply; the repository's database/migrations when absent. */
  migrationsDir?: string;
}

/** A throwaway database. `close()` removes it. */
export interface TestDatabase extends Database {
  /** For `pg`: the URL of this database (another pool may connect to it); undefined for PGlite. */
  url: string | undefined;
}

/** Creates a throwaway database for one test file (or test). Always `close()` it in afterAll/afterEach. */
export async function createTestDatabase(options: TestDatabaseOptions): Promise<TestDatabase> {
  const migrated = options.migrated ?? true;
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  if (options.driver === 'pg')
    return createPgTestDatabase({ adminUrl: options.adminUrl, migrated, migrationsDir });
  return createPgliteTestDatabase({ migrated, migrationsDir });
}

async function createPgTestDatabase(options: {
  adminUrl: string | undefined;
  migrated: boolean;
  migrationsDir: string;
}): Promise<TestDatabase> {
  if (!options.adminUrl) {
    throw new Error(
      'CYBER_DATABASE_URL is not set: PostgreSQL tests need a server. Run `scripts/infra.sh up` (it writes .infra/env, which vitest loads).',
    );
  }
  const name = `cyber_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdminClient(options.adminUrl, (client) => client.query(`create database "${name}"`));
  const url = new URL(options.adminUrl);
  url.pathname = `/${name}`;
  const database = await createDatabase({ driver: 'pg', url: url.toString(), poolSize: 5 });
  try {
    if (options.migrated) await migrate(database.db, { migrationsDir: options.migrationsDir });
  } catch (error) {
    await database.close();
    await dropPgDatabase(options.adminUrl, name);
    throw error;
  }
  const adminUrl = options.adminUrl;
  let closing: Promise<void> | undefined;
  return {
    ...database,
    url: url.toString(),
    close: () =>
      (closing ??= (async () => {
        await database.close();
        await dropPgDatabase(adminUrl, name);
      })()),
  };
}

async function dropPgDatabase(adminUrl: string, name: string): Promise<void> {
  // FORCE ends sessions a failed test left open (PostgreSQL 13+). It refuses (42501) while a process of another
  // role works in the database, e.g. an autovacuum worker that the application role may not signal; those end
  // on their own within moments, so try again a few times.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await withAdminClient(adminUrl, (client) =>
        client.query(`drop database if exists "${name}" with (force)`),
      );
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== '42501' || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

async function withAdminClient<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const TEMPLATE_ROOT = join(tmpdir(), 'cyber-pglite-templates');

// Bump when the template format or the PGlite version changes, so stale cached templates are not reused.
const PGLITE_TEMPLATE_VERSION = 'pglite-0.5.16-v2';

// Templates already read by this process, by path; a test file that opens several databases reads once.
const templateBlobs = new Map<string, Promise<Blob>>();

async function createPgliteTestDatabase(options: {
  migrated: boolean;
  migrationsDir: string;
}): Promise<TestDatabase> {
  const template = await pgliteTemplate(options);
  let blob = templateBlobs.get(template);
  if (blob === undefined) {
    blob = readFile(template).then((bytes) => new Blob([bytes]));
    templateBlobs.set(template, blob);
  }
  // In memory: nothing to clean up on disk, and no copy of thousands of small files.
  const database = wrapPglite(await PGlite.create({ loadDataDir: await blob }));
  return { ...database, url: undefined };
}

async function pgliteTemplate(options: { migrated: boolean; migrationsDir: string }): Promise<string> {
  // The empty template depends only on PGlite (initdb); the migrated one also on the migrations' content.
  const empty = await buildTemplateOnce(`empty-${PGLITE_TEMPLATE_VERSION}.tar`, async () => {
    const pglite = await PGlite.create();
    try {
      return await pglite.dumpDataDir('none');
    } finally {
      await pglite.close();
    }
  });
  if (!options.migrated) return empty;
  const files = await readMigrationFiles(options.migrationsDir);
  const key = migrationChecksum(files.map((file) => `${file.name}:${file.checksum}`).join('\n')).slice(0, 16);
  return buildTemplateOnce(`migrated-${PGLITE_TEMPLATE_VERSION}-${key}.tar`, async () => {
    const pglite = await PGlite.create({ loadDataDir: new Blob([await readFile(empty)]) });
    const database = wrapPglite(pglite);
    try {
      await migrate(database.db, { migrationsDir: options.migrationsDir });
      return await pglite.dumpDataDir('none');
    } finally {
      await database.close();
    }
  });
}

const LOCK_STALE_MS = 120_000;

/**
 * Writes the data directory tarball `TEMPLATE_ROOT/<name>` once across processes: a mkdir lock, so parallel
 * test workers do not each pay for initdb, then write aside and rename so no reader sees half a file.
 */
async function buildTemplateOnce(name: string, build: () => Promise<Blob>): Promise<string> {
  const target = join(TEMPLATE_ROOT, name);
  const lock = `${target}.lock`;
  await mkdir(TEMPLATE_ROOT, { recursive: true });
  for (;;) {
    if (await exists(target)) return target;
    try {
      await mkdir(lock);
    } catch {
      // Another worker is building it; wait, unless its lock is old enough that the builder must have died.
      const age = await lockAge(lock);
      if (age !== undefined && age > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
      await sleep(200);
      continue;
    }
    try {
      if (await exists(target)) return target;
      const partial = `${target}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        await writeFile(partial, new Uint8Array(await (await build()).arrayBuffer()));
        await rename(partial, target);
      } finally {
        await rm(partial, { force: true });
      }
      return target;
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function lockAge(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

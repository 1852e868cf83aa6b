// The one place that opens database connections. Services pass their parsed config; tests use testing.ts.
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { INT8_OID, parseInt8 } from './int8.js';
import { PgliteDialect } from './pglite-dialect.js';
import type { DB } from './schema.js';

/** PostgreSQL server over node-postgres. */
export interface PgDatabaseOptions {
  driver: 'pg';
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Most pooled connections; 10 when absent. */
  poolSize?: number;
  /** Called when an idle pooled connection fails (e.g. the server restarted); the pool drops it either way. */
  onIdleError?: (error: Error) => void;
}

/** Embedded PGlite, on disk or in memory. */
export type PgliteDatabaseOptions =
  | {
      driver: 'pglite';
      /** Directory of the data files; created and initialised (initdb, about 10 s) when empty. */
      dataDir: string;
    }
  | {
      driver: 'pglite';
      /** A throwaway in-memory database. */
      memory: true;
    };

/** What {@link createDatabase} accepts; `@cyber/config`'s `DatabaseConfig` fits. */
export type DatabaseOptions = PgDatabaseOptions | PgliteDatabaseOptions;

/** An open database. */
export interface Database {
  /** The query builder; hand it to repositories only. */
  db: Kysely<DB>;
  /** Which driver is underneath. */
  driver: 'pg' | 'pglite';
  /** Closes every connection (or PGlite itself). Call once, from the app's onClose. */
  close(): Promise<void>;
}

// Per-pool type parsers rather than pg.types.setTypeParser, which would change every pool in the process.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8_OID && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

/** Opens a database with the given driver. Nothing connects before the first query on `pg`. */
export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  switch (options.driver) {
    case 'pg': {
      const pool = new pg.Pool({
        connectionString: options.url,
        max: options.poolSize ?? 10,
        types: pgTypes,
      });
      // Without a listener an idle connection's error would crash the process.
      pool.on('error', (error) => options.onIdleError?.(error));
      return fromKysely(new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }), 'pg');
    }
    case 'pglite': {
      let pglite: PGlite;
      if ('memory' in options) {
        pglite = await PGlite.create();
      } else {
        await mkdir(options.dataDir, { recursive: true });
        pglite = await PGlite.create({ dataDir: options.dataDir });
      }
      return wrapPglite(pglite);
    }
  }
}

/** Wraps an open PGlite instance, taking ownership: closing the Database closes it. */
export function wrapPglite(pglite: PGlite): Database {
  return fromKysely(
    new Kysely<DB>({ dialect: new PgliteDialect({ pglite, closeOnDestroy: true }) }),
    'pglite',
  );
}

function fromKysely(db: Kysely<DB>, driver: Database['driver']): Database {
  let closing: Promise<void> | undefined;
  return {
    db,
    driver,
    close: () => (closing ??= db.destroy()),
  };
}

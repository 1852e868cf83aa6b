// A Kysely dialect for PGlite (embedded PostgreSQL in WebAssembly). kysely-pglite-dialect pins PGlite <= 0.4,
// and PGlite's own node-postgres adapter dropped its connection after a failed query in a trial here, so this
// small dialect talks to PGlite's query API directly and reuses Kysely's PostgreSQL adapter, compiler and
// introspector: the SQL Kysely generates is identical for both drivers.
import type { PGlite, Results } from '@electric-sql/pglite';
import {
  AbortedTransactionError,
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { INT8_OID, parseInt8 } from './int8.js';

const QUERY_OPTIONS = { parsers: { [INT8_OID]: parseInt8 } };

/** Options of {@link PgliteDialect}. */
export interface PgliteDialectOptions {
  /** The PGlite instance to use. */
  pglite: PGlite;
  /** Whether destroying the Kysely instance also closes PGlite (true when the caller hands it over). */
  closeOnDestroy: boolean;
}

/** Kysely dialect over one PGlite instance. */
export class PgliteDialect implements Dialect {
  readonly #options: PgliteDialectOptions;

  constructor(options: PgliteDialectOptions) {
    this.#options = options;
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PgliteDriver(this.#options);
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}

// PGlite is a single PostgreSQL session. Kysely holds a connection for a whole transaction, so one mutex
// around the connection keeps another query from landing inside someone else's transaction.
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  async lock(): Promise<() => void> {
    const previous = this.#tail;
    let release: () => void = () => undefined;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    return release;
  }
}

class PgliteDriver implements Driver {
  readonly #options: PgliteDialectOptions;
  readonly #connection: PgliteConnection;
  readonly #mutex = new Mutex();
  #release: (() => void) | undefined;

  constructor(options: PgliteDialectOptions) {
    this.#options = options;
    this.#connection = new PgliteConnection(options.pglite);
  }

  async init(): Promise<void> {
    await this.#options.pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.#release = await this.#mutex.lock();
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
    return Promise.resolve();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = 'begin';
    if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) statement += ` ${settings.accessMode}`;
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const { rows } = await connection.executeQuery<{ command?: string }>(CompiledQuery.raw('commit'));
    // COMMIT of a transaction that already failed answers ROLLBACK; Kysely's pg driver raises here too.
    if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`));
  }

  async destroy(): Promise<void> {
    if (this.#options.closeOnDestroy && !this.#options.pglite.closed) await this.#options.pglite.close();
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const COMMANDS_WITH_ROW_COUNT = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

class PgliteConnection implements DatabaseConnection {
  readonly #pglite: PGlite;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#run<R>(compiledQuery);
    const command = result.command?.toUpperCase();
    if (command === 'COMMIT' || command === 'ROLLBACK') return { rows: [{ command } as R] };
    return {
      rows: result.rows,
      numAffectedRows:
        command !== undefined && COMMANDS_WITH_ROW_COUNT.has(command)
          ? BigInt(result.rowCount ?? result.affectedRows ?? 0)
          : undefined,
    };
  }

  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    // Kysely's pg dialect streams only with pg-cursor configured, which this project does not; refusing here
    // too keeps code that works on one driver working on the other.
    const refusal = new Error(
      'Streaming queries are not supported; page with limit/offset or keyset pagination',
    );
    const iterator: AsyncIterableIterator<QueryResult<R>> = {
      next: () => Promise.reject(refusal),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  async #run<R>(compiledQuery: CompiledQuery): Promise<Results<R>> {
    if (compiledQuery.parameters.length > 0) {
      return this.#pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters], QUERY_OPTIONS);
    }
    // Without parameters use the simple protocol, as node-postgres does: it accepts several statements in one
    // string, which migrations need. The last statement's result is the query's result.
    const results = await this.#pglite.exec(compiledQuery.sql, QUERY_OPTIONS);
    return (results.at(-1) ?? { rows: [], fields: [] }) as Results<R>;
  }
}

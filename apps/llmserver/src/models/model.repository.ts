// The model registry: the only file that builds SQL for `models`. Rows are mapped to camelCase records here, so
// handlers, the downloader and the inference layer never see column names.
import { RpcError, type Model, type ModelStatus } from '@cyber/contract';
import { isUniqueViolation, type DB, type Model as ModelRow } from '@cyber/db';
import type { Kysely } from 'kysely';

/** A registry row as llmserver uses it: the contract's Model plus where its file is. */
export interface ModelRecord {
  id: number;
  name: string;
  /** Context window in tokens (the most a load may ask for). */
  contextSize: number;
  /** Micro-credits per prompt or completion token. */
  costPerToken: number;
  sourceUrl: string | null;
  /** Path of the verified GGUF file; null until downloaded. */
  filePath: string | null;
  sizeBytes: number | null;
  /** Expected sha256 until downloaded, verified sha256 afterwards. */
  sha256: string | null;
  quantization: string | null;
  parameters: number | null;
  status: ModelStatus;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What `models.register` stores. */
export interface NewModelRecord {
  name: string;
  sourceUrl: string;
  contextSize: number;
  costPerToken: number;
  sha256?: string | undefined;
  sizeBytes?: number | undefined;
  quantization?: string | undefined;
  parameters?: number | undefined;
}

/** Options of {@link ModelRepository.list}. */
export interface ListModelsOptions {
  /** Rows to return (ask for one more than the page to know whether another follows). */
  limit: number;
  /** Only rows with an id greater than this (the cursor of the previous page). */
  afterId?: number | undefined;
  status?: ModelStatus | undefined;
}

/** A verified file, recorded when a download completes. */
export interface DownloadedFile {
  filePath: string;
  sizeBytes: number;
  sha256: string;
}

/** The errors column holds at most this many characters (CHECK models_error_length). */
const MAX_ERROR_LENGTH = 1000;

/** SQLSTATE of a foreign key violation: a `tokens_used` row still references the model. */
const FOREIGN_KEY_VIOLATION = '23503';

function toRecord(row: ModelRow): ModelRecord {
  return {
    id: row.id,
    name: row.name,
    contextSize: row.context_size,
    costPerToken: row.cost_per_token,
    sourceUrl: row.source_url,
    filePath: row.file_path,
    sizeBytes: row.size_bytes,
    sha256: row.sha256,
    quantization: row.quantization,
    parameters: row.parameters,
    status: row.status,
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The contract's view of a registry record. */
export function toModel(record: ModelRecord): Model {
  return {
    id: record.id,
    name: record.name,
    contextSize: record.contextSize,
    costPerToken: record.costPerToken,
    sourceUrl: record.sourceUrl,
    sizeBytes: record.sizeBytes,
    sha256: record.sha256,
    quantization: record.quantization,
    parameters: record.parameters,
    status: record.status,
    error: record.error,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

function clip(error: string | null): string | null {
  return error === null || error.length <= MAX_ERROR_LENGTH
    ? error
    : `${error.slice(0, MAX_ERROR_LENGTH - 1)}…`;
}

function isForeignKeyViolation(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && 'code' in error && error.code === FOREIGN_KEY_VIOLATION
  );
}

/** Reads and writes `models`. */
export class ModelRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /**
   * Adds a model with status `registered`.
   * @throws RpcError `conflict` when the name is taken.
   */
  async register(model: NewModelRecord): Promise<ModelRecord> {
    try {
      const row = await this.#db
        .insertInto('models')
        .values({
          name: model.name,
          source_url: model.sourceUrl,
          context_size: model.contextSize,
          cost_per_token: model.costPerToken,
          sha256: model.sha256 ?? null,
          size_bytes: model.sizeBytes ?? null,
          quantization: model.quantization ?? null,
          parameters: model.parameters ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new RpcError('conflict', {
          message: `A model named ${model.name} is already registered`,
          data: { name: model.name },
          cause: error,
        });
      }
      throw error;
    }
  }

  /** The model named `name`, or undefined. The inference layer resolves models through this. */
  async byName(name: string): Promise<ModelRecord | undefined> {
    const row = await this.#db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
    return row === undefined ? undefined : toRecord(row);
  }

  /** Models in registration order (id ascending), optionally of one status. */
  async list(options: ListModelsOptions): Promise<ModelRecord[]> {
    let query = this.#db.selectFrom('models').selectAll().orderBy('id').limit(options.limit);
    if (options.afterId !== undefined) query = query.where('id', '>', options.afterId);
    if (options.status !== undefined) query = query.where('status', '=', options.status);
    return (await query.execute()).map(toRecord);
  }

  /** Sets the status (and the error: null clears it). Returns the updated record, undefined when missing. */
  async setStatus(
    name: string,
    status: ModelStatus,
    error: string | null = null,
  ): Promise<ModelRecord | undefined> {
    const row = await this.#db
      .updateTable('models')
      .set({ status, error: clip(error), updated_at: new Date() })
      .where('name', '=', name)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toRecord(row);
  }

  /** Records a verified download: status `ready`, the file, its size and sha256, no error. */
  async markDownloaded(name: string, file: DownloadedFile): Promise<ModelRecord> {
    const row = await this.#db
      .updateTable('models')
      .set({
        status: 'ready',
        error: null,
        file_path: file.filePath,
        size_bytes: file.sizeBytes,
        sha256: file.sha256,
        updated_at: new Date(),
      })
      .where('name', '=', name)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw new RpcError('not_found', { message: `Model ${name} is not registered` });
    return toRecord(row);
  }

  /**
   * Turns rows a stopped process left `downloading` into `registered` (the partial file stays and the next
   * download resumes it) and rows left `loading` or `loaded` into `ready` (a new process has nothing loaded).
   * Returns how many rows of each kind changed.
   */
  async resetAfterRestart(): Promise<{ downloads: number; loads: number }> {
    const now = new Date();
    const downloads = await this.#db
      .updateTable('models')
      .set({
        status: 'registered',
        error: 'Download interrupted by a restart; models.download resumes it',
        updated_at: now,
      })
      .where('status', '=', 'downloading')
      .executeTakeFirst();
    const loads = await this.#db
      .updateTable('models')
      .set({ status: 'ready', updated_at: now })
      .where('status', 'in', ['loading', 'loaded'])
      .executeTakeFirst();
    return { downloads: Number(downloads.numUpdatedRows), loads: Number(loads.numUpdatedRows) };
  }

  /**
   * Removes a model from the registry, unless usage rows reference it: then the row stays (the ledger keeps its
   * model) with status `registered` and no file. Returns whether the row went, undefined when it did not exist.
   */
  async delete(name: string): Promise<{ removedFromRegistry: boolean } | undefined> {
    try {
      const deleted = await this.#db.deleteFrom('models').where('name', '=', name).executeTakeFirst();
      return deleted.numDeletedRows > 0n ? { removedFromRegistry: true } : undefined;
    } catch (error) {
      // The foreign key of tokens_used decides, so a usage row inserted concurrently is never orphaned.
      if (!isForeignKeyViolation(error)) throw error;
    }
    const kept = await this.#db
      .updateTable('models')
      .set({ status: 'registered', file_path: null, error: null, updated_at: new Date() })
      .where('name', '=', name)
      .executeTakeFirst();
    return kept.numUpdatedRows > 0n ? { removedFromRegistry: false } : undefined;
  }
}

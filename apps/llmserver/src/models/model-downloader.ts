// Downloads of registered models from their source URL into `<modelsDir>/<name>.gguf`. The bytes go to
// `<name>.gguf.part` first and stay there across a broken connection, a cancel or a restart; the next download
// asks for the rest with `Range: bytes=N-`. The existing partial is hashed before the request so the final
// sha256 covers the whole file, not just the bytes of the last attempt. Only a verified file is renamed into
// place (atomically), so a `ready` model always has a complete, checked file.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { RpcError, isRpcError, type DownloadProgress } from '@cyber/contract';
import { modelFilePaths } from './model-files.js';
import type { ModelRecord, ModelRepository } from './model.repository.js';
import type { ModelsLogger } from './models-logger.js';

/** Options of {@link ModelDownloader}. */
export interface ModelDownloaderOptions {
  repository: ModelRepository;
  /** Directory of the model files; created when missing. */
  modelsDir: string;
  logger: ModelsLogger;
  /** Monotonic milliseconds (default `performance.now`); progress throttling and speed use it. */
  clock?: () => number;
  /** Bytes free for new files in a directory (default: `fs.statfs`, blocks available to this user). */
  freeDiskBytes?: (dir: string) => Promise<number>;
  /** Least time between two progress notifications (default 250 ms). */
  progressIntervalMs?: number;
}

/** Options of {@link ModelDownloader.download}. */
export interface DownloadOptions {
  name: string;
  /** Cancels the download (the partial file is kept); the caller's request signal. */
  signal?: AbortSignal;
  /** Receives progress at most every `progressIntervalMs`, plus a final one; awaited (backpressure). */
  onProgress?: (progress: DownloadProgress) => void | Promise<void>;
}

/** What a completed download produced. */
export interface DownloadOutcome {
  /** The registry record, now `ready`. */
  model: ModelRecord;
  sizeBytes: number;
  sha256: string;
  /** Bytes kept from an earlier attempt (0 when it started from scratch). */
  resumedFromBytes: number;
  wallMs: number;
}

interface ActiveDownload {
  controller: AbortController;
  progress: DownloadProgress;
}

/** How long a window the speed is measured over. */
const SPEED_WINDOW_MS = 2000;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Bytes available to unprivileged users on the file system of `dir`. */
export async function statfsFreeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/**
 * Startup recovery: rows a crashed process left `downloading` become `registered` (their partial file stays,
 * so the next download resumes) and rows left `loading`/`loaded` become `ready` (a new process has nothing
 * loaded). Call once before serving.
 */
export async function recoverInterruptedDownloads(
  repository: ModelRepository,
): Promise<{ downloads: number; loads: number }> {
  return repository.resetAfterRestart();
}

/** Size of a file, 0 when it does not exist. */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (isNodeError(error, 'ENOENT')) return 0;
    throw error;
  }
}

function isNodeError(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

/** Feeds the first `length` bytes of `path` into `hash`. */
async function hashPrefix(options: {
  path: string;
  length: number;
  hash: Hash;
  signal: AbortSignal;
}): Promise<void> {
  const stream = createReadStream(options.path, {
    start: 0,
    end: options.length - 1,
    signal: options.signal,
  });
  for await (const chunk of stream) options.hash.update(chunk as Buffer);
}

/** Start offset of a `Content-Range: bytes START-END/TOTAL` header. */
function contentRangeStart(header: string | null): number | undefined {
  const match = header === null ? null : /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim());
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Total of a `Content-Range: bytes *\/TOTAL` header (a 416 answer). */
function unsatisfiedRangeTotal(header: string | null): number | undefined {
  const match = header === null ? null : /^bytes \*\/(\d+)$/.exec(header.trim());
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function contentLengthOf(response: Response): number | undefined {
  const header = response.headers.get('content-length');
  if (header === null || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

/** Errors that mean the source is wrong (not transient): the model is marked `failed`. */
const FATAL_REASONS = new Set([
  'sha256_mismatch',
  'size_mismatch',
  'source_http_status',
  'source_scheme',
  'redirect_scheme',
  'too_many_redirects',
]);

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs model downloads, at most one per model at a time, and reports the ones in progress. One instance per
 * process (the handlers create one unless given one).
 */
export class ModelDownloader {
  readonly #repository: ModelRepository;
  readonly #modelsDir: string;
  readonly #logger: ModelsLogger;
  readonly #clock: () => number;
  readonly #freeDiskBytes: (dir: string) => Promise<number>;
  readonly #progressIntervalMs: number;
  readonly #active = new Map<string, ActiveDownload>();

  constructor(options: ModelDownloaderOptions) {
    this.#repository = options.repository;
    this.#modelsDir = options.modelsDir;
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => performance.now());
    this.#freeDiskBytes = options.freeDiskBytes ?? statfsFreeBytes;
    this.#progressIntervalMs = options.progressIntervalMs ?? 250;
  }

  /** Whether model `name` is downloading in this process. */
  isActive(name: string): boolean {
    return this.#active.has(name);
  }

  /** The latest progress of every download in progress. */
  progress(): DownloadProgress[] {
    return [...this.#active.values()].map((active) => ({ ...active.progress }));
  }

  /** Stops the download of `name` (its call ends with `cancelled`); false when none runs. */
  cancel(name: string): boolean {
    const active = this.#active.get(name);
    if (active === undefined) return false;
    active.controller.abort(new RpcError('cancelled', { message: `Download of ${name} cancelled` }));
    return true;
  }

  /**
   * Downloads model `name` from its source URL, resuming a partial file, and verifies it.
   * @throws RpcError `not_found`; `conflict` (already downloading, or already downloaded);
   * `precondition_failed` (no source URL, not enough disk: data requiredBytes/availableBytes, sha256
   * mismatch: data expected/actual, HTTP error of the source, redirect to another scheme);
   * `service_unavailable` (source unreachable or connection broken: data receivedBytes; the partial is kept);
   * `cancelled` (the signal or {@link cancel}; the partial is kept).
   */
  async download(options: DownloadOptions): Promise<DownloadOutcome> {
    const { name } = options;
    if (this.#active.has(name)) {
      throw new RpcError('conflict', { message: `Model ${name} is already downloading`, data: { name } });
    }
    const controller = new AbortController();
    const active: ActiveDownload = {
      controller,
      progress: {
        model: name,
        phase: 'downloading',
        receivedBytes: 0,
        totalBytes: null,
        bytesPerSecond: 0,
        resumedFromBytes: 0,
      },
    };
    // Taken before the first await, so two concurrent calls cannot both pass the check above.
    this.#active.set(name, active);
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    try {
      const record = await this.#repository.byName(name);
      if (record === undefined) {
        throw new RpcError('not_found', { message: `Model ${name} is not registered`, data: { name } });
      }
      if (record.status === 'ready' || record.status === 'loading' || record.status === 'loaded') {
        throw new RpcError('conflict', {
          message: `Model ${name} is already downloaded (status ${record.status}); delete it first to download again`,
          data: { name, status: record.status },
        });
      }
      if (record.sourceUrl === null) {
        throw new RpcError('precondition_failed', {
          message: `Model ${name} has no source URL`,
          data: { name, reason: 'no_source_url' },
        });
      }
      const paths = modelFilePaths(this.#modelsDir, name);
      await mkdir(this.#modelsDir, { recursive: true });
      await this.#repository.setStatus(name, 'downloading');
      try {
        return await this.#transfer({ record, sourceUrl: record.sourceUrl, paths, signal, active, options });
      } catch (error) {
        throw await this.#settleFailure({ name, error, signal });
      }
    } finally {
      this.#active.delete(name);
    }
  }

  /** Puts the row in the state a failed attempt leaves and returns the error the caller gets. */
  async #settleFailure(args: { name: string; error: unknown; signal: AbortSignal }): Promise<unknown> {
    const { name, signal } = args;
    let error = args.error;
    if (signal.aborted && !isRpcError(error, 'cancelled')) {
      error = new RpcError('cancelled', { message: `Download of ${name} cancelled`, cause: error });
    }
    const reason = isRpcError(error) ? error.data?.['reason'] : undefined;
    if (isRpcError(error, 'cancelled')) {
      await this.#repository.setStatus(name, 'registered');
    } else if (typeof reason === 'string' && FATAL_REASONS.has(reason)) {
      await this.#repository.setStatus(name, 'failed', errorMessage(error));
    } else {
      // Transient (connection, disk space, source down): the partial stays and the next download resumes.
      await this.#repository.setStatus(name, 'registered', errorMessage(error));
    }
    this.#logger.warn({ model: name, err: error }, 'models: download did not complete');
    return error;
  }

  async #transfer(args: {
    record: ModelRecord;
    sourceUrl: string;
    paths: { final: string; partial: string };
    signal: AbortSignal;
    active: ActiveDownload;
    options: DownloadOptions;
  }): Promise<DownloadOutcome> {
    const { record, sourceUrl, paths, signal, active, options } = args;
    const startedAt = this.#clock();
    let resumedFrom = await sizeOf(paths.partial);
    let hash = createHash('sha256');
    if (resumedFrom > 0) await hashPrefix({ path: paths.partial, length: resumedFrom, hash, signal });

    let response = await this.#request({ url: sourceUrl, from: resumedFrom, signal });
    let complete = false;
    if (resumedFrom > 0) {
      const restart = async (): Promise<void> => {
        await response.body?.cancel().catch(() => undefined);
        resumedFrom = 0;
        hash = createHash('sha256');
        response = await this.#request({ url: sourceUrl, from: 0, signal });
      };
      if (response.status === 206) {
        // A server that answers another range than asked would corrupt the file: start over instead.
        if (contentRangeStart(response.headers.get('content-range')) !== resumedFrom) await restart();
      } else if (response.status === 416) {
        // Nothing left to send: the partial is complete, unless the server says the file has another size.
        const total = unsatisfiedRangeTotal(response.headers.get('content-range'));
        if (total === undefined || total === resumedFrom) {
          await response.body?.cancel().catch(() => undefined);
          complete = true;
        } else {
          await restart();
        }
      } else if (response.ok) {
        // 200: the server ignored the Range header and sends the whole file.
        resumedFrom = 0;
        hash = createHash('sha256');
      }
    }
    if (!complete && response.status !== 200 && !(resumedFrom > 0 && response.status === 206)) {
      await response.body?.cancel().catch(() => undefined);
      throw this.#httpError(record.name, response.status, resumedFrom);
    }

    let received = resumedFrom;
    const contentLength = complete ? 0 : contentLengthOf(response);
    const registeredRest =
      record.sizeBytes === null ? undefined : Math.max(0, record.sizeBytes - resumedFrom);
    const remaining = contentLength ?? registeredRest;
    const totalBytes = complete ? resumedFrom : remaining === undefined ? null : resumedFrom + remaining;
    active.progress = {
      ...active.progress,
      totalBytes,
      receivedBytes: received,
      resumedFromBytes: resumedFrom,
    };

    if (!complete) {
      if (remaining !== undefined && remaining > 0) {
        const availableBytes = await this.#freeDiskBytes(this.#modelsDir);
        if (remaining > availableBytes) {
          await response.body?.cancel().catch(() => undefined);
          throw new RpcError('precondition_failed', {
            message: `Model ${record.name} needs ${remaining} more bytes but only ${availableBytes} are free in the models directory`,
            data: {
              name: record.name,
              reason: 'insufficient_disk',
              requiredBytes: remaining,
              availableBytes,
            },
          });
        }
      }
      received = await this.#receive({
        response,
        path: paths.partial,
        append: resumedFrom > 0,
        hash,
        received,
        contentLength,
        signal,
        active,
        options,
      });
    }

    active.progress = { ...active.progress, phase: 'verifying', receivedBytes: received, bytesPerSecond: 0 };
    await options.onProgress?.({ ...active.progress });
    const sha256 = hash.digest('hex');
    if (record.sha256 !== null && sha256 !== record.sha256) {
      await rm(paths.partial, { force: true });
      throw new RpcError('precondition_failed', {
        message: `Model ${record.name}: the downloaded file's sha256 is ${sha256}, expected ${record.sha256}; the file was removed`,
        data: { name: record.name, reason: 'sha256_mismatch', expected: record.sha256, actual: sha256 },
      });
    }
    if (record.sha256 === null && record.sizeBytes !== null && received !== record.sizeBytes) {
      await rm(paths.partial, { force: true });
      throw new RpcError('precondition_failed', {
        message: `Model ${record.name}: downloaded ${received} bytes, expected ${record.sizeBytes}; the file was removed`,
        data: { name: record.name, reason: 'size_mismatch', expected: record.sizeBytes, actual: received },
      });
    }
    await rename(paths.partial, paths.final);
    const model = await this.#repository.markDownloaded(record.name, {
      filePath: paths.final,
      sizeBytes: received,
      sha256,
    });
    const wallMs = Math.round(this.#clock() - startedAt);
    this.#logger.info(
      { model: record.name, sizeBytes: received, resumedFromBytes: resumedFrom, wallMs },
      'models: download verified',
    );
    return { model, sizeBytes: received, sha256, resumedFromBytes: resumedFrom, wallMs };
  }

  /** Streams the body into the partial file, hashing and reporting progress. Returns the file's size. */
  async #receive(args: {
    response: Response;
    path: string;
    append: boolean;
    hash: Hash;
    received: number;
    contentLength: number | undefined;
    signal: AbortSignal;
    active: ActiveDownload;
    options: DownloadOptions;
  }): Promise<number> {
    const { response, hash, contentLength, signal, active, options } = args;
    const name = options.name;
    const startBytes = args.received;
    let received = args.received;
    const samples: { at: number; bytes: number }[] = [{ at: this.#clock(), bytes: received }];
    let lastEmit = this.#clock();
    const speed = (now: number): number => {
      while (samples.length > 1 && now - (samples[0]?.at ?? now) > SPEED_WINDOW_MS) samples.shift();
      const first = samples[0];
      if (first === undefined || now - first.at <= 0) return 0;
      return Math.max(0, Math.round(((received - first.bytes) * 1000) / (now - first.at)));
    };
    const interrupted = (cause?: unknown): RpcError =>
      new RpcError('service_unavailable', {
        message: `The download of ${name} broke off after ${received} bytes; the partial file is kept and the next models.download resumes it`,
        data: { name, reason: 'connection_broken', receivedBytes: received },
        cause,
      });

    const handle: FileHandle = await open(args.path, args.append ? 'a' : 'w');
    const reader = response.body?.getReader();
    let done = reader === undefined;
    try {
      while (!done && reader !== undefined) {
        const chunk = await reader.read().catch((error: unknown) => {
          if (signal.aborted) throw signal.reason instanceof RpcError ? signal.reason : error;
          throw interrupted(error);
        });
        if (chunk.done) {
          done = true;
          break;
        }
        // fetch bodies are byte streams; the DOM typing leaves the chunk type open.
        const bytes = chunk.value as Uint8Array;
        hash.update(bytes);
        for (let offset = 0; offset < bytes.byteLength;) {
          offset += (await handle.write(bytes, offset)).bytesWritten;
        }
        received += bytes.byteLength;
        const now = this.#clock();
        samples.push({ at: now, bytes: received });
        if (now - lastEmit >= this.#progressIntervalMs) {
          lastEmit = now;
          active.progress = { ...active.progress, receivedBytes: received, bytesPerSecond: speed(now) };
          await options.onProgress?.({ ...active.progress });
        }
      }
      if (contentLength !== undefined && received - startBytes < contentLength) throw interrupted();
      await handle.sync();
    } finally {
      if (!done) await reader?.cancel().catch(() => undefined);
      await handle.close();
    }
    active.progress = { ...active.progress, receivedBytes: received, bytesPerSecond: speed(this.#clock()) };
    await options.onProgress?.({ ...active.progress });
    return received;
  }

  /** GET with `Range` when resuming; follows redirects itself so none leaves http(s). */
  async #request(args: { url: string; from: number; signal: AbortSignal }): Promise<Response> {
    let url = new URL(args.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new RpcError('precondition_failed', {
        message: `The model source is a ${url.protocol} URL; only http and https are downloaded`,
        data: { reason: 'source_scheme', protocol: url.protocol },
      });
    }
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (args.from > 0) headers.range = `bytes=${args.from}-`;
    for (let hop = 0; ; hop++) {
      let response: Response;
      try {
        response = await fetch(url, { headers, redirect: 'manual', signal: args.signal });
      } catch (error) {
        if (args.signal.aborted) throw error;
        throw new RpcError('service_unavailable', {
          message: `The model source ${url.host} is unreachable`,
          data: { reason: 'source_unreachable', source: url.host, receivedBytes: args.from },
          cause: error,
        });
      }
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || location === null) return response;
      await response.body?.cancel().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) {
        throw new RpcError('precondition_failed', {
          message: `The model source redirected more than ${MAX_REDIRECTS} times`,
          data: { reason: 'too_many_redirects' },
        });
      }
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new RpcError('precondition_failed', {
          message: `The model source redirected to a ${next.protocol} URL; only http and https are followed`,
          data: { reason: 'redirect_scheme', protocol: next.protocol },
        });
      }
      url = next;
    }
  }

  #httpError(name: string, status: number, receivedBytes: number): RpcError {
    if (status >= 500 || status === 429 || status === 408) {
      return new RpcError('service_unavailable', {
        message: `The model source answered HTTP ${status}; try again later`,
        data: { name, reason: 'source_unavailable', status, receivedBytes },
      });
    }
    return new RpcError('precondition_failed', {
      message: `The model source answered HTTP ${status}`,
      data: { name, reason: 'source_http_status', status },
    });
  }
}

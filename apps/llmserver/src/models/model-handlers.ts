// The models.* family: the registry, downloads and the life cycle of loaded models. Every handler checks the
// caller's role against the contract itself (defence in depth: the rpc plugin checks too). Every change is
// audited through auth BEFORE it is made (fail closed: no audit row, no action); download and load, whose facts
// are known only at the end, add a second, best-effort row with the outcome.
import { totalmem } from 'node:os';
import { stat, rm } from 'node:fs/promises';
import {
  RpcError,
  contract,
  isRpcError,
  type Contract,
  type MethodName,
  type ResultOf,
} from '@cyber/contract';
import { requireRole, type VerifiedIdentity } from '@cyber/auth-client';
import type { RpcContext, RpcHandlers } from '@cyber/rpc-server';
import type { AuditContext, AuditDetails, AuditReporter, ModelAuditAction } from './audit-reporter.js';
import { decodeModelCursor, encodeModelCursor } from './model-cursor.js';
import { ModelDownloader, type DownloadOutcome } from './model-downloader.js';
import { modelFilePaths } from './model-files.js';
import { toModel, type ModelRepository } from './model.repository.js';
import type { ModelsLogger } from './models-logger.js';

/** Memory a model needs, as the engine estimates it. */
export interface ModelMemory {
  modelBytes: number;
  contextBytes: number;
  totalBytes: number;
}

/** A loaded model as the engine reports it (the engine id is the model's name). */
export interface EngineModelInfo {
  id: string;
  contextSize: number;
  sequences: number;
  activeSequences: number;
  queued: number;
  memory: ModelMemory;
}

/** The part of `LlmEngine` (@cyber/llm) the handlers use; the engine id of a loaded model is its name. */
export interface ModelEngine {
  loadModel(options: {
    id: string;
    path: string;
    contextSize: number;
    sequences?: number;
  }): Promise<EngineModelInfo>;
  unloadModel(id: string, options?: { force?: boolean }): Promise<{ cancelledRequests: number }>;
  listModels(): EngineModelInfo[];
  estimateMemory(options: { path: string; contextSize: number; sequences?: number }): Promise<ModelMemory>;
}

/** What {@link modelHandlers} needs. */
export interface ModelHandlersDeps {
  repository: ModelRepository;
  engine: ModelEngine;
  /** Directory of the model files. */
  modelsDir: string;
  audit: AuditReporter;
  logger: ModelsLogger;
  /** Monotonic milliseconds (default `performance.now`). */
  clock?: () => number;
  /** Free bytes in a directory (default `fs.statfs`); tests inject a small number. */
  freeDiskBytes?: (dir: string) => Promise<number>;
  /** Requests waiting outside the engine (the inference layer's fair queue) for a model. */
  queuedOf?: (name: string) => number;
  /** The process's downloader; one is created when absent. */
  downloader?: ModelDownloader;
}

type LoadedModel = ResultOf<Contract, 'models.status'>['loaded'][number];
type ModelsHandlers = RpcHandlers<Contract, VerifiedIdentity>;

/** The caller, after checking the method's access rule. */
function authorize(
  ctx: RpcContext<unknown, VerifiedIdentity> | RpcContext<never, VerifiedIdentity>,
  method: MethodName,
): VerifiedIdentity {
  const identity = requireRole(ctx.identity, contract[method].access);
  if (identity === undefined) throw new RpcError('unauthenticated');
  return identity;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function notFound(name: string): RpcError {
  return new RpcError('not_found', { message: `Model ${name} is not registered`, data: { name } });
}

function busy(name: string): RpcError {
  return new RpcError('conflict', {
    message: `Another change of model ${name} is in progress; try again when it finishes`,
    data: { name },
  });
}

/** Handlers of `models.*`. */
export function modelHandlers(deps: ModelHandlersDeps): ModelsHandlers {
  const { repository, engine, audit, logger } = deps;
  const clock = deps.clock ?? (() => performance.now());
  const downloader =
    deps.downloader ??
    new ModelDownloader({
      repository,
      modelsDir: deps.modelsDir,
      logger,
      clock,
      ...(deps.freeDiskBytes ? { freeDiskBytes: deps.freeDiskBytes } : {}),
    });
  /** Models with a load, unload or delete in progress: one life-cycle change per model at a time. */
  const pending = new Set<string>();
  const loadedAt = new Map<string, Date>();

  const isLoaded = (name: string): boolean => engine.listModels().some((model) => model.id === name);

  const toLoadedModel = (info: EngineModelInfo): LoadedModel => {
    let at = loadedAt.get(info.id);
    if (at === undefined) {
      // Loaded outside these handlers (a preload at startup): first seen now.
      at = new Date();
      loadedAt.set(info.id, at);
    }
    return {
      name: info.id,
      contextSize: info.contextSize,
      sequences: info.sequences,
      activeSequences: info.activeSequences,
      queued: info.queued + (deps.queuedOf?.(info.id) ?? 0),
      memoryBytes: info.memory.totalBytes,
      loadedAt: at.toISOString(),
    };
  };

  /** The outcome row of a long action: best effort, since the action has already happened. */
  const recordOutcome = async (
    ctx: AuditContext,
    entry: { action: ModelAuditAction; targetId: string; details: AuditDetails },
  ): Promise<void> => {
    // The caller's signal may be what ended the action (a cancel); the outcome is still worth recording.
    const detached: AuditContext = {
      request: ctx.request,
      correlationId: ctx.correlationId,
      signal: new AbortController().signal,
    };
    try {
      await audit.record(detached, entry);
    } catch (error) {
      logger.warn({ err: error, ...entry }, 'models: the outcome of an audited action could not be recorded');
    }
  };

  /** Runs a life-cycle change of `name`, refusing a second one at the same time. */
  const exclusively = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    if (pending.has(name)) throw busy(name);
    pending.add(name);
    try {
      return await work();
    } finally {
      pending.delete(name);
    }
  };

  return {
    'models.register': async (params, ctx) => {
      authorize(ctx, 'models.register');
      if ((await repository.byName(params.name)) !== undefined) {
        throw new RpcError('conflict', {
          message: `A model named ${params.name} is already registered`,
          data: { name: params.name },
        });
      }
      await audit.record(ctx, {
        action: 'model.register',
        targetId: params.name,
        details: {
          sourceUrl: params.sourceUrl,
          contextSize: params.contextSize,
          costPerToken: params.costPerToken,
          sha256: params.sha256 ?? null,
          sizeBytes: params.sizeBytes ?? null,
          quantization: params.quantization ?? null,
          parameters: params.parameters ?? null,
        },
      });
      return toModel(await repository.register(params));
    },

    'models.list': async (params, ctx) => {
      authorize(ctx, 'models.list');
      const rows = await repository.list({
        limit: params.limit + 1,
        afterId: decodeModelCursor(params.cursor),
        status: params.status,
      });
      const page = rows.slice(0, params.limit);
      const last = page.at(-1);
      return {
        items: page.map(toModel),
        nextCursor: rows.length > params.limit && last !== undefined ? encodeModelCursor(last.id) : null,
      };
    },

    'models.download': async (params, ctx) => {
      authorize(ctx, 'models.download');
      const { name } = params;
      const record = await repository.byName(name);
      if (record === undefined) throw notFound(name);
      if (downloader.isActive(name)) {
        throw new RpcError('conflict', { message: `Model ${name} is already downloading`, data: { name } });
      }
      if (pending.has(name)) throw busy(name);
      // Held until the downloader has taken the model (synchronously, inside download()), so a delete cannot
      // slip in between the audit and the start.
      pending.add(name);
      let download: Promise<DownloadOutcome>;
      try {
        await audit.record(ctx, {
          action: 'model.download',
          targetId: name,
          details: { step: 'start', sourceUrl: record.sourceUrl, expectedSha256: record.sha256 },
        });
        download = downloader.download({
          name,
          signal: ctx.signal,
          onProgress: (progress) => ctx.notify(progress),
        });
      } finally {
        pending.delete(name);
      }
      try {
        const outcome = await download;
        await recordOutcome(ctx, {
          action: 'model.download',
          targetId: name,
          details: {
            step: 'finish',
            outcome: 'ok',
            sizeBytes: outcome.sizeBytes,
            sha256: outcome.sha256,
            resumedFromBytes: outcome.resumedFromBytes,
            wallMs: outcome.wallMs,
          },
        });
        return {
          model: toModel(outcome.model),
          sizeBytes: outcome.sizeBytes,
          sha256: outcome.sha256,
          resumed: outcome.resumedFromBytes > 0,
          wallMs: outcome.wallMs,
        };
      } catch (error) {
        await recordOutcome(ctx, {
          action: 'model.download',
          targetId: name,
          details: {
            step: 'finish',
            outcome: isRpcError(error) ? error.key : 'internal_error',
            reason:
              isRpcError(error) && typeof error.data?.['reason'] === 'string' ? error.data['reason'] : null,
          },
        });
        throw error;
      }
    },

    'models.cancelDownload': async (params, ctx) => {
      authorize(ctx, 'models.cancelDownload');
      if (!downloader.isActive(params.name)) return { cancelled: false };
      await audit.record(ctx, {
        action: 'model.download',
        targetId: params.name,
        details: { step: 'cancel' },
      });
      return { cancelled: downloader.cancel(params.name) };
    },

    'models.load': async (params, ctx) => {
      authorize(ctx, 'models.load');
      const { name, sequences } = params;
      return exclusively(name, async () => {
        const record = await repository.byName(name);
        if (record === undefined) throw notFound(name);
        if (record.status !== 'ready' || record.filePath === null) {
          throw new RpcError('precondition_failed', {
            message: `Model ${name} is ${record.status}; only a downloaded (ready) model can be loaded`,
            data: { name, reason: 'status', status: record.status },
          });
        }
        const contextSize = params.contextSize ?? record.contextSize;
        if (contextSize > record.contextSize) {
          throw new RpcError('invalid_params', {
            message: `contextSize ${contextSize} exceeds the registered context size of ${name} (${record.contextSize})`,
            data: { contextSize, maxContextSize: record.contextSize },
          });
        }
        const path = record.filePath;
        const estimate = await engine.estimateMemory({ path, contextSize, sequences });
        await audit.record(ctx, {
          action: 'model.load',
          targetId: name,
          details: { step: 'start', contextSize, sequences, estimatedMemoryBytes: estimate.totalBytes },
        });
        await repository.setStatus(name, 'loading');
        const startedAt = clock();
        let info: EngineModelInfo;
        try {
          // The engine checks the estimate against free memory again, right before loading.
          info = await engine.loadModel({ id: name, path, contextSize, sequences });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          await repository.setStatus(name, 'ready', `Load failed: ${message}`);
          await recordOutcome(ctx, {
            action: 'model.load',
            targetId: name,
            details: { step: 'finish', outcome: isRpcError(error) ? error.key : 'internal_error' },
          });
          throw error;
        }
        const loadMs = Math.round(clock() - startedAt);
        loadedAt.set(name, new Date());
        await repository.setStatus(name, 'loaded');
        await recordOutcome(ctx, {
          action: 'model.load',
          targetId: name,
          details: { step: 'finish', outcome: 'ok', memoryBytes: info.memory.totalBytes, loadMs },
        });
        logger.info({ model: name, contextSize, sequences, loadMs }, 'models: loaded');
        return { model: toLoadedModel(info), estimatedMemoryBytes: estimate.totalBytes, loadMs };
      });
    },

    'models.unload': async (params, ctx) => {
      authorize(ctx, 'models.unload');
      const { name, force } = params;
      if (!isLoaded(name)) {
        throw new RpcError('model_not_loaded', {
          message: `Model ${name} is not loaded`,
          data: { model: name },
        });
      }
      return exclusively(name, async () => {
        await audit.record(ctx, { action: 'model.unload', targetId: name, details: { force } });
        const { cancelledRequests } = await engine.unloadModel(name, { force });
        loadedAt.delete(name);
        await repository.setStatus(name, 'ready');
        logger.info({ model: name, force, cancelledRequests }, 'models: unloaded');
        return { unloaded: true, cancelledRequests };
      });
    },

    'models.delete': async (params, ctx) => {
      authorize(ctx, 'models.delete');
      const { name } = params;
      const paths = modelFilePaths(deps.modelsDir, name);
      return exclusively(name, async () => {
        const record = await repository.byName(name);
        if (record === undefined) throw notFound(name);
        if (isLoaded(name) || record.status === 'loaded' || record.status === 'loading') {
          throw new RpcError('conflict', {
            message: `Model ${name} is loaded; unload it first`,
            data: { name, status: record.status },
          });
        }
        if (downloader.isActive(name)) {
          throw new RpcError('conflict', {
            message: `Model ${name} is downloading; cancel the download first`,
            data: { name, status: record.status },
          });
        }
        const freedBytes = (await sizeOf(paths.final)) + (await sizeOf(paths.partial));
        await audit.record(ctx, {
          action: 'model.delete',
          targetId: name,
          details: { freedBytes, sha256: record.sha256 },
        });
        // Only files inside modelsDir are removed; a file_path elsewhere was placed by hand.
        await rm(paths.final, { force: true });
        await rm(paths.partial, { force: true });
        const result = await repository.delete(name);
        if (result === undefined) throw notFound(name);
        logger.info({ model: name, freedBytes, ...result }, 'models: deleted');
        return { freedBytes, removedFromRegistry: result.removedFromRegistry };
      });
    },

    'models.status': (_params, ctx) => {
      authorize(ctx, 'models.status');
      const loaded = engine.listModels().map(toLoadedModel);
      for (const name of loadedAt.keys()) {
        if (!loaded.some((model) => model.name === name)) loadedAt.delete(name);
      }
      return {
        loaded,
        downloads: downloader.progress(),
        memory: {
          totalBytes: totalmem(),
          freeBytes: process.availableMemory(),
          modelsBytes: loaded.reduce((sum, model) => sum + model.memoryBytes, 0),
        },
      };
    },
  };
}

import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { Count, MicroCredits, ModelId, ModelName, pageOf, pageParams, Timestamp } from '../schemas/common.js';

/** Largest context size the contract accepts (tokens). */
export const MAX_CONTEXT_SIZE = 1_048_576;

/** Where a model is in its life cycle. */
export const ModelStatus = z
  .enum(['registered', 'downloading', 'ready', 'loading', 'loaded', 'failed'])
  .describe('registered: no file yet; ready: downloaded and verified; loaded: serving requests.');
/** Model status type. */
export type ModelStatus = z.infer<typeof ModelStatus>;

const Sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .describe('sha256 of the GGUF file, lowercase hex.');

/** A model of the registry (the original `models` table, extended). */
export const Model = z.object({
  id: ModelId,
  name: ModelName,
  contextSize: z.number().int().positive().max(MAX_CONTEXT_SIZE).describe('Context size in tokens.'),
  costPerToken: MicroCredits.describe('Micro-credits per token, prompt and completion alike.'),
  sourceUrl: z.string().max(2048).nullable(),
  sizeBytes: Count.nullable(),
  sha256: Sha256.nullable(),
  quantization: z.string().max(32).nullable().describe('e.g. Q4_K_M.'),
  parameters: Count.nullable().describe('Parameter count, when known.'),
  status: ModelStatus,
  error: z.string().max(1000).nullable().describe('Why the last download or load failed.'),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
/** Model type. */
export type Model = z.infer<typeof Model>;

/** A `models.downloadProgress` notification. */
export const DownloadProgress = z.object({
  model: ModelName,
  phase: z.enum(['downloading', 'verifying']),
  receivedBytes: Count,
  totalBytes: Count.nullable().describe('Null when the server did not say.'),
  bytesPerSecond: Count.describe('Recent transfer speed.'),
  resumedFromBytes: Count.describe('Bytes kept from an earlier, interrupted download.'),
});
/** Download progress type. */
export type DownloadProgress = z.infer<typeof DownloadProgress>;

/** A model loaded in memory. */
export const LoadedModel = z.object({
  name: ModelName,
  contextSize: z.number().int().positive(),
  sequences: z.number().int().positive().describe('Context sequences (parallel requests) available.'),
  activeSequences: Count,
  queued: Count.describe('Requests waiting for a sequence.'),
  memoryBytes: Count,
  loadedAt: Timestamp,
});

const ByName = z.strictObject({ name: ModelName });

/** The model registry and its life cycle (admins; every change is audited). */
export const modelsMethods = {
  'models.register': defineMethod({
    description: 'Adds a model to the registry from a source URL; `models.download` fetches it.',
    access: 'admin',
    params: z.strictObject({
      name: ModelName,
      sourceUrl: z
        .url({ protocol: /^https?$/ })
        .max(2048)
        .describe('http(s) URL of the GGUF file.'),
      contextSize: z.number().int().positive().max(MAX_CONTEXT_SIZE),
      costPerToken: MicroCredits,
      sha256: Sha256.optional().describe('Expected sha256; the download is refused when it differs.'),
      sizeBytes: Count.optional(),
      quantization: z.string().max(32).optional(),
      parameters: Count.optional(),
    }),
    result: Model,
  }),
  'models.list': defineMethod({
    description:
      'Lists registered models. Open to every role so users can pick a model and see its cost per token.',
    access: 'viewer',
    params: z.strictObject({ ...pageParams, status: ModelStatus.optional() }).prefault({}),
    result: pageOf(Model),
  }),
  'models.download': defineMethod({
    description:
      'Downloads a registered model (resuming a partial file), checks disk space and sha256, and streams progress.',
    access: 'admin',
    params: ByName,
    result: z.object({
      model: Model,
      sizeBytes: Count,
      sha256: Sha256,
      resumed: z.boolean(),
      wallMs: Count,
    }),
    stream: { method: 'models.downloadProgress', params: DownloadProgress },
  }),
  'models.cancelDownload': defineMethod({
    description: 'Stops a download; the partial file is kept so a later download resumes.',
    access: 'admin',
    params: ByName,
    result: z.object({ cancelled: z.boolean() }),
  }),
  'models.load': defineMethod({
    description: 'Loads a downloaded model after checking its memory estimate fits.',
    access: 'admin',
    params: z.strictObject({
      name: ModelName,
      contextSize: z
        .number()
        .int()
        .positive()
        .max(MAX_CONTEXT_SIZE)
        .optional()
        .describe('Context per sequence; default and maximum the model’s own.'),
      sequences: z.number().int().min(1).max(64).default(4).describe('Parallel requests the model serves.'),
      gpuLayers: z
        .number()
        .int()
        .min(0)
        .max(1000)
        .optional()
        .describe('Layers to offload when a GPU is used.'),
    }),
    result: z.object({ model: LoadedModel, estimatedMemoryBytes: Count, loadMs: Count }),
  }),
  'models.unload': defineMethod({
    description:
      'Unloads a model; in-flight requests finish first unless `force` cancels them (and bills them).',
    access: 'admin',
    params: z.strictObject({ name: ModelName, force: z.boolean().default(false) }),
    result: z.object({ unloaded: z.boolean(), cancelledRequests: Count }),
  }),
  'models.delete': defineMethod({
    description:
      'Deletes an unloaded model’s file. The registry row goes too unless usage refers to it; then it stays ' +
      '(status registered) so the ledger keeps its model.',
    access: 'admin',
    params: ByName,
    result: z.object({
      freedBytes: Count,
      removedFromRegistry: z.boolean().describe('False when usage history keeps the row.'),
    }),
  }),
  'models.status': defineMethod({
    description: 'Loaded models, their sequences and queues, memory, and downloads in progress.',
    access: 'admin',
    params: z.strictObject({}).default({}),
    result: z.object({
      loaded: z.array(LoadedModel),
      downloads: z.array(DownloadProgress),
      memory: z.object({ totalBytes: Count, freeBytes: Count, modelsBytes: Count }),
    }),
  }),
} as const;

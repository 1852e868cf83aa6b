// The model registry of llmserver: rows in `models`, files in the models directory, downloads, and the
// models.* handlers that load and unload models in the engine. Everything here is audited through auth.
export {
  createAuditReporter,
  type AuditContext,
  type AuditDetails,
  type AuditReport,
  type AuditReporter,
  type AuditReporterOptions,
  type ModelAuditAction,
} from './audit-reporter.js';
export { decodeModelCursor, encodeModelCursor } from './model-cursor.js';
export {
  ModelDownloader,
  recoverInterruptedDownloads,
  statfsFreeBytes,
  type DownloadOptions,
  type DownloadOutcome,
  type ModelDownloaderOptions,
} from './model-downloader.js';
export { modelFilePaths, type ModelFilePaths } from './model-files.js';
export {
  modelHandlers,
  type EngineModelInfo,
  type ModelEngine,
  type ModelHandlersDeps,
  type ModelMemory,
} from './model-handlers.js';
export {
  ModelRepository,
  toModel,
  type DownloadedFile,
  type ListModelsOptions,
  type ModelRecord,
  type NewModelRecord,
} from './model.repository.js';
export type { ModelsLogger } from './models-logger.js';

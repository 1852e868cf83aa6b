// @cyber/llm: the only package that imports node-llama-cpp (STYLE.md: third-party wrappers stay in their package).
export {
  LlmEngine,
  type GenerateOptions,
  type GenerateResult,
  type LlmEngineOptions,
  type LlmGpuMode,
  type LlmInput,
  type LlmLogger,
  type LlmMessage,
  type LoadedModelInfo,
  type LoadModelOptions,
  type MemoryEstimate,
  type StopReason,
  type TokenChunk,
} from './engine.js';
export { validateContext, type ValidateContextOptions } from './context-validation.js';

// @cyber/llm: the only package that imports node-llama-cpp (STYLE.md: third-party wrappers stay in their package).
export {
  LlmEngine,
  type EmbedOptions,
  type EmbedResult,
  type GenerateOptions,
  type GenerateResult,
  type LlmEngineOptions,
  type LlmGpuMode,
  type LlmInput,
  type LlmLogger,
  type LlmMessage,
  type LlmResponseFormat,
  type LlmToolCall,
  type LlmToolChoice,
  type LlmToolDefinition,
  type LoadedModelInfo,
  type LoadModelOptions,
  type MemoryEstimate,
  type PreparedPrompt,
  type PromptOptions,
  type StopReason,
  type TokenChunk,
  type UnloadModelOptions,
  type UnloadModelResult,
} from './engine.js';
export { validateContext, type ValidateContextOptions } from './context-validation.js';
export { grammarSchemaProblem } from './json-schema.js';

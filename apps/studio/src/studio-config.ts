// The standalone studio's own settings: where its data lives, its loopback ports (away from the dev stack's
// 7401-7403 and the compose test's 17xxx), which model to serve. The services' own variables (CYBER_SANDBOX_*,
// CYBER_FS_*, CYBER_ARGON2_*, CYBER_BOOTSTRAP_ADMIN_*…) still apply: the launcher passes the environment on to
// each service's loader with only the addresses, paths and drivers set by the studio.
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, integer, LOG_LEVELS, oneOf, optionalText, text, type Env } from '@cyber/config';
import { z } from 'zod';

/** Default ports of the standalone studio. */
export const STUDIO_PORTS = { api: 7601, auth: 7602, llmserver: 7603 } as const;

/** Where the real small model lands when `scripts/infra.sh up` installed it. */
export const INFRA_REAL_MODEL_PATH = '/var/lib/cyberdevstudio-infra/models/gemma-3-270m-q4_k_m.gguf';

/** Which model the studio serves. */
export type StudioModelChoice =
  /** The real model when one is found (`CYBER_TEST_REAL_MODEL` or the infra cache), else the tiny one. */
  | { kind: 'auto'; realModelPath: string | undefined }
  /** The project's generated tiny GGUF (fast, meaningless text): tests. */
  | { kind: 'tiny' }
  /** A GGUF file given by path. */
  | { kind: 'file'; path: string };

/** Everything the launcher decides from the environment. */
export interface StudioConfig {
  /** Root of everything the studio stores (`.studio` under the repository unless `CYBER_STUDIO_DIR`). */
  dir: string;
  /** Interface every service binds to; loopback unless the operator says otherwise. */
  host: string;
  /** Ports of the gateway (the URL users open), auth and llmserver; 0 picks a free one. */
  ports: { api: number; auth: number; llmserver: number };
  /** The model to register and load at start. */
  model: StudioModelChoice;
  /** Whether to build the studio UI when its dist is missing or older than its sources. */
  buildUi: boolean;
  /** Level of the service logs written to `<dir>/logs/studio.log`. */
  logLevel: (typeof LOG_LEVELS)[number];
}

const schema = z
  .object({
    CYBER_STUDIO_DIR: optionalText(),
    CYBER_STUDIO_HOST: text('127.0.0.1'),
    CYBER_STUDIO_PORT: integer({ default: STUDIO_PORTS.api, min: 0, max: 65_535 }),
    CYBER_STUDIO_AUTH_PORT: integer({ default: STUDIO_PORTS.auth, min: 0, max: 65_535 }),
    CYBER_STUDIO_LLM_PORT: integer({ default: STUDIO_PORTS.llmserver, min: 0, max: 65_535 }),
    CYBER_STUDIO_MODEL: text('auto'),
    CYBER_STUDIO_BUILD_UI: oneOf(['auto', 'never'], 'auto'),
    CYBER_TEST_REAL_MODEL: optionalText(),
    CYBER_LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  })
  .transform((env) => env);

/** Where relative paths are resolved and where `.studio` goes by default. */
export interface StudioPaths {
  /** The directory the user ran the command in (relative `CYBER_STUDIO_DIR` and model paths resolve here). */
  cwd: string;
  /** The repository root: `.studio` lives here by default. */
  repoRoot: string;
}

/** Parses the studio's settings; throws one ConfigError naming every bad variable. */
export function loadStudioConfig(env: Env, paths: StudioPaths): StudioConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const seen = new Set<string>();
    const issues = result.error.issues
      .map((issue) => ({ variable: String(issue.path[0] ?? '(environment)'), problem: issue.message }))
      .filter((issue) => !seen.has(issue.variable) && seen.add(issue.variable));
    throw new ConfigError('studio', issues);
  }
  const values = result.data;
  const at = (path: string): string => (isAbsolute(path) ? path : resolve(paths.cwd, path));
  return {
    dir:
      values.CYBER_STUDIO_DIR === undefined
        ? resolve(paths.repoRoot, '.studio')
        : at(values.CYBER_STUDIO_DIR),
    host: values.CYBER_STUDIO_HOST,
    ports: {
      api: values.CYBER_STUDIO_PORT,
      auth: values.CYBER_STUDIO_AUTH_PORT,
      llmserver: values.CYBER_STUDIO_LLM_PORT,
    },
    model: modelChoice(values.CYBER_STUDIO_MODEL, values.CYBER_TEST_REAL_MODEL, at),
    buildUi: values.CYBER_STUDIO_BUILD_UI === 'auto',
    logLevel: values.CYBER_LOG_LEVEL,
  };
}

function modelChoice(
  value: string,
  realModel: string | undefined,
  at: (path: string) => string,
): StudioModelChoice {
  if (value === 'tiny') return { kind: 'tiny' };
  if (value === 'auto')
    return { kind: 'auto', realModelPath: realModel === undefined ? undefined : at(realModel) };
  return { kind: 'file', path: at(value) };
}

// Shared pieces of every package's vitest project: the source condition and the infra settings.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineProject, type ViteUserConfig } from 'vitest/config';

const repoRoot = dirname(fileURLToPath(import.meta.url));

/**
 * Reads the connection settings that `scripts/infra.sh up` writes to `.infra/env` (KEY=VALUE lines).
 * Variables already set in the environment win, so CI or a developer can point tests elsewhere.
 */
export function infraEnv(): Record<string, string> {
  const file = process.env.CYBER_INFRA_ENV ?? join(repoRoot, '.infra', 'env');
  const env: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
      if (!match?.[1]) continue;
      const value = (match[2] ?? '').replace(/^(['"])(.*)\1$/, '$2');
      env[match[1]] = value;
    }
  }
  for (const key of Object.keys(env)) {
    const own = process.env[key];
    if (own !== undefined) env[key] = own;
  }
  return env;
}

/** Options for {@link cyberProject}. */
export interface CyberProjectOptions {
  /** Project name shown by vitest and used with `--project`. */
  name: string;
  /** Extra test options merged over the defaults. */
  test?: NonNullable<ViteUserConfig['test']>;
}

/** A vitest project for one workspace package: resolves workspace packages to their TypeScript sources. */
export function cyberProject(options: CyberProjectOptions): ViteUserConfig {
  return defineProject({
    resolve: { conditions: ['@cyber/source'] },
    ssr: { resolve: { conditions: ['@cyber/source'] } },
    test: {
      name: options.name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      env: infraEnv(),
      testTimeout: 20_000,
      hookTimeout: 60_000,
      ...options.test,
    },
  });
}

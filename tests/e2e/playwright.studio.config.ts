import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';
import base from './playwright.config.ts';

// The same browser and specs against the standalone studio (`pnpm studio`, embedded PGlite, Redis and usage
// bus) instead of the real stack: sign-in, project + file + Monaco typing + save + run (when Docker is there),
// and a chat billed through the in-process usage bus.
const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  ...base,
  globalSetup: join(here, 'stack', 'studio-setup.ts'),
  testMatch: ['studio.spec.ts', 'chat-panel.spec.ts'],
  grep: [
    /sign-in explains wrong credentials/,
    /a developer creates a project and a file, types, saves, runs it/,
    /chat with the tiny model streams an answer/,
  ],
  outputDir: join(here, 'test-results', 'standalone'),
});

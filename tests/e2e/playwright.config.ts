import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));

// Debian's Chromium (installed by scripts/infra.sh); Playwright never downloads a browser here.
const chromiumPath = process.env.CYBER_CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: here,
  // Starts the real stack (auth, llmserver, sandbox, the gateway serving the built UI) once for all specs.
  globalSetup: join(here, 'stack', 'global-setup.ts'),
  testMatch: '*.spec.ts',
  outputDir: join(here, 'test-results'),
  reporter: 'list',
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  use: {
    browserName: 'chromium',
    headless: true,
    // The smallest screen the studio supports.
    viewport: { width: 1280, height: 720 },
    // Tests only talk to servers on 127.0.0.1; nothing in the browser may reach out.
    serviceWorkers: 'block',
    launchOptions: {
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
});

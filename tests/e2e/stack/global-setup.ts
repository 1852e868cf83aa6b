// Playwright global setup: starts the stack launcher as a child process, waits for READY, and returns the
// teardown that stops it. The stack's details go to the tests through E2E_STACK_FILE.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const START_TIMEOUT_MS = 240_000;

export default async function globalSetup(): Promise<() => Promise<void>> {
  // A stack already running (E2E_STACK_FILE set by hand) is reused: handy while writing tests.
  if (process.env.E2E_STACK_FILE !== undefined) return () => Promise.resolve();
  const infoFile = join(mkdtempSync(join(tmpdir(), 'cyber-e2e-stack-')), 'stack.json');
  const tsx = join(here, '..', 'node_modules', '.bin', 'tsx');
  const child = spawn(tsx, ['--conditions=@cyber/source', join(here, 'launch-stack.ts'), infoFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  let log = '';
  child.stderr.on('data', (data: Buffer) => {
    log += data.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`stack did not start in time:\n${log}`)),
      START_TIMEOUT_MS,
    );
    child.stdout.on('data', (data: Buffer) => {
      log += data.toString();
      if (log.includes('READY ')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stack exited with ${code}:\n${log}`));
    });
  });
  process.env.E2E_STACK_FILE = infoFile;
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 20_000));
    await Promise.race([exited, timeout]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
}

// Playwright global setup of the standalone project: runs `pnpm studio` exactly as a user does, in a throwaway
// CYBER_STUDIO_DIR with ports the system picks, reads the URL and the first admin's credentials from what it
// prints, creates the developer and viewer the specs sign in as, and hands all of it to the specs through
// E2E_STACK_FILE (the same StackInfo as the real stack's launcher). The teardown stops the studio with SIGINT
// (Ctrl+C) and fails when it does not stop cleanly.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rpcAt } from '../studio-helpers.ts';
import type { StackInfo } from './stack-info.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const START_TIMEOUT_MS = 240_000;
const STOP_TIMEOUT_MS = 30_000;
/** Password of the accounts this setup creates. */
const PASSWORD = 'e2e-password-for-studio';

/** What `pnpm studio` printed, parsed. */
interface Printed {
  url: string;
  admin: { username: string; password: string };
  model: string;
  sandbox: boolean;
}

function parse(output: string): Printed | undefined {
  const url = /CyberDevStudio is ready at (http:\/\/\S+)/.exec(output)?.[1];
  const username = /^ {2}username: (\S+)$/m.exec(output)?.[1];
  const password = /^ {2}password: (\S+)$/m.exec(output)?.[1];
  const model = /^Model: (\S+)/m.exec(output)?.[1];
  const runs = /^Runs: (.*)$/m.exec(output)?.[1];
  if (!url || !username || !password || !model || runs === undefined) return undefined;
  return { url, admin: { username, password }, model, sandbox: !runs.startsWith('off') };
}

export default async function studioSetup(): Promise<() => Promise<void>> {
  if (process.env.E2E_STACK_FILE !== undefined) return () => Promise.resolve();
  const work = mkdtempSync(join(tmpdir(), 'cyber-e2e-studio-'));
  const infoFile = join(work, 'stack.json');
  const child = spawn('pnpm', ['studio'], {
    cwd: repoRoot,
    // Its own process group, so the teardown's Ctrl+C reaches pnpm and the studio under it, as in a terminal.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      CYBER_STUDIO_DIR: join(work, 'studio'),
      CYBER_STUDIO_PORT: '0',
      CYBER_STUDIO_AUTH_PORT: '0',
      CYBER_STUDIO_LLM_PORT: '0',
      CYBER_STUDIO_MODEL: 'tiny',
    },
  });
  let output = '';
  child.stderr.on('data', (data: Buffer) => {
    output += data.toString();
  });
  // Ctrl+C to the whole group; resolves with whether it stopped in time (SIGKILL otherwise).
  const stop = async (): Promise<boolean> => {
    const pid = child.pid;
    if (child.exitCode !== null || pid === undefined) return true;
    const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
    process.kill(-pid, 'SIGINT');
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_TIMEOUT_MS));
    const stopped = await Promise.race([exited, timeout]);
    if (!stopped) process.kill(-pid, 'SIGKILL');
    return stopped;
  };

  try {
    const printed = await new Promise<Printed>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`pnpm studio did not start in time:\n${output}`)),
        START_TIMEOUT_MS,
      );
      child.stdout.on('data', (data: Buffer) => {
        output += data.toString();
        const parsed = parse(output);
        if (parsed !== undefined && output.includes('Press Ctrl+C to stop.')) {
          clearTimeout(timer);
          resolve(parsed);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`pnpm studio exited with ${code}:\n${output}`));
      });
    });

    const admin = await rpcAt<{ accessToken: string }>(printed.url, 'auth.login', printed.admin);
    const makeUser = async (role: 'developer' | 'viewer'): Promise<string> => {
      const username = `e2e-${role}-${randomBytes(3).toString('hex')}`;
      await rpcAt(printed.url, 'users.create', { username, role, password: PASSWORD }, admin.accessToken);
      return username;
    };
    const info: StackInfo = {
      url: printed.url,
      sandbox: printed.sandbox,
      model: printed.model,
      accounts: {
        admin: printed.admin,
        developer: { username: await makeUser('developer'), password: PASSWORD },
        viewer: { username: await makeUser('viewer'), password: PASSWORD },
      },
    };
    writeFileSync(infoFile, JSON.stringify(info, null, 2));
    process.env.E2E_STACK_FILE = infoFile;
  } catch (error) {
    await stop();
    rmSync(work, { recursive: true, force: true });
    throw error;
  }

  return async () => {
    delete process.env.E2E_STACK_FILE;
    if (!(await stop())) {
      throw new Error(`pnpm studio did not stop within ${STOP_TIMEOUT_MS} ms of Ctrl+C:\n${output}`);
    }
    if (!output.includes('Stopped.')) throw new Error(`pnpm studio did not stop cleanly:\n${output}`);
    rmSync(work, { recursive: true, force: true });
  };
}

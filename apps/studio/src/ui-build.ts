// The studio UI the gateway serves is a Vite build (apps/studio-ui/dist). A fresh clone has none, and a checkout
// that moved on has a stale one: both are rebuilt before the studio starts, everything else is left alone.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Sources whose changes make a built UI stale, relative to the repository root. */
const UI_SOURCES = [
  'apps/studio-ui/src',
  'apps/studio-ui/public',
  'apps/studio-ui/index.html',
  'apps/studio-ui/vite.config.ts',
  'apps/studio-ui/package.json',
  'packages/contract/src',
  'packages/rpc-client/src',
];

/** The built UI's directory under the repository root. */
export function uiDistDir(repoRoot: string): string {
  return join(repoRoot, 'apps', 'studio-ui', 'dist');
}

/** Why the UI needs a build, or undefined when its dist is newer than every source. */
export async function uiBuildReason(repoRoot: string): Promise<string | undefined> {
  const built = await stat(join(uiDistDir(repoRoot), 'index.html')).catch(() => undefined);
  if (built === undefined) return 'no build yet';
  for (const source of UI_SOURCES) {
    const newest = await newestMtime(join(repoRoot, source));
    if (newest > built.mtimeMs) return `${source} changed since the last build`;
  }
  return undefined;
}

/**
 * Builds the UI (`pnpm --filter @cyber/studio-ui build`) when {@link uiBuildReason} finds a reason; its output
 * goes to `report`. Returns whether it built. Throws when the build fails.
 */
export async function ensureUiBuilt(options: {
  repoRoot: string;
  report: (line: string) => void;
}): Promise<boolean> {
  const reason = await uiBuildReason(options.repoRoot);
  if (reason === undefined) return false;
  options.report(`Building the studio UI (${reason})…`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('pnpm', ['--filter', '@cyber/studio-ui', 'build'], {
      cwd: options.repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`the studio UI build failed (exit ${code}):\n${output}`));
    });
  });
  return true;
}

/** Newest modification time of a file or of any file under a directory; 0 when it does not exist. */
async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    newest = Math.max(newest, await newestMtime(join(path, entry.name)));
  }
  return newest;
}

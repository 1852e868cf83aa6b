// Studio load bench: how long from navigation to an editable editor on the BUILT app served by the real
// gateway, and how much JavaScript that takes, gzipped.
//
// It starts the same stack as the browser tests (tests/e2e/stack/launch-stack.ts: fresh database, real auth,
// llmserver and gateway serving apps/studio-ui/dist), creates a project with one file, and loads
// `/p/<id>?file=main.py` in Debian's Chromium:
//   cold: a new browser context each time (empty HTTP cache), signed in through a stored refresh token;
//   warm: reloads of the same page (cached hashed assets, revalidated index.html).
// "Editable" = the Monaco editor shows the file's text and holds the keyboard focus.
// JS size: the entry chunk and its preloads (what index.html loads), and everything the page had loaded
// once the editor was editable, excluding Monaco's language workers; both gzipped at level 6 (the usual
// server setting). Run: pnpm --filter @cyber/studio-ui build && pnpm --filter @cyber/studio-ui bench
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const distDir = join(here, '..', 'dist');
const COLD_RUNS = 7;
const WARM_RUNS = 7;
const FILE_TEXT = 'print("bench")\n';

interface StackInfo {
  url: string;
  accounts: { developer: { username: string; password: string } };
}

async function startStack(): Promise<{ info: StackInfo; stop: () => Promise<void> }> {
  // A stack already running (E2E_STACK_FILE, as the browser tests take it) is reused.
  const running = process.env.E2E_STACK_FILE;
  if (running !== undefined) {
    return { info: JSON.parse(readFileSync(running, 'utf8')) as StackInfo, stop: () => Promise.resolve() };
  }
  const infoFile = join(mkdtempSync(join(tmpdir(), 'cyber-ui-bench-')), 'stack.json');
  const tsx = join(here, '..', 'node_modules', '.bin', 'tsx');
  const child = spawn(
    tsx,
    ['--conditions=@cyber/source', join(repoRoot, 'tests', 'e2e', 'stack', 'launch-stack.ts'), infoFile],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      if (out.includes('READY ')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`stack exited with ${code}`)));
  });
  const info = JSON.parse(readFileSync(infoFile, 'utf8')) as StackInfo;
  return {
    info,
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function rpc<T>(url: string, method: string, params: unknown, token?: string): Promise<T> {
  const response = await fetch(`${url}/rpc`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: unknown };
  if (body.error !== undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result as T;
}

function gzippedSize(file: string): number {
  return gzipSync(readFileSync(file), { level: 6 }).length;
}

const isWorker = (name: string) => /worker/i.test(name);

/** Sizes of the JS index.html loads up front (entry + modulepreload links). */
function entrySizes(): { files: string[]; raw: number; gzip: number } {
  const html = readFileSync(join(distDir, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((match) => match[1] ?? '');
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    raw += readFileSync(join(distDir, file)).length;
    gzip += gzippedSize(join(distDir, file));
  }
  return { files, raw, gzip };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function timeToEditor(options: {
  browser: Browser;
  url: string;
  refreshToken: string;
}): Promise<{ ms: number; js: string[] }> {
  const context = await options.browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.addInitScript((token) => {
    if (sessionStorage.getItem('cyber.refreshToken') === null)
      sessionStorage.setItem('cyber.refreshToken', token);
  }, options.refreshToken);
  const page = await context.newPage();
  const js: string[] = [];
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (path.endsWith('.js')) js.push(path);
  });
  const start = Date.now();
  await page.goto(options.url);
  await page.waitForFunction(
    (text) => {
      const editor = document.querySelector('.monaco-editor');
      if (editor === null || !editor.contains(document.activeElement)) return false;
      return (editor.querySelector('.view-lines')?.textContent ?? '').replace(/\u00a0/g, ' ').includes(text);
    },
    FILE_TEXT.trim(),
    { timeout: 60_000, polling: 'raf' },
  );
  const ms = Date.now() - start;
  await context.close();
  return { ms, js };
}

async function main(): Promise<void> {
  const entry = entrySizes();
  const { info, stop } = await startStack();
  const browser = await chromium.launch({
    executablePath: process.env.CYBER_CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  try {
    const dev = info.accounts.developer;
    const login = () =>
      rpc<{ accessToken: string; refreshToken: string }>(info.url, 'auth.login', {
        username: dev.username,
        password: dev.password,
      });
    const { accessToken } = await login();
    const project = await rpc<{ id: string }>(info.url, 'project.create', { name: 'bench' }, accessToken);
    await rpc(
      info.url,
      'fs.write',
      { projectId: project.id, path: 'main.py', content: FILE_TEXT },
      accessToken,
    );
    const target = `${info.url}/p/${project.id}?file=main.py`;

    const cold: number[] = [];
    let loadedJs: string[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      const run = await timeToEditor({ browser, url: target, refreshToken: (await login()).refreshToken });
      cold.push(run.ms);
      loadedJs = run.js;
    }

    // Warm: one context, reloads (the refresh token in sessionStorage rotates on every load).
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const { refreshToken } = await login();
    await context.addInitScript((token) => {
      if (sessionStorage.getItem('cyber.refreshToken') === null)
        sessionStorage.setItem('cyber.refreshToken', token);
    }, refreshToken);
    const page = await context.newPage();
    const warm: number[] = [];
    for (let i = 0; i <= WARM_RUNS; i++) {
      const start = Date.now();
      await (i === 0 ? page.goto(target) : page.reload());
      await page.waitForFunction(
        (text) => {
          const editor = document.querySelector('.monaco-editor');
          if (editor === null || !editor.contains(document.activeElement)) return false;
          return (editor.querySelector('.view-lines')?.textContent ?? '')
            .replace(/\u00a0/g, ' ')
            .includes(text);
        },
        FILE_TEXT.trim(),
        { timeout: 60_000, polling: 'raf' },
      );
      if (i > 0) warm.push(Date.now() - start);
    }
    await context.close();

    const loaded = [...new Set(loadedJs)].filter((path) => !isWorker(path));
    const workers = [...new Set(loadedJs)].filter(isWorker);
    let loadedRaw = 0;
    let loadedGzip = 0;
    for (const path of loaded) {
      const file = join(distDir, path);
      loadedRaw += readFileSync(file).length;
      loadedGzip += gzippedSize(file);
    }
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
    console.log('studio-ui load bench (built app served by the real gateway, Debian Chromium, 1280x720)');
    console.log(
      `  entry JS (index.html + preloads, ${entry.files.length} files): ${kb(entry.raw)} raw, ${kb(entry.gzip)} gzip`,
    );
    console.log(
      `  JS loaded until the editor is editable (${loaded.length} files, workers excluded): ${kb(loadedRaw)} raw, ${kb(loadedGzip)} gzip`,
    );
    console.log(
      `  workers loaded (excluded): ${workers.map((w) => w.split('/').pop()).join(', ') || 'none'}`,
    );
    console.log(
      `  cold navigation -> editable editor, ${COLD_RUNS} runs: median ${median(cold)} ms, all ${cold.join(' ')}`,
    );
    console.log(
      `  warm reload -> editable editor, ${WARM_RUNS} runs: median ${median(warm)} ms, all ${warm.join(' ')}`,
    );
  } finally {
    await browser.close();
    await stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

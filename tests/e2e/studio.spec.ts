import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import {
  editorInput,
  editorText,
  guardPage,
  waitForEditor,
  login,
  projectWithFile,
  rpc,
  signIn,
  stack,
} from './studio-helpers.ts';

// The studio in Debian's Chromium against the real stack (stack/launch-stack.ts): real auth, llmserver, the
// sandbox on Docker and the gateway serving the built UI. Every test also asserts that no request left
// 127.0.0.1 and that the console stayed free of errors.

const here = dirname(fileURLToPath(import.meta.url));
const distDir = join(here, '..', '..', 'apps', 'studio-ui', 'dist');

test('sign-in explains wrong credentials, then signs in and out', async ({ page }) => {
  const guard = await guardPage(page);
  const { developer } = stack().accounts;
  await page.goto(`${stack().url}/`);
  await page.getByLabel('Username or email').fill(developer.username);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signin-error')).toHaveText('Wrong username or password.');

  await signIn(page, developer);
  // The session survives a reload (refresh token in sessionStorage).
  await page.reload();
  await expect(page.getByTestId('current-user')).toContainText(developer.username);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  guard.assertClean();
});

test('a developer creates a project and a file, types, saves, runs it and sees output stream and verdicts', async ({
  page,
}) => {
  test.skip(!stack().sandbox, 'no Docker sandbox images on this machine');
  test.setTimeout(120_000);
  const guard = await guardPage(page);
  await signIn(page, stack().accounts.developer);

  await page.getByRole('button', { name: 'New project' }).click();
  await page.getByLabel('Project name').fill('e2e project');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId('project-name')).toHaveText('e2e project');
  await expect(page).toHaveURL(/\/p\/[0-9a-f-]{36}$/);

  await page.getByRole('button', { name: 'New file' }).click();
  await page.getByLabel('Path (folders are created as needed)').fill('main.py');
  await page.getByRole('button', { name: 'Create' }).click();
  const tab = page.getByTestId('tab-main.py');
  await expect(tab).toBeVisible();
  await expect(page.getByTestId('tree-item-main.py')).toBeVisible();
  await waitForEditor(page);

  await editorInput(page).click();
  await page.keyboard.insertText(
    'import sys\nprint("hello from e2e")\nprint("\\x1b[32mgreen\\x1b[0m")\nprint("to stderr", file=sys.stderr)\n',
  );
  await expect(tab).toHaveAttribute('data-dirty', 'true');
  await expect.poll(() => editorText(page)).toContain('print("hello from e2e")');

  await page.keyboard.press('ControlOrMeta+s');
  await expect(page.getByTestId('ide-notice')).toHaveText('Saved main.py');
  await expect(tab).toHaveAttribute('data-dirty', 'false');

  await page.getByTestId('run-file').click();
  const output = page.getByTestId('run-output');
  await expect(output).toContainText('hello from e2e', { timeout: 30_000 });
  await expect(page.getByTestId('run-verdict')).toHaveText('ok', { timeout: 30_000 });
  await expect(page.getByTestId('run-exit-code')).toHaveText('0');
  // Output arrives in chunks of any size: find the chunk holding each line.
  await expect(output.locator('[data-stream="stderr"]', { hasText: 'to stderr' }).first()).toBeVisible();
  await expect(output.locator('[data-stream="stdout"]', { hasText: 'hello from e2e' }).first()).toBeVisible();
  await expect(output.locator('[data-stream="stderr"]', { hasText: 'hello from e2e' })).toHaveCount(0);
  // The ANSI colour became a coloured span, and no escape character reached the page.
  await expect(output.getByText('green', { exact: true })).toHaveCSS('color', 'rgb(0, 187, 0)');
  expect(await output.textContent()).not.toContain('\u001b');
  await expect(page.getByTestId('recent-runs')).toContainText('main.py');

  // A failing command.
  await page.getByLabel('Command').fill('echo failing >&2; exit 3');
  await page.getByRole('button', { name: 'Run command' }).click();
  await expect(page.getByTestId('run-verdict')).toHaveText('error', { timeout: 30_000 });
  await expect(page.getByTestId('run-exit-code')).toHaveText('3');
  await expect(output.locator('[data-stream="stderr"]', { hasText: 'failing' }).first()).toBeVisible();

  // stdin given at start reaches the program.
  await page.getByLabel('Standard input').fill('abc\n');
  await page.getByLabel('Command').fill('read line; echo "got $line"');
  await page.getByRole('button', { name: 'Run command' }).click();
  await expect(output).toContainText('got abc', { timeout: 30_000 });
  await expect(page.getByTestId('run-verdict')).toHaveText('ok', { timeout: 30_000 });
  await page.getByLabel('Standard input').fill('');

  // An endless loop ends on its time limit.
  await page.getByLabel('Time limit in seconds').fill('2');
  await page.getByLabel('Command').fill('while true; do :; done');
  await page.getByRole('button', { name: 'Run command' }).click();
  await expect(page.getByRole('button', { name: '■ Cancel' })).toBeVisible();
  await expect(page.getByTestId('run-verdict')).toHaveText('timeout', { timeout: 30_000 });

  // An endless loop cancelled by the user.
  await page.getByLabel('Time limit in seconds').fill('');
  await page.getByRole('button', { name: 'Run command' }).click();
  await expect(page.getByRole('button', { name: '■ Cancel' })).toBeVisible();
  await page.waitForTimeout(500);
  await page.getByRole('button', { name: '■ Cancel' }).click();
  await expect(page.getByTestId('run-verdict')).toHaveText('cancelled', { timeout: 30_000 });
  guard.assertClean();
});

test('saving a file that changed on the server asks, and reload takes the server version', async ({
  page,
}) => {
  const guard = await guardPage(page);
  const developer = stack().accounts.developer;
  const { token } = await login(developer);
  const project = await rpc<{ id: string }>('project.create', { name: 'conflicts' }, token);
  await rpc('fs.write', { projectId: project.id, path: 'notes.txt', content: 'first\n' }, token);

  await signIn(page, developer);
  await page.goto(`${stack().url}/p/${project.id}`);
  await page.getByTestId('tree-item-notes.txt').click();
  await waitForEditor(page);
  await expect.poll(() => editorText(page)).toContain('first');
  await rpc('fs.write', { projectId: project.id, path: 'notes.txt', content: 'theirs\n' }, token);

  await editorInput(page).click();
  await page.keyboard.press('ControlOrMeta+End');
  await page.keyboard.insertText('mine');
  await page.keyboard.press('ControlOrMeta+s');
  const dialog = page.getByRole('dialog', { name: 'File changed on the server' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Reload theirs' }).click();
  await expect(dialog).toBeHidden();
  await expect.poll(() => editorText(page)).toContain('theirs');
  await expect(page.getByTestId('tab-notes.txt')).toHaveAttribute('data-dirty', 'false');
  guard.assertClean();
});

test('a viewer sees no run button or file controls and cannot save', async ({ page }) => {
  const { developer, viewer } = stack().accounts;
  const owner = await login(developer);
  const reader = await login(viewer);
  const name = `shared read-only ${Date.now()}`;
  const project = await rpc<{ id: string }>('project.create', { name }, owner.token);
  await rpc('fs.write', { projectId: project.id, path: 'app.py', content: 'print(1)\n' }, owner.token);
  await rpc(
    'project.members.set',
    { projectId: project.id, userId: reader.userId, access: 'read' },
    owner.token,
  );

  const guard = await guardPage(page);
  await signIn(page, viewer);
  await expect(page.getByRole('button', { name: 'New project' })).toHaveCount(0);
  await page.getByRole('link', { name }).click();
  await page.getByTestId('tree-item-app.py').click();
  await waitForEditor(page);
  await expect.poll(() => editorText(page)).toContain('print(1)');

  await expect(page.getByTestId('run-file')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Run command' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'New file' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Upload files' })).toHaveCount(0);

  await editorInput(page).click();
  await page.keyboard.insertText('import os\n');
  await page.keyboard.press('ControlOrMeta+s');
  await expect(page.getByTestId('tab-app.py')).toHaveAttribute('data-dirty', 'false');
  const file = await rpc<{ content: string }>(
    'fs.read',
    { projectId: project.id, path: 'app.py' },
    reader.token,
  );
  expect(file.content).toBe('print(1)\n');
  guard.assertClean();
});

test('both themes render, are remembered, and are captured as screenshots', async ({ page }, testInfo) => {
  const guard = await guardPage(page);
  const { developer } = stack().accounts;
  const projectId = await projectWithFile(developer, {
    name: 'looks',
    path: 'main.py',
    content: 'print(1)\n',
  });
  await signIn(page, developer);
  await page.goto(`${stack().url}/p/${projectId}`);
  await page.getByTestId('tree-item-main.py').click();
  await waitForEditor(page);

  const expected = {
    'neon-cyber-night': { body: 'rgb(7, 7, 13)', editor: 'rgb(4, 4, 8)' },
    'serial-steel': { body: 'rgb(221, 226, 231)', editor: 'rgb(246, 248, 249)' },
  } as const;
  for (const [id, colours] of Object.entries(expected)) {
    await page.getByTestId('theme-select').selectOption(id);
    await expect(page.locator('html')).toHaveAttribute('data-theme', id);
    await expect(page.locator('body')).toHaveCSS('background-color', colours.body);
    await expect(page.locator('.monaco-editor .monaco-editor-background').first()).toHaveCSS(
      'background-color',
      colours.editor,
    );
    await page.screenshot({ path: testInfo.outputPath(`theme-${id}.png`) });
  }
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'serial-steel');
  guard.assertClean();
});

test('the built app loads Monaco from its own bundle, never from a CDN', async ({ page }) => {
  const guard = await guardPage(page);
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  const { developer } = stack().accounts;
  const projectId = await projectWithFile(developer, {
    name: 'looks',
    path: 'main.py',
    content: 'print(1)\n',
  });
  await signIn(page, developer);
  await page.goto(`${stack().url}/p/${projectId}`);
  await page.getByTestId('tree-item-main.py').click();
  await waitForEditor(page);

  // Monaco's code came from the gateway's hashed assets, and no script points elsewhere.
  expect(requested.some((url) => /\/assets\/editor\.api-[\w-]+\.js$/.test(url))).toBe(true);
  const scripts = await page.evaluate(() =>
    [...document.scripts].map((script) => script.src).filter(Boolean),
  );
  for (const src of scripts) expect(new URL(src).hostname).toBe('127.0.0.1');
  // The loader's default CDN path may sit unused in the bundle; the built app must not reference a CDN
  // anywhere else (index.html, CSS).
  const html = readFileSync(join(distDir, 'index.html'), 'utf8');
  expect(html).not.toMatch(/https?:\/\//);
  for (const name of readdirSync(join(distDir, 'assets')).filter((file) => file.endsWith('.css'))) {
    expect(readFileSync(join(distDir, 'assets', name), 'utf8')).not.toMatch(/cdn\.|jsdelivr|unpkg/);
  }
  guard.assertClean();
});

test('the file tree uploads, renames into a folder, downloads a zip and deletes', async ({ page }) => {
  const guard = await guardPage(page);
  const { developer } = stack().accounts;
  const projectId = await projectWithFile(developer, {
    name: 'tree ops',
    path: 'keep.txt',
    content: 'keep\n',
  });
  const { token } = await login(developer);
  await signIn(page, developer);
  await page.goto(`${stack().url}/p/${projectId}`);

  await page.getByTestId('upload-input').setInputFiles({
    name: 'data.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from([0, 1, 2, 250, 255]),
  });
  await expect(page.getByTestId('tree-item-data.bin')).toBeVisible();
  const uploaded = await rpc<{ content: string; encoding: string }>(
    'fs.read',
    { projectId, path: 'data.bin', encoding: 'base64' },
    token,
  );
  expect(Buffer.from(uploaded.content, 'base64')).toEqual(Buffer.from([0, 1, 2, 250, 255]));

  // Rename with the keyboard (F2) into a new folder.
  await page.getByTestId('tree-item-data.bin').focus();
  await page.keyboard.press('F2');
  await page.getByLabel('New path').fill('bin/data.bin');
  await page.getByRole('button', { name: 'Rename' }).last().click();
  await expect(page.getByTestId('tree-item-bin/data.bin')).toBeVisible();
  await expect(page.getByTestId('tree-item-data.bin')).toHaveCount(0);

  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download as zip' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('tree_ops.zip');
  const archive = readFileSync(await download.path());
  expect(archive.subarray(0, 2).toString('latin1')).toBe('PK');
  expect(archive.includes(Buffer.from('bin/data.bin'))).toBe(true);
  expect(archive.includes(Buffer.from('keep.txt'))).toBe(true);

  await page.getByTestId('tree-item-keep.txt').click();
  await page.getByRole('button', { name: 'Delete', exact: true }).first().click();
  await page.getByRole('dialog', { name: 'Delete' }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByTestId('tree-item-keep.txt')).toHaveCount(0);
  guard.assertClean();
});

// Helpers of the studio specs: the stack's details, RPC calls for setting up state outside the browser, and a
// page guard that records every request leaving 127.0.0.1 and every console error.
import { readFileSync } from 'node:fs';
import { expect, type Page } from '@playwright/test';
import type { StackAccount, StackInfo } from './stack/stack-info.ts';

/** The running stack (see stack/launch-stack.ts). */
export function stack(): StackInfo {
  const file = process.env.E2E_STACK_FILE;
  if (file === undefined) throw new Error('E2E_STACK_FILE is not set: the global setup did not run');
  return JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
}

/** One JSON-RPC call to the gateway; throws on an error answer. */
export async function rpc<T>(method: string, params: unknown, token?: string): Promise<T> {
  return rpcAt(stack().url, method, params, token);
}

/** One JSON-RPC call to the gateway at `url` (before the stack file exists); throws on an error answer. */
export async function rpcAt<T>(url: string, method: string, params: unknown, token?: string): Promise<T> {
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

/** Logs in over RPC; returns the access token and the user's id. */
export async function login(account: StackAccount): Promise<{ token: string; userId: number }> {
  const session = await rpc<{ accessToken: string; user: { id: number } }>('auth.login', account);
  return { token: session.accessToken, userId: session.user.id };
}

/** What {@link guardPage} collected. */
export interface PageGuard {
  /** URLs of requests (HTTP or WebSocket) to any host but 127.0.0.1; each was aborted. */
  offHost: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
  /** Asserts both lists are empty. */
  assertClean(): void;
}

/** Blocks and records requests leaving 127.0.0.1, and records console errors. Call before the first goto. */
export async function guardPage(page: Page): Promise<PageGuard> {
  const offHost: string[] = [];
  const errors: string[] = [];
  const onLoopback = (url: string) => {
    const { protocol, hostname } = new URL(url);
    return protocol === 'data:' || protocol === 'blob:' || hostname === '127.0.0.1';
  };
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (onLoopback(url)) return route.continue();
    offHost.push(url);
    return route.abort('blockedbyclient');
  });
  page.on('websocket', (socket) => {
    if (!onLoopback(socket.url())) offHost.push(socket.url());
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!onLoopback(url) && !offHost.includes(url)) offHost.push(url);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`${error.name}: ${error.message}`));
  return {
    offHost,
    errors,
    assertClean() {
      expect(offHost, 'requests that left 127.0.0.1').toEqual([]);
      expect(errors, 'console errors').toEqual([]);
    },
  };
}

/** Signs in through the form and waits for the shell. */
export async function signIn(page: Page, account: StackAccount): Promise<void> {
  await page.goto(`${stack().url}/`);
  await page.getByLabel('Username or email').fill(account.username);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('current-user')).toContainText(account.username);
}

/** The Monaco editor's text area of the open tab: click it to focus the editor. */
export function editorInput(page: Page) {
  return page.locator('.monaco-editor .view-lines').first();
}

/** Creates a project with one file as `account`, over RPC; returns its id. */
export async function projectWithFile(
  account: StackAccount,
  options: { name: string; path: string; content: string },
): Promise<string> {
  const { token } = await login(account);
  const project = await rpc<{ id: string }>('project.create', { name: options.name }, token);
  await rpc('fs.write', { projectId: project.id, path: options.path, content: options.content }, token);
  return project.id;
}

/** Waits until the Monaco editor of the open tab shows (its chunk is large: allow for a cold, busy machine). */
export async function waitForEditor(page: Page): Promise<void> {
  await expect(page.locator('.monaco-editor .view-lines').first()).toBeVisible({ timeout: 30_000 });
}

/** The text of the open editor (Monaco's model, not the rendered lines, which are virtualised). */
export async function editorText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const lines = [...document.querySelectorAll('.monaco-editor .view-line')].map((line) => line.textContent);
    return lines.join('\n').replace(/\u00a0/g, ' ');
  });
}

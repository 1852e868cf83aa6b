import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import { guardPage, signIn, stack } from './studio-helpers.ts';

// The admin dashboard against the real stack: an admin creates a user, grants it credits and changes its
// role in the browser, and finds both actions in the audit log; non-admins are sent away from /admin.

test('an admin grants balance, changes a role and sees both in the audit log', async ({ page }, testInfo) => {
  test.setTimeout(60_000);
  const guard = await guardPage(page);
  await signIn(page, stack().accounts.admin);
  await page.goto(`${stack().url}/admin/users`);
  await expect(page.getByTestId('admin-dashboard')).toBeVisible({ timeout: 15_000 });

  // A fresh user, so no other test's account changes role.
  const username = `e2e-audit-${Date.now().toString(36)}`;
  await page.getByRole('button', { name: 'New user' }).click();
  const create = page.getByRole('dialog', { name: 'New user' });
  await create.getByLabel('Username').fill(username);
  await create.getByLabel('Role').selectOption('viewer');
  await create.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId('generated-password')).toBeVisible();
  await page.getByRole('button', { name: 'Done' }).click();

  const row = page.getByTestId(`user-row-${username}`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId('user-balance')).toHaveText('0.000000');

  await row.getByRole('button', { name: 'Grant' }).click();
  const grant = page.getByRole('dialog', { name: `Balance of ${username}` });
  await grant.getByLabel('Credits').fill('2.5');
  await grant.getByLabel('Reason').fill('e2e welcome credits');
  await grant.getByRole('button', { name: 'Grant' }).click();
  await expect(row.getByTestId('user-balance')).toHaveText('2.500000');

  await row.getByLabel(`Role of ${username}`).selectOption('developer');
  await expect(row.getByLabel(`Role of ${username}`)).toHaveValue('developer');

  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page).toHaveURL(/\/admin\/audit$/);
  const grants = page
    .getByTestId('audit-row')
    .filter({ hasText: username })
    .filter({ hasText: 'billing.grant' });
  await expect(grants.first()).toContainText('e2e welcome credits');
  await expect(grants.first()).toContainText('2500000');
  const roleChange = page
    .getByTestId('audit-row')
    .filter({ hasText: username })
    .filter({ hasText: 'user.roleChange' });
  await expect(roleChange.first()).toContainText('from=viewer');
  await expect(roleChange.first()).toContainText('to=developer');
  await page.screenshot({ path: testInfo.outputPath('admin-audit.png') });

  // The action filter narrows the log to one kind.
  await page.getByLabel('Action').selectOption('user.roleChange');
  await expect(page.getByTestId('audit-row').first()).toHaveAttribute('data-action', 'user.roleChange');
  await expect(page.locator('[data-testid="audit-row"]:not([data-action="user.roleChange"])')).toHaveCount(0);

  // The other sections render from the real services.
  await page.getByRole('link', { name: 'Models' }).click();
  await expect(page.getByTestId(`model-row-${stack().model}`).getByTestId('model-status')).toHaveText(
    'loaded',
  );
  await expect(page.getByTestId('models-memory')).toBeVisible();
  await page.getByRole('link', { name: 'Telemetry' }).click();
  await expect(page.getByTestId('telemetry-source')).toBeVisible({ timeout: 10_000 });
  await page.getByRole('link', { name: 'Usage' }).click();
  await expect(
    page.getByRole('img', { name: 'By day' }).or(page.getByText('No data for this period.').first()),
  ).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('admin-usage.png') });
  guard.assertClean();
});

test('a developer who opens /admin is sent back to the projects', async ({ page }) => {
  const guard = await guardPage(page);
  await signIn(page, stack().accounts.developer);
  await page.goto(`${stack().url}/admin/users`);
  await expect(page).toHaveURL(`${stack().url}/`);
  await expect(page.getByTestId('admin-dashboard')).toHaveCount(0);
  guard.assertClean();
});

test('an admin registers a model and watches its download progress live, then cancels it', async ({
  page,
}, testInfo) => {
  test.setTimeout(90_000);
  // A local "model host" that trickles a 4 MiB body (64 KiB every 100 ms, about 6 s), so the progress bar,
  // speed and ETA can be watched; llmserver downloads from it over loopback.
  const total = 4 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 7);
  const server: Server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent >= total) {
        clearInterval(timer);
        response.end();
        return;
      }
      response.write(chunk);
      sent += chunk.length;
    }, 100);
    request.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow.gguf`;
    const guard = await guardPage(page);
    await signIn(page, stack().accounts.admin);
    await page.goto(`${stack().url}/admin/models`);
    const name = `e2e-dl-${Date.now().toString(36)}`;
    await page.getByRole('button', { name: 'Register model' }).click();
    const dialog = page.getByRole('dialog', { name: 'Register model' });
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByLabel('GGUF URL').fill(url);
    await dialog.getByRole('button', { name: 'Register' }).click();

    const row = page.getByTestId(`model-row-${name}`);
    await expect(row.getByTestId('model-status')).toHaveText('registered');
    await row.getByRole('button', { name: 'Download' }).click();
    const bar = row.getByRole('progressbar', { name: `Download of ${name}` });
    await expect(bar).toBeVisible({ timeout: 15_000 });
    await expect
      .poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 15_000 })
      .toBeGreaterThan(5);
    const progress = row.getByTestId('download-progress');
    await expect(progress).toContainText('of 4.0 MiB');
    await expect(progress).toContainText(/iB\/s/);
    await expect(progress).toContainText(/\d+ s left/);
    await expect(row.getByTestId('model-status')).toHaveText('downloading');
    await page.screenshot({ path: testInfo.outputPath('model-download.png') });

    await progress.getByRole('button', { name: 'Cancel' }).click();
    await expect(row).toContainText('Download cancelled; the partial file is kept and resumes.', {
      timeout: 15_000,
    });
    await expect(row.getByRole('progressbar')).toHaveCount(0);
    await expect(row.getByRole('button', { name: 'Download' })).toBeVisible();
    guard.assertClean();
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('an admin creates an API key, sees its secret once, and revokes it', async ({ page }) => {
  const guard = await guardPage(page);
  await signIn(page, stack().accounts.admin);
  await page.goto(`${stack().url}/admin/keys`);
  const label = `e2e key ${Date.now().toString(36)}`;
  await page.getByRole('button', { name: 'New key' }).click();
  const dialog = page.getByRole('dialog', { name: 'New API key' });
  await dialog.getByLabel('Label').fill(label);
  await dialog.getByLabel('Role cap').selectOption('viewer');
  await dialog.getByRole('button', { name: 'Create' }).click();
  const secret = page.getByTestId('key-secret');
  await expect(secret).toBeVisible();
  expect((await secret.innerText()).trim().length).toBeGreaterThanOrEqual(16);
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByTestId('key-secret')).toHaveCount(0);

  const row = page.getByTestId('keys-table').getByRole('row').filter({ hasText: label });
  await expect(row).toContainText('viewer');
  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog', { name: 'Revoke API key' }).getByRole('button', { name: 'Revoke' }).click();
  // Revoked keys are hidden unless asked for.
  await expect(row).toHaveCount(0);
  await page.getByLabel('Show revoked').check();
  await expect(row).toContainText('revoked');
  guard.assertClean();
});

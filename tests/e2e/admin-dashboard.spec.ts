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
  await expect(page.getByTestId('telemetry-unconfigured')).toContainText('Metrics not configured');
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

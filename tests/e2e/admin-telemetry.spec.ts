import { expect, test } from '@playwright/test';
import { guardPage, signIn, stack } from './studio-helpers.ts';

// The telemetry section against the real stack: the gateway answers telemetry.snapshot from the services' own
// metrics (the stack has no Prometheus), so after some traffic the requests-per-second reading is a real number.

test('the telemetry section shows requests per second from the services’ metrics', async ({
  page,
}, testInfo) => {
  test.setTimeout(60_000);
  const guard = await guardPage(page);
  await signIn(page, stack().accounts.admin);
  // Some traffic through the gateway: the dashboard's own calls, and a few more on top.
  await page.goto(`${stack().url}/admin/users`);
  await expect(page.getByTestId('admin-dashboard')).toBeVisible({ timeout: 15_000 });
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('link', { name: 'Telemetry' }).click();

  await expect(page.getByTestId('telemetry-source')).toHaveAttribute('data-source', 'services');
  // The first snapshot's rate may be 0 (its two scrapes are 1 s apart); the dashboard polls every 5 s and every
  // poll is a request of its own, so a later reading is above 0.
  const rps = page.getByTestId('telemetry-rps-value');
  await expect
    .poll(async () => Number((await rps.textContent())?.replace(/,/g, '')), { timeout: 20_000 })
    .toBeGreaterThan(0);
  await expect(page.getByTestId('telemetry-latency-value')).toHaveText(
    /^\d[\d.,]* \/ \d[\d.,]* \/ \d[\d.,]*$/,
  );
  // Unknown readings are a dash with the reason, not a made-up zero (the stack's llmserver has no /metrics).
  await expect(page.getByTestId('telemetry-queue-value')).toHaveText('—');
  await expect(page.getByTestId('telemetry-queue')).toContainText('no queue reading from llmserver');
  // Every panel of metrics/panels.json is listed, the request rate with the gateway's series.
  await expect(page.getByTestId('telemetry-panel-request-rate')).toContainText('job=api');
  await expect(page.getByTestId('telemetry-panel-model-memory')).toBeVisible();
  await expect(page.getByTestId('telemetry-error')).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('admin-telemetry.png') });
  guard.assertClean();
});

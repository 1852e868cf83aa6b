import { expect, test } from '@playwright/test';
import { guardPage, projectWithFile, signIn, stack, waitForEditor } from './studio-helpers.ts';

// Interactive stdin in the run panel: with "interactive" checked the program's stdin stays open, each line typed
// while it runs reaches it (echoed in the output like a terminal), and EOF closes it.

const PROGRAM = [
  'import sys',
  'name = input("name? ")',
  'print(f"hello {name}", flush=True)',
  'rest = sys.stdin.read()',
  'print(f"rest={rest!r}")',
  '',
].join('\n');

test('an interactive run takes lines typed while it runs, and EOF ends its input', async ({ page }) => {
  test.skip(!stack().sandbox, 'no Docker sandbox images on this machine');
  test.setTimeout(90_000);
  const { developer } = stack().accounts;
  const projectId = await projectWithFile(developer, { name: 'stdin e2e', path: 'ask.py', content: PROGRAM });
  const guard = await guardPage(page);
  await signIn(page, developer);
  await page.goto(`${stack().url}/p/${projectId}?file=ask.py`);
  await waitForEditor(page);

  await page.getByLabel('Interactive input').check();
  await page.getByTestId('run-file').click();
  const output = page.getByTestId('run-output');
  await expect(output).toContainText('name?', { timeout: 30_000 });
  const input = page.getByLabel('Input to the running program');
  await input.fill('Ada');
  await input.press('Enter');
  await expect(output).toContainText('hello Ada', { timeout: 15_000 });
  await expect(output.locator('[data-stream="stdin"]', { hasText: 'Ada' })).toHaveCount(1);

  await input.fill('more');
  await input.press('Enter');
  await page.getByRole('button', { name: 'Send EOF' }).click();
  await expect(output).toContainText("rest='more\\n'", { timeout: 15_000 });
  await expect(page.getByTestId('run-verdict')).toHaveText('ok', { timeout: 15_000 });
  await expect(input).toBeHidden();
  // The choice is remembered for the next run.
  await page.reload();
  await expect(page.getByLabel('Interactive input')).toBeChecked();
  guard.assertClean();
});

import { expect, test, type Page } from '@playwright/test';
import { guardPage, login, projectWithFile, rpc, signIn, stack } from './studio-helpers.ts';

// The chat panel against the real stack: the tiny model streams its answer over the WebSocket (llm.token
// notifications), the turn shows its tokens and cost, and the balance shown drops by exactly that cost once
// the usage event is settled (llmserver → Kafka → auth's sink → PostgreSQL).

/** Credits the admin grants the developer before chatting, in micro-credits. */
const GRANT = 5_000_000;

async function grant(userId: number, amount: number): Promise<void> {
  const admin = await login(stack().accounts.admin);
  await rpc('billing.grant', { userId, kind: 'credit', amount, reason: 'e2e chat budget' }, admin.token);
}

async function balanceShown(page: Page): Promise<number> {
  const value = await page.getByTestId('chat-balance').getAttribute('data-micro-credits');
  return Number(value);
}

test('chat with the tiny model streams an answer and the balance drops by exactly the billed amount', async ({
  page,
}, testInfo) => {
  test.setTimeout(90_000);
  const guard = await guardPage(page);
  const { developer } = stack().accounts;
  const { token, userId } = await login(developer);
  await grant(userId, GRANT);
  const projectId = await projectWithFile(developer, {
    name: 'chat e2e',
    path: 'main.py',
    content: 'print(1)\n',
  });

  // Count the streamed token notifications the page receives on its WebSocket.
  const streamed: string[] = [];
  page.on('websocket', (socket) => {
    socket.on('framereceived', ({ payload }) => {
      const text = typeof payload === 'string' ? payload : payload.toString('utf8');
      if (text.includes('"llm.token"') && text.includes('"kind":"token"')) streamed.push(text);
    });
  });

  await signIn(page, developer);
  await page.goto(`${stack().url}/p/${projectId}`);
  const panel = page.getByTestId('chat-panel');
  await expect(panel).toBeVisible({ timeout: 15_000 });
  await expect(panel.getByTestId('chat-model')).toHaveValue(stack().model);
  await expect(panel.getByTestId('chat-balance')).toBeVisible();
  const server = await rpc<{ balance: number }>('billing.balance', {}, token);
  await expect.poll(() => balanceShown(page)).toBe(server.balance);
  const before = await balanceShown(page);
  expect(before).toBeGreaterThanOrEqual(GRANT);

  await panel.getByTestId('chat-input').fill('Write a hello world in Python.');
  await panel.getByTestId('chat-send').click();

  const turn = panel.getByTestId('chat-turn').last();
  await expect(turn).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  const usage = turn.getByTestId('turn-usage');
  await expect(usage).toBeVisible();
  const cost = Number(await usage.getAttribute('data-cost'));
  expect(cost).toBeGreaterThan(0);
  await expect(usage).toContainText('tokens');
  expect(streamed.length, 'llm.token notifications received').toBeGreaterThan(1);
  const answer = (await turn.getByTestId('chat-answer').innerText()).trim();
  expect(answer.length).toBeGreaterThan(0);

  // The charge lands asynchronously; the panel polls until it shows.
  await expect.poll(() => balanceShown(page), { timeout: 30_000 }).toBe(before - cost);
  const after = await rpc<{ balance: number }>('billing.balance', {}, token);
  expect(after.balance).toBe(before - cost);
  await page.screenshot({ path: testInfo.outputPath('chat-panel.png') });
  guard.assertClean();
});

test('a user without credits is told in plain words why the model did not answer', async ({ page }) => {
  test.setTimeout(60_000);
  const guard = await guardPage(page);
  const admin = await login(stack().accounts.admin);
  const account = { username: `e2e-broke-${Date.now().toString(36)}`, password: 'e2e-password-for-studio' };
  await rpc('users.create', { ...account, role: 'developer' }, admin.token);
  const projectId = await projectWithFile(account, { name: 'broke', path: 'a.txt', content: 'a\n' });

  await signIn(page, account);
  await page.goto(`${stack().url}/p/${projectId}`);
  const panel = page.getByTestId('chat-panel');
  await expect(panel.getByTestId('chat-model')).toHaveValue(stack().model, { timeout: 15_000 });
  await panel.getByTestId('chat-input').fill('Hello?');
  await panel.getByTestId('chat-input').press('Enter');
  const error = panel.getByTestId('chat-error');
  await expect(error).toContainText('Your credit balance is too low for this request.', { timeout: 20_000 });
  await expect(error).toContainText('Ask an administrator for more credits');
  await expect(panel.getByTestId('chat-turn').last()).toHaveAttribute('data-status', 'failed');
  // The refusal is a normal answer of the gateway, logged in the UI, not a console error.
  guard.assertClean();
});

test('a viewer sees the chat panel but cannot send', async ({ page }) => {
  const guard = await guardPage(page);
  const { developer, viewer } = stack().accounts;
  const owner = await login(developer);
  const reader = await login(viewer);
  const projectId = await projectWithFile(developer, {
    name: 'chat read-only',
    path: 'a.txt',
    content: 'a\n',
  });
  await rpc('project.members.set', { projectId, userId: reader.userId, access: 'read' }, owner.token);

  await signIn(page, viewer);
  await page.goto(`${stack().url}/p/${projectId}`);
  const panel = page.getByTestId('chat-panel');
  await expect(panel).toContainText('Viewers can read but not chat with models.', { timeout: 15_000 });
  await expect(panel.getByTestId('chat-input')).toBeDisabled();
  await expect(panel.getByTestId('chat-send')).toBeDisabled();
  guard.assertClean();
});

import { expect, test, type Locator, type Page } from '@playwright/test';
import { guardPage, login, projectWithFile, rpc, signIn, stack, waitForEditor } from './studio-helpers.ts';

// The coding agent in the studio against the real stack: the gateway's agent loop, its tools over the project
// files, reviewed edits and the WebSocket stream are real; the agent's model is the scripted double of
// @cyber/api/testing (stack/agent-script.ts says why). For each ask it lists the files, reads the first one,
// proposes the asked `replace "old" with "new"` and answers.

const PATH = 'greet.py';
const ORIGINAL = "print('hello')\nprint('bye')\n";
const ACCEPTED = "print('hello from the agent')\nprint('bye')\n";

/** What the page's WebSocket received for agent.chat, in order: streamed events and the final result. */
type Frame = { kind: 'event'; event: string; text: string } | { kind: 'result' };

function recordAgentFrames(page: Page): Frame[] {
  const frames: Frame[] = [];
  page.on('websocket', (socket) => {
    socket.on('framereceived', ({ payload }) => {
      const text = typeof payload === 'string' ? payload : payload.toString('utf8');
      const message = JSON.parse(text) as {
        method?: string;
        params?: { kind?: string };
        result?: { sessionId?: unknown; pendingEdits?: unknown };
      };
      if (message.method === 'agent.event') {
        frames.push({ kind: 'event', event: message.params?.kind ?? '', text });
      } else if (message.result?.sessionId !== undefined && message.result.pendingEdits !== undefined) {
        frames.push({ kind: 'result' });
      }
    });
  });
  return frames;
}

/** The lines Monaco shows in the IDE's editor (not the diff editors of the chat panel), without the last newline. */
async function ideEditorText(page: Page): Promise<string> {
  const lines = await page.getByTestId('editor-area').locator('.view-line').allTextContents();
  return lines
    .join('\n')
    .replace(/\u00a0/g, ' ')
    .trimEnd();
}

/** Signs in, opens the project with `greet.py` in Monaco and the chat panel in agent mode. */
async function openAgent(page: Page, projectId: string): Promise<Locator> {
  await signIn(page, stack().accounts.developer);
  await page.goto(`${stack().url}/p/${projectId}?file=${PATH}`);
  await waitForEditor(page);
  await expect.poll(() => ideEditorText(page)).toBe(ORIGINAL.trimEnd());
  const panel = page.getByTestId('chat-panel');
  await expect(panel.getByTestId('chat-model')).toHaveValue(stack().model, { timeout: 15_000 });
  await panel.getByTestId('agent-toggle').check();
  return panel;
}

async function ask(panel: Locator, message: string): Promise<Locator> {
  await panel.getByTestId('chat-input').fill(message);
  await panel.getByTestId('chat-send').click();
  return panel.getByTestId('chat-turn').last();
}

test('the agent streams its tool calls, proposes a diff, and an accepted edit shows in Monaco and on the server; a rejected one changes nothing', async ({
  page,
}, testInfo) => {
  test.setTimeout(90_000);
  const guard = await guardPage(page);
  const { developer } = stack().accounts;
  const { token } = await login(developer);
  const projectId = await projectWithFile(developer, { name: 'agent e2e', path: PATH, content: ORIGINAL });
  const frames = recordAgentFrames(page);
  const panel = await openAgent(page, projectId);

  const turn = await ask(panel, `Please replace "print('hello')" with "print('hello from the agent')".`);
  const calls = turn.getByTestId('tool-call');
  // Each tool call shows up with its name and arguments while the turn is still going.
  await expect(calls.nth(0)).toContainText('listFiles');
  await expect(calls.nth(1)).toContainText(`readFile(path: "${PATH}")`);
  await expect(calls.nth(2)).toContainText('proposeEdit(operation: "searchReplace"');
  await expect(calls.nth(2)).toContainText(`path: "${PATH}"`);
  await expect(turn).toHaveAttribute('data-status', 'done', { timeout: 20_000 });
  await expect(calls).toHaveCount(3);
  for (const call of await calls.all()) await expect(call).toContainText('ok');
  await expect(turn.getByTestId('chat-answer')).toContainText('I proposed replacing');

  // The tool calls and results came as agent.event notifications before agent.chat answered.
  const resultAt = frames.findIndex((frame) => frame.kind === 'result');
  const toolCalls = frames.flatMap((frame, index) =>
    frame.kind === 'event' && frame.event === 'toolCall' ? [{ index, text: frame.text }] : [],
  );
  expect(resultAt, 'agent.chat result frame').toBeGreaterThan(0);
  expect(toolCalls.map((call) => call.index < resultAt)).toEqual([true, true, true]);
  expect(toolCalls[2]?.text).toContain('"search":"print(\'hello\')"');

  // The proposal is a diff in Monaco's diff editor, waiting for review; the file is untouched meanwhile.
  const proposal = turn.getByTestId('edit-proposal');
  await expect(proposal).toHaveCount(1);
  await expect(proposal.getByTestId('edit-status')).toHaveText('waiting for your review');
  await expect(proposal.locator('.monaco-diff-editor')).toBeVisible({ timeout: 30_000 });
  await expect(proposal.locator('.monaco-diff-editor')).toContainText('hello from the agent');
  const before = await rpc<{ content: string }>('fs.read', { projectId, path: PATH }, token);
  expect(before.content).toBe(ORIGINAL);
  await page.screenshot({ path: testInfo.outputPath('agent-proposal.png') });

  await proposal.getByRole('button', { name: 'Accept' }).click();
  await expect(proposal.getByTestId('edit-status')).toHaveText('applied');
  // The open tab shows the applied edit (content and version reloaded) and has nothing unsaved.
  await expect.poll(() => ideEditorText(page)).toBe(ACCEPTED.trimEnd());
  await expect(page.getByTestId(`tab-${PATH}`)).toHaveAttribute('data-dirty', 'false');
  const accepted = await rpc<{ content: string; version: string }>(
    'fs.read',
    { projectId, path: PATH },
    token,
  );
  expect(accepted.content).toBe(ACCEPTED);
  await page.screenshot({ path: testInfo.outputPath('agent-accepted.png') });

  // Rejecting a second proposal leaves the file as it was, on the server and in the editor.
  const second = await ask(panel, `Now replace "print('bye')" with "print('ciao')".`);
  await expect(second).toHaveAttribute('data-status', 'done', { timeout: 20_000 });
  const rejected = second.getByTestId('edit-proposal');
  await expect(rejected.getByTestId('edit-status')).toHaveText('waiting for your review');
  await rejected.getByRole('button', { name: 'Reject' }).click();
  await expect(rejected.getByTestId('edit-status')).toHaveText('rejected');
  const after = await rpc<{ content: string; version: string }>('fs.read', { projectId, path: PATH }, token);
  expect(after).toMatchObject({ content: ACCEPTED, version: accepted.version });
  expect(await ideEditorText(page)).toBe(ACCEPTED.trimEnd());

  // A fresh load shows the accepted content too.
  await page.reload();
  await waitForEditor(page);
  await expect.poll(() => ideEditorText(page)).toBe(ACCEPTED.trimEnd());
  guard.assertClean();
});

test('an accepted edit keeps unsaved changes of the open tab, and saving them asks about the conflict', async ({
  page,
}) => {
  test.setTimeout(90_000);
  const guard = await guardPage(page);
  const { developer } = stack().accounts;
  const { token } = await login(developer);
  const projectId = await projectWithFile(developer, { name: 'agent dirty', path: PATH, content: ORIGINAL });
  const panel = await openAgent(page, projectId);

  const turn = await ask(panel, `Replace "print('bye')" with "print('see you')".`);
  await expect(turn).toHaveAttribute('data-status', 'done', { timeout: 20_000 });
  // Unsaved typing in the tab before the edit is accepted.
  await page.getByTestId('editor-area').locator('.view-line').first().click();
  await page.keyboard.press('ControlOrMeta+End');
  await page.keyboard.insertText('# mine\n');
  const tab = page.getByTestId(`tab-${PATH}`);
  await expect(tab).toHaveAttribute('data-dirty', 'true');

  const proposal = turn.getByTestId('edit-proposal');
  await proposal.getByRole('button', { name: 'Accept' }).click();
  await expect(proposal.getByTestId('edit-status')).toHaveText('applied');
  await expect(page.getByTestId('ide-notice')).toContainText('your unsaved changes are kept');
  await expect.poll(() => ideEditorText(page)).toContain('# mine');
  expect(await ideEditorText(page)).not.toContain('see you');
  await expect(tab).toHaveAttribute('data-dirty', 'true');
  const server = await rpc<{ content: string }>('fs.read', { projectId, path: PATH }, token);
  expect(server.content).toBe("print('hello')\nprint('see you')\n");

  // Saving meets the agent's version: the conflict dialog offers to reload theirs.
  await page.keyboard.press('ControlOrMeta+s');
  await expect(page.getByText('File changed on the server')).toBeVisible();
  await page.getByRole('button', { name: 'Reload theirs' }).click();
  await expect.poll(() => ideEditorText(page)).toBe(server.content.trimEnd());
  await expect(tab).toHaveAttribute('data-dirty', 'false');
  guard.assertClean();
});

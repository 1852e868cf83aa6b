// The agent loop through the gateway with the scripted model double, and everything else real: PostgreSQL,
// auth, the project files, the Docker sandbox (run.exec machinery), the WebSocket transport.
import { randomBytes } from 'node:crypto';
import { RpcError, type AgentEvent, type EditProposal } from '@cyber/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmTestUser } from '../../llmserver/test/llm-harness.js';
import {
  answer,
  callTool,
  generateUntilCancelled,
  ScriptBook,
  ScriptedModel,
  type ScriptStep,
} from '../src/testing.js';
import { startAgentStack, type AgentStack } from './agent-stack.js';
import { chatTurn, newAgentProject, type Turn, type TurnListener } from './agent-turns.js';

const book = new ScriptBook();
let s: AgentStack;
let dev: LlmTestUser;

beforeAll(async () => {
  s = await startAgentStack({
    agent: { createModel: book.createModel, maxTokensPerStep: 128 },
    sandbox: true,
  });
  dev = await s.user('developer');
}, 180_000);

afterAll(async () => {
  await s?.close();
});

const newProject = (template?: string): Promise<string> => newAgentProject(s, dev, template);

function script(
  steps: ScriptStep[],
  options: { contextSize?: number } = {},
): { model: string; scripted: ScriptedModel } {
  const model = `scripted-${randomBytes(4).toString('hex')}`;
  return { model, scripted: book.add(model, new ScriptedModel(steps, options)) };
}

/** Runs agent.chat as the developer over a WebSocket, collecting the streamed events. */
const chat = (params: Record<string, unknown>, onEvent?: TurnListener): Promise<Turn> =>
  chatTurn(s, dev, params, onEvent);

function expectConsecutive(events: AgentEvent[], from: number): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_event, index) => from + index));
}

async function until(condition: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('agent loop with the scripted model', () => {
  it('reads a file, proposes an edit the user accepts, runs the program, sees its output and answers', async () => {
    const projectId = await newProject();
    const { model, scripted } = script([
      callTool('readFile', { path: 'main.py' }),
      callTool('proposeEdit', {
        operation: 'searchReplace',
        path: 'main.py',
        search: 'Hello from CyberDevStudio',
        replace: 'Hello from the agent',
      }),
      answer('I proposed a change to main.py; please review it.'),
      // Second turn, after the user accepted the edit.
      callTool('runCommand', { language: 'python', command: 'python3 main.py' }),
      answer((messages) => `The program printed: ${messages.at(-1)?.content ?? ''}`),
    ]);
    const first = await chat({ projectId, model, message: 'Make main.py greet from the agent' });
    expect(first.result).toMatchObject({ finishReason: 'answered', steps: 3 });
    expect(first.events.map((event) => event.kind)).toEqual([
      'turnStarted',
      'toolCall',
      'toolResult',
      'toolCall',
      'edit',
      'toolResult',
      'textDelta',
      'final',
    ]);
    expectConsecutive(first.events, 0);
    const read = first.events.find((event) => event.kind === 'toolResult');
    expect(read).toMatchObject({ ok: true, truncated: false });
    expect(read?.kind === 'toolResult' && read.content).toContain("1| print('Hello from CyberDevStudio')");
    // The edit is a pending proposal: the file is unchanged until the user accepts.
    expect(first.result.pendingEdits).toHaveLength(1);
    const [edit] = first.result.pendingEdits;
    expect(edit).toMatchObject({
      path: 'main.py',
      operation: 'searchReplace',
      status: 'pending',
      decidedBy: null,
    });
    expect(edit?.diff).toContain("-print('Hello from CyberDevStudio')\n+print('Hello from the agent')");
    const unchanged = await s.call<{ content: string }>('fs.read', { projectId, path: 'main.py' }, dev);
    expect(unchanged.content).toBe("print('Hello from CyberDevStudio')\n");

    const decided = await s.call<{ edits: EditProposal[] }>(
      'agent.edits.decide',
      { sessionId: first.result.sessionId, decision: 'accept' },
      dev,
    );
    expect(decided.edits).toEqual([
      expect.objectContaining({ id: edit?.id, status: 'applied', decidedBy: dev.id }),
    ]);
    const changed = await s.call<{ content: string }>('fs.read', { projectId, path: 'main.py' }, dev);
    expect(changed.content).toBe("print('Hello from the agent')\n");

    const second = await chat({ sessionId: first.result.sessionId, message: 'Now run it' });
    expect(second.result.finishReason).toBe('answered');
    expect(second.result.answer).toContain('Hello from the agent');
    expectConsecutive(second.events, first.events.length);
    const run = second.events.find((event) => event.kind === 'toolResult');
    expect(run?.kind === 'toolResult' && run.content).toMatch(/verdict: ok, exit code: 0/);
    // The second turn's model saw the first turn (history rebuilt from the stored events).
    const seen = JSON.stringify(scripted.calls[3]);
    expect(seen).toContain('Make main.py greet from the agent');
    expect(seen).toContain('I proposed a change to main.py');
    // The run is a real, recorded sandbox run.
    const runs = await s.call<{ items: { verdict: string }[] }>('run.list', { projectId }, dev);
    expect(runs.items[0]).toMatchObject({ verdict: 'ok' });

    const transcript = await s.call<{
      session: { turns: number; status: string; usage: { totalTokens: number; cost: number } };
      turns: { events: AgentEvent[]; usage: { totalTokens: number }; finishReason: string }[];
      edits: EditProposal[];
    }>('agent.sessions.get', { sessionId: first.result.sessionId }, dev);
    expect(transcript.session).toMatchObject({ turns: 2, status: 'idle' });
    expect(transcript.turns.map((turn) => turn.events)).toEqual([first.events, second.events]);
    const sum = scripted.usages.reduce((total, usage) => total + usage.totalTokens, 0);
    expect(transcript.session.usage.totalTokens).toBe(sum);
    expect(transcript.session.usage.cost).toBe(sum * 2);
    expect(transcript.turns[0]?.usage.totalTokens).toBe(first.result.usage.totalTokens);
    expect(transcript.edits).toEqual([expect.objectContaining({ status: 'applied', decidedBy: dev.id })]);
  }, 60_000);

  it('a file changed after the proposal is a conflict, not overwritten; reject and auto-apply are recorded', async () => {
    const projectId = await newProject();
    const { model } = script([
      callTool('proposeEdit', {
        operation: 'replaceRange',
        path: 'main.py',
        startLine: 1,
        endLine: 1,
        content: 'print(1)',
      }),
      callTool('proposeEdit', { operation: 'create', path: 'notes.txt', content: 'hi\n' }),
      answer('done'),
      callTool('proposeEdit', { operation: 'create', path: 'auto.txt', content: 'auto\n' }),
      answer('applied'),
    ]);
    const turn = await chat({ projectId, model, message: 'two edits' });
    const [replace, create] = turn.result.pendingEdits;
    await s.call('fs.write', { projectId, path: 'main.py', content: 'print(2)\n' }, dev);
    const accepted = await s.call<{ edits: EditProposal[] }>(
      'agent.edits.decide',
      { sessionId: turn.result.sessionId, decision: 'accept', editIds: [replace?.id] },
      dev,
    );
    expect(accepted.edits[0]).toMatchObject({ status: 'conflict' });
    expect((await s.call<{ content: string }>('fs.read', { projectId, path: 'main.py' }, dev)).content).toBe(
      'print(2)\n',
    );
    const rejected = await s.call<{ edits: EditProposal[] }>(
      'agent.edits.decide',
      { sessionId: turn.result.sessionId, decision: 'reject' },
      dev,
    );
    expect(rejected.edits).toEqual([
      expect.objectContaining({ id: create?.id, status: 'rejected', decidedBy: dev.id }),
    ]);
    expect((await s.rpc('fs.read', { projectId, path: 'notes.txt' }, dev)).error?.code).toBe(-32003);

    const auto = await chat({ sessionId: turn.result.sessionId, message: 'auto', autoApply: true });
    const edit = auto.events.find((event) => event.kind === 'edit');
    expect(edit?.kind === 'edit' && edit.edit).toMatchObject({ status: 'applied', decidedBy: null });
    expect((await s.call<{ content: string }>('fs.read', { projectId, path: 'auto.txt' }, dev)).content).toBe(
      'auto\n',
    );
  }, 60_000);

  it('stops at maxSteps with a note, and tool mistakes come back to the model as errors', async () => {
    const projectId = await newProject();
    const { model, scripted } = script([
      callTool('readFile', { path: 'missing.py' }),
      callTool('searchProject', { query: 'Hello' }),
    ]);
    const { result, events } = await chat({ projectId, model, message: 'loop', maxSteps: 2 });
    expect(result).toMatchObject({ finishReason: 'stepLimit', steps: 2 });
    const results = events.filter((event) => event.kind === 'toolResult');
    expect(results[0]).toMatchObject({ ok: false });
    expect(results[1]?.kind === 'toolResult' && results[1].content).toBe(
      "main.py:1: print('Hello from CyberDevStudio')",
    );
    expect(events.at(-2)).toMatchObject({ kind: 'note' });
    expect(scripted.calls).toHaveLength(2);
  }, 30_000);
});

describe('cancel, budget and reattach', () => {
  it('agent.cancel mid-generation stops the model call at once and counts what was generated', async () => {
    const projectId = await newProject();
    const { model, scripted } = script([generateUntilCancelled]);
    let sessionId = '';
    const started = Date.now();
    let cancelledAt = 0;
    const { result } = await chat({ projectId, model, message: 'think' }, (event) => {
      if (event.kind === 'turnStarted') sessionId = event.sessionId;
      if (event.kind === 'textDelta' && event.text === '.' && cancelledAt === 0) {
        cancelledAt = Date.now();
        void s.call('agent.cancel', { sessionId }, dev);
      }
    });
    expect(result.finishReason).toBe('cancelled');
    expect(Date.now() - cancelledAt).toBeLessThan(2_000);
    expect(result.usage.totalTokens).toBe(scripted.usages[0]?.totalTokens);
    expect(result.usage.completionTokens).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await s.call<{ cancelled: boolean }>('agent.cancel', { sessionId }, dev)).cancelled).toBe(false);
  }, 30_000);

  it('agent.cancel during a sandbox run stops the run', async () => {
    const projectId = await newProject();
    const { model } = script([
      callTool('runCommand', { language: 'shell', command: 'echo started; sleep 30' }),
    ]);
    let sessionId = '';
    let cancelledAt = 0;
    const { result, events } = await chat({ projectId, model, message: 'run forever' }, (event) => {
      if (event.kind === 'turnStarted') sessionId = event.sessionId;
      if (event.kind === 'toolCall') {
        // Let the container start, then cancel.
        setTimeout(() => {
          cancelledAt = Date.now();
          void s.call('agent.cancel', { sessionId }, dev);
        }, 1_500);
      }
    });
    expect(result.finishReason).toBe('cancelled');
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);
    expect(events.at(-1)).toMatchObject({ kind: 'final', finishReason: 'cancelled' });
    const runs = await s.call<{ items: { verdict: string; status: string }[] }>(
      'run.list',
      { projectId },
      dev,
    );
    expect(runs.items[0]).toMatchObject({ status: 'finished', verdict: 'cancelled' });
  }, 60_000);

  it('a budget exhausted mid-session ends the turn with a typed event and writes nothing of that step', async () => {
    const projectId = await newProject();
    const { model } = script([
      callTool('readFile', { path: 'main.py' }),
      // llmserver streamed part of the next call, then refused (as it does when the reservation fails).
      ({ stream }) => {
        stream('{"name":"proposeEdit"');
        throw new RpcError('budget_exceeded');
      },
    ]);
    const { result, events } = await chat({ projectId, model, message: 'edit it', autoApply: true });
    expect(result.finishReason).toBe('budgetExceeded');
    expect(result.answer).toMatch(/budget is exhausted/);
    expect(events.at(-2)).toMatchObject({ kind: 'note' });
    expect(events.at(-1)).toMatchObject({ kind: 'final', finishReason: 'budgetExceeded' });
    expect(events.some((event) => event.kind === 'edit')).toBe(false);
    expect((await s.call<{ content: string }>('fs.read', { projectId, path: 'main.py' }, dev)).content).toBe(
      "print('Hello from CyberDevStudio')\n",
    );
    const transcript = await s.call<{ edits: unknown[] }>(
      'agent.sessions.get',
      { sessionId: result.sessionId },
      dev,
    );
    expect(transcript.edits).toEqual([]);
  }, 30_000);

  it('attach after a dropped connection replays what was missed, then follows the turn to its end', async () => {
    const projectId = await newProject();
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { model } = script([
      callTool('listFiles', {}),
      async ({ stream }) => {
        stream('working');
        await gate;
        return { toolCalls: [{ name: 'readFile', arguments: { path: 'main.py' } }] };
      },
      answer('all done'),
    ]);
    const first = await s.ws(dev);
    const seen: AgentEvent[] = [];
    const call = first.call(
      'agent.chat',
      { projectId, model, message: 'slow' },
      {
        onNotification: (event: AgentEvent) => seen.push(event),
      },
    );
    call.catch(() => undefined);
    await until(() => seen.some((event) => event.kind === 'textDelta' && event.text === 'working'));
    first.close(); // The connection drops; the turn goes on.
    const sessionId = seen[0]?.kind === 'turnStarted' ? seen[0].sessionId : '';
    const lastSeen = seen.at(-1)?.seq ?? -1;
    const listed = await s.call<{ items: { id: string; status: string }[] }>(
      'agent.sessions.list',
      { projectId },
      dev,
    );
    expect(listed.items).toEqual([expect.objectContaining({ id: sessionId, status: 'running' })]);

    const second = await s.ws(dev);
    const replayed: AgentEvent[] = [];
    const attached = second.call(
      'agent.attach',
      { sessionId, afterSeq: lastSeen },
      {
        onNotification: (event: AgentEvent) => replayed.push(event),
      },
    ) as Promise<{ lastSeq: number; session: { status: string } }>;
    setTimeout(release, 200);
    const attachResult = await attached;
    second.close();
    expectConsecutive(replayed, lastSeen + 1);
    expect(replayed.at(-1)).toMatchObject({ kind: 'final', finishReason: 'answered', answer: 'all done' });
    expect(attachResult).toMatchObject({ lastSeq: replayed.at(-1)?.seq, session: { status: 'idle' } });
    const transcript = await s.call<{ turns: { events: AgentEvent[] }[] }>(
      'agent.sessions.get',
      { sessionId },
      dev,
    );
    expect(transcript.turns[0]?.events).toEqual([...seen, ...replayed]);
    // Over HTTP, after the turn: nothing streams, lastSeq still says where the log ends.
    const again = await s.call<{ lastSeq: number }>('agent.attach', { sessionId, afterSeq: 0 }, dev);
    expect(again.lastSeq).toBe(replayed.at(-1)?.seq);
  }, 30_000);
});

describe('context management and sessions', () => {
  it('shortens large tool results and drops old turns with a visible note instead of overflowing', async () => {
    const projectId = await newProject();
    await s.call('fs.write', { projectId, path: 'big.txt', content: 'x'.repeat(7_000) }, dev);
    // 128 generated + ~700 of tool documentation + slack: about 1,200 tokens of room for the messages.
    const { model, scripted } = script(
      [
        callTool('readFile', { path: 'big.txt' }),
        answer('read it'),
        callTool('readFile', { path: 'big.txt' }),
        answer('read it again'),
      ],
      { contextSize: 2_048 },
    );
    const first = await chat({ projectId, model, message: 'read big.txt' });
    expect(first.result.finishReason).toBe('answered');
    const notes = first.events.filter((event) => event.kind === 'note');
    expect(notes.map((note) => note.kind === 'note' && note.text)).toEqual([
      expect.stringMatching(/Shortened 1 tool result\(s\) of this turn/),
    ]);
    expect(JSON.stringify(scripted.calls[1])).toContain("shortened to fit the model's context");
    const second = await chat({ sessionId: first.result.sessionId, message: 'again' });
    expect(second.result.finishReason).toBe('answered');
    expect(second.events.some((event) => event.kind === 'note')).toBe(true);

    const huge = script([answer('never')], { contextSize: 2_048 });
    const overflow = await chat({ projectId, model: huge.model, message: 'y '.repeat(20_000) });
    expect(overflow.result.finishReason).toBe('error');
    expect(overflow.result.answer).toMatch(/no longer fits the model's context/);
    expect(huge.scripted.calls).toHaveLength(0);
  }, 30_000);

  it('lists, renames, flips auto-apply and deletes sessions; other users see none of them', async () => {
    const projectId = await newProject();
    const { model } = script([answer('one'), answer('two')]);
    const a = await chat({ projectId, model, message: 'first session' });
    const b = await chat({ projectId, model, message: 'second session' });
    const page = await s.call<{ items: { id: string; title: string }[]; nextCursor: string | null }>(
      'agent.sessions.list',
      { projectId, limit: 1 },
      dev,
    );
    expect(page.items.map((item) => item.id)).toEqual([b.result.sessionId]);
    const rest = await s.call<{ items: { id: string }[]; nextCursor: string | null }>(
      'agent.sessions.list',
      { projectId, limit: 1, cursor: page.nextCursor },
      dev,
    );
    expect(rest.items.map((item) => item.id)).toEqual([a.result.sessionId]);
    const renamed = await s.call<{ title: string; autoApply: boolean }>(
      'agent.sessions.update',
      { sessionId: a.result.sessionId, title: 'Renamed', autoApply: true },
      dev,
    );
    expect(renamed).toMatchObject({ title: 'Renamed', autoApply: true });
    const other = await s.user('developer');
    expect((await s.rpc('agent.sessions.get', { sessionId: a.result.sessionId }, other)).error?.code).toBe(
      -32003,
    );
    expect((await s.rpc('agent.chat', { projectId, message: 'hi', model }, other)).error?.code).toBe(-32003);
    await s.call('agent.sessions.delete', { sessionId: a.result.sessionId }, dev);
    expect((await s.rpc('agent.sessions.get', { sessionId: a.result.sessionId }, dev)).error?.code).toBe(
      -32003,
    );
  }, 30_000);
});

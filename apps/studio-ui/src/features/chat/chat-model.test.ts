import { RpcError, type EditProposal } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { chatErrorText } from './chat-errors.ts';
import { formatBytes, formatCredits, formatDuration, parseCredits } from './format.ts';
import {
  answerText,
  applyAgentEvent,
  applyTokenEvent,
  changedFiles,
  failTurn,
  finishTurn,
  historyMessages,
  startTurn,
  totalUsage,
  updateEdits,
} from './turns.ts';
import { diffSides } from './unified-diff.ts';

const usage = { promptTokens: 10, completionTokens: 5, totalTokens: 15, cost: 150 };

function edit(overrides: Partial<EditProposal> = {}): EditProposal {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    sessionId: '00000000-0000-4000-8000-000000000002',
    turnId: '00000000-0000-4000-8000-000000000003',
    path: 'main.py',
    operation: 'replaceRange',
    diff: '',
    baseVersion: null,
    status: 'pending',
    createdAt: '2026-01-01T00:00:00.000Z',
    decidedAt: null,
    decidedBy: null,
    ...overrides,
  };
}

describe('formatCredits / parseCredits', () => {
  it('shows micro-credits exactly, with six decimals', () => {
    expect(formatCredits(0)).toBe('0.000000');
    expect(formatCredits(1_234_567)).toBe('1.234567');
    expect(formatCredits(9_007_199_254_740_991)).toBe('9,007,199,254.740991');
    expect(formatCredits(-5)).toBe('-0.000005');
  });

  it('parses typed credits into micro-credits and refuses anything else', () => {
    expect(parseCredits('1.5')).toBe(1_500_000);
    expect(parseCredits(' 2 ')).toBe(2_000_000);
    expect(parseCredits('0.000001')).toBe(1);
    expect(parseCredits('1.0000001')).toBeUndefined();
    expect(parseCredits('-1')).toBeUndefined();
    expect(parseCredits('abc')).toBeUndefined();
  });

  it('formats bytes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatDuration(59)).toBe('59 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(3725)).toBe('1 h 2 min');
  });
});

describe('chatErrorText', () => {
  it('explains an empty budget with the numbers the server sent', () => {
    const text = chatErrorText(
      new RpcError('budget_exceeded', { data: { required: 2_000_000, available: 500_000 } }),
    );
    expect(text).toContain('balance is too low');
    expect(text).toContain('2.000000 credits');
    expect(text).toContain('0.500000 left');
  });

  it('explains a context overflow in tokens', () => {
    const text = chatErrorText(
      new RpcError('context_too_long', { data: { promptTokens: 1900, maxTokens: 512, contextSize: 2048 } }),
    );
    expect(text).toContain('too long for the model');
    expect(text).toContain('1,900 tokens');
    expect(text).toContain('2,048');
  });

  it('says how long to wait when rate limited, and names a model that is not loaded', () => {
    expect(chatErrorText(new RpcError('rate_limited', { data: { retryAfter: 7 } }))).toContain('7 s');
    expect(chatErrorText(new RpcError('model_not_loaded', { data: { model: 'tiny' } }))).toContain(
      'tiny is not loaded',
    );
  });
});

describe('turns', () => {
  it('folds llm.token events into one text item and keeps the queue position until it starts', () => {
    let turn = startTurn({ id: 't1', mode: 'chat', prompt: 'hi', model: 'm' });
    turn = applyTokenEvent(turn, { kind: 'queued', position: 2 });
    expect(turn.queuePosition).toBe(2);
    turn = applyTokenEvent(turn, { kind: 'started', promptTokens: 3 });
    turn = applyTokenEvent(turn, { kind: 'token', text: 'Hel', completionTokens: 1 });
    turn = applyTokenEvent(turn, { kind: 'token', text: 'lo', completionTokens: 2 });
    expect(turn.status).toBe('streaming');
    expect(turn.queuePosition).toBeUndefined();
    expect(turn.items).toEqual([{ kind: 'text', text: 'Hello' }]);
    turn = finishTurn(turn, { usage, finishReason: 'stop' });
    expect(turn.status).toBe('done');
    expect(turn.usage).toEqual(usage);
  });

  it('pairs agent tool calls with their results and replaces an edit when it is decided', () => {
    let turn = startTurn({ id: 't1', mode: 'agent', prompt: 'fix it', model: 'm' });
    turn = applyAgentEvent(turn, {
      kind: 'turnStarted',
      seq: 0,
      sessionId: edit().sessionId,
      turnId: edit().turnId,
    });
    turn = applyAgentEvent(turn, {
      kind: 'toolCall',
      seq: 1,
      callId: 'c1',
      tool: 'readFile',
      arguments: { path: 'a' },
    });
    turn = applyAgentEvent(turn, {
      kind: 'toolResult',
      seq: 2,
      callId: 'c1',
      ok: true,
      content: 'x',
      truncated: false,
    });
    turn = applyAgentEvent(turn, { kind: 'edit', seq: 3, edit: edit() });
    turn = applyAgentEvent(turn, { kind: 'final', seq: 4, answer: 'Done.', finishReason: 'answered', usage });
    expect(turn.items).toEqual([
      {
        kind: 'tool',
        callId: 'c1',
        tool: 'readFile',
        arguments: { path: 'a' },
        result: { ok: true, content: 'x', truncated: false },
      },
      { kind: 'edit', edit: edit() },
      { kind: 'text', text: 'Done.' },
    ]);
    expect(turn.status).toBe('done');
    const [decided] = updateEdits([turn], [edit({ status: 'applied' })]);
    expect(decided?.items[1]).toEqual({ kind: 'edit', edit: edit({ status: 'applied' }) });
  });

  it('does not repeat a final answer that already streamed', () => {
    let turn = startTurn({ id: 't1', mode: 'agent', prompt: 'q', model: 'm' });
    turn = applyAgentEvent(turn, { kind: 'textDelta', seq: 0, text: 'Answer' });
    turn = applyAgentEvent(turn, {
      kind: 'final',
      seq: 1,
      answer: 'Answer',
      finishReason: 'answered',
      usage,
    });
    expect(answerText(turn)).toBe('Answer');
  });

  it('does not repeat a final answer that a note already said', () => {
    let turn = startTurn({ id: 't1', mode: 'agent', prompt: 'q', model: 'm' });
    turn = applyAgentEvent(turn, { kind: 'note', seq: 0, text: 'The agent stopped: boom' });
    turn = applyAgentEvent(turn, {
      kind: 'final',
      seq: 1,
      answer: 'The agent stopped: boom',
      finishReason: 'error',
      usage,
    });
    expect(turn.items).toEqual([{ kind: 'note', text: 'The agent stopped: boom' }]);
  });

  it('sends finished and stopped chat turns as history, never failed ones, and sums usage', () => {
    const done = finishTurn(
      applyTokenEvent(startTurn({ id: 'a', mode: 'chat', prompt: 'one', model: 'm' }), {
        kind: 'token',
        text: 'uno',
        completionTokens: 1,
      }),
      { usage, finishReason: 'stop' },
    );
    const failed = failTurn(startTurn({ id: 'b', mode: 'chat', prompt: 'two', model: 'm' }), {
      stopped: false,
      error: 'x',
    });
    const stopped = failTurn(startTurn({ id: 'c', mode: 'chat', prompt: 'three', model: 'm' }), {
      stopped: true,
    });
    expect(historyMessages([done, failed, stopped])).toEqual([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'uno' },
      { role: 'user', content: 'three' },
      { role: 'assistant', content: '' },
    ]);
    expect(totalUsage([done, failed, done]).cost).toBe(300);
  });
});

describe('changedFiles', () => {
  it('names each file an applied edit wrote once, and neither pending, rejected nor deleted ones', () => {
    const id = (n: number) => `00000000-0000-4000-8000-00000000001${n}`;
    expect(
      changedFiles([
        edit({ id: id(1), status: 'applied', path: 'a.py' }),
        edit({ id: id(2), status: 'applied', path: 'a.py', operation: 'searchReplace' }),
        edit({ id: id(3), status: 'applied', path: 'new.py', operation: 'create' }),
        edit({ id: id(4), status: 'pending', path: 'b.py' }),
        edit({ id: id(5), status: 'rejected', path: 'c.py' }),
        edit({ id: id(6), status: 'conflict', path: 'd.py' }),
        edit({ id: id(7), status: 'applied', path: 'gone.py', operation: 'delete' }),
      ]),
    ).toEqual(['a.py', 'new.py']);
  });
});

describe('diffSides', () => {
  it('splits a unified diff into the original and modified hunk text', () => {
    const diff =
      '--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -10,1 +10,2 @@\n z\n+zz\n\\ No newline at end of file\n';
    expect(diffSides(diff)).toEqual({
      original: 'a\nb\nc\n⋯\nz',
      modified: 'a\nB\nc\n⋯\nz\nzz',
      empty: false,
    });
  });

  it('reports a diff without hunks as empty, and a new file as all added', () => {
    expect(diffSides('--- a/x\n+++ b/x\n').empty).toBe(true);
    expect(diffSides('--- /dev/null\n+++ b/x\n@@ -0,0 +1,2 @@\n+1\n+2\n')).toEqual({
      original: '',
      modified: '1\n2',
      empty: false,
    });
  });
});

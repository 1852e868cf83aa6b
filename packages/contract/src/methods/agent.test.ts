import { describe, expect, it } from 'vitest';
import { agentMethods } from './agent.js';

const projectId = '7f8f1d7c-5c8e-4a61-9a0b-3d2f6f6d9a11';
const sessionId = '2c1e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6';

describe('agent params', () => {
  it('starts a session in a project or continues one', () => {
    const chat = agentMethods['agent.chat'].params;
    expect(chat.parse({ projectId, message: 'add tests' })).toMatchObject({ maxSteps: 20 });
    expect(chat.safeParse({ sessionId, message: 'and run them' }).success).toBe(true);
    expect(chat.safeParse({ message: 'no project' }).success).toBe(false);
    expect(chat.safeParse({ projectId, message: '   ' }).success).toBe(false);
    expect(chat.safeParse({ projectId, message: 'x', maxSteps: 1000 }).success).toBe(false);
  });

  it('decides some or all pending edits', () => {
    const decide = agentMethods['agent.edits.decide'].params;
    expect(decide.safeParse({ sessionId, decision: 'accept' }).success).toBe(true);
    expect(decide.safeParse({ sessionId, decision: 'reject', editIds: [projectId] }).success).toBe(true);
    expect(decide.safeParse({ sessionId, decision: 'maybe' }).success).toBe(false);
    expect(decide.safeParse({ sessionId, decision: 'accept', editIds: [] }).success).toBe(false);
  });

  it('streams tool calls and the final answer as agent.event', () => {
    const stream = agentMethods['agent.chat'].stream;
    if (!stream) throw new Error('expected a streaming method');
    expect(stream.method).toBe('agent.event');
    expect(
      stream.params.safeParse({
        kind: 'toolCall',
        seq: 3,
        callId: 'c1',
        tool: 'readFile',
        arguments: { path: 'a' },
      }).success,
    ).toBe(true);
    expect(
      stream.params.safeParse({ kind: 'toolCall', seq: 3, callId: 'c1', tool: 'rm -rf', arguments: {} })
        .success,
    ).toBe(false);
  });

  it('refuses a session update that changes nothing', () => {
    const update = agentMethods['agent.sessions.update'].params;
    expect(update.safeParse({ sessionId, autoApply: true }).success).toBe(true);
    expect(update.safeParse({ sessionId }).success).toBe(false);
  });
});

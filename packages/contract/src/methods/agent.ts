import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import {
  Count,
  ModelName,
  pageOf,
  pageParams,
  ProjectId,
  ProjectPath,
  SessionId,
  Timestamp,
  UserId,
  Usage,
} from '../schemas/common.js';
import { FileVersion } from './fs.js';

/** Tools the agent can use. */
export const AgentTool = z.enum(['listFiles', 'readFile', 'searchProject', 'proposeEdit', 'runCommand']);
/** Agent tool type. */
export type AgentTool = z.infer<typeof AgentTool>;

/** Where a proposed edit stands. */
export const EditStatus = z
  .enum(['pending', 'applied', 'rejected', 'conflict'])
  .describe('conflict: accepted, but the file changed since the proposal, so it was not applied.');

/** A file change the agent proposed, shown to the user as a diff. */
export const EditProposal = z.object({
  id: z.uuid(),
  sessionId: SessionId,
  turnId: z.uuid(),
  path: ProjectPath,
  operation: z.enum(['create', 'replaceRange', 'searchReplace', 'delete']),
  diff: z.string().describe('Unified diff of the change.'),
  baseVersion: FileVersion.nullable().describe(
    'Version of the file the edit was made against; null = new file.',
  ),
  status: EditStatus,
  createdAt: Timestamp,
  decidedAt: Timestamp.nullable(),
  decidedBy: UserId.nullable().describe('Who decided; null when auto-applied or pending.'),
});
/** Edit proposal type. */
export type EditProposal = z.infer<typeof EditProposal>;

/** How a turn ended. */
export const AgentFinishReason = z
  .enum(['answered', 'stepLimit', 'cancelled', 'budgetExceeded', 'error'])
  .describe('Why the agent stopped this turn.');

const seq = Count.describe(
  'Position in the session’s event log, for reattaching after a dropped connection.',
);

/** One event of an agent turn, as streamed and as stored in the transcript. */
export const AgentEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('turnStarted'), seq, sessionId: SessionId, turnId: z.uuid() }),
  z.object({ kind: z.literal('textDelta'), seq, text: z.string() }),
  z.object({
    kind: z.literal('toolCall'),
    seq,
    callId: z.string().max(64),
    tool: AgentTool,
    arguments: z.record(z.string(), z.unknown()),
  }),
  z.object({
    kind: z.literal('toolResult'),
    seq,
    callId: z.string().max(64),
    ok: z.boolean(),
    content: z.string().describe('Result as the model saw it (large results are truncated).'),
    truncated: z.boolean(),
  }),
  z.object({ kind: z.literal('edit'), seq, edit: EditProposal }),
  z.object({
    kind: z.literal('note'),
    seq,
    text: z.string().describe('Visible note, e.g. that old turns were summarised to fit the context.'),
  }),
  z.object({
    kind: z.literal('final'),
    seq,
    answer: z.string(),
    finishReason: AgentFinishReason,
    usage: Usage,
  }),
]);
/** Agent event type. */
export type AgentEvent = z.infer<typeof AgentEvent>;

/** A chat session with the agent, bound to a project. */
export const AgentSession = z.object({
  id: SessionId,
  projectId: ProjectId,
  userId: UserId,
  title: z.string().max(200),
  model: ModelName,
  autoApply: z.boolean().describe('Apply proposed edits without review.'),
  status: z.enum(['idle', 'running']),
  turns: Count,
  usage: Usage.describe('Tokens and cost of the whole session.'),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
/** Agent session type. */
export type AgentSession = z.infer<typeof AgentSession>;

/** One turn of a transcript: the user's message and everything the agent did for it. */
export const AgentTurn = z.object({
  id: z.uuid(),
  message: z.string(),
  events: z.array(AgentEvent),
  finishReason: AgentFinishReason.nullable().describe('Null while the turn runs.'),
  usage: Usage.describe('Tokens and cost of this turn.'),
  startedAt: Timestamp,
  finishedAt: Timestamp.nullable(),
});
/** Agent turn type. */
export type AgentTurn = z.infer<typeof AgentTurn>;

const turnResult = z.object({
  sessionId: SessionId,
  turnId: z.uuid(),
  answer: z.string(),
  finishReason: AgentFinishReason,
  steps: Count.describe('Model calls made in this turn.'),
  usage: Usage,
  pendingEdits: z.array(EditProposal).describe('Edits waiting for agent.edits.decide.'),
});

/** The coding agent: tool use over the project and the sandbox, with reviewed edits. */
export const agentMethods = {
  'agent.chat': defineMethod({
    description:
      'Sends a message to the agent (new session without `sessionId`) and streams its turn as agent.event.',
    access: 'developer',
    params: z
      .strictObject({
        sessionId: SessionId.optional().describe('Continue this session; omitted starts one.'),
        projectId: ProjectId.optional().describe('Project of a new session.'),
        model: ModelName.optional().describe('Model of a new session; default the server’s.'),
        message: z.string().trim().min(1).max(100_000),
        maxSteps: z.number().int().min(1).max(100).default(20).describe('Most model calls in this turn.'),
        autoApply: z.boolean().optional().describe('Set the session’s auto-apply switch.'),
      })
      .refine((p) => p.sessionId !== undefined || p.projectId !== undefined, 'a new session needs projectId'),
    result: turnResult,
    stream: { method: 'agent.event', params: AgentEvent },
  }),
  'agent.attach': defineMethod({
    description:
      'Reattaches to a session after a dropped connection: replays events after `afterSeq`, then follows the ' +
      'running turn until it ends.',
    access: 'developer',
    params: z.strictObject({ sessionId: SessionId, afterSeq: z.number().int().min(-1).default(-1) }),
    result: z.object({ session: AgentSession, lastSeq: z.number().int().min(-1) }),
    stream: { method: 'agent.replay', params: AgentEvent },
  }),
  'agent.cancel': defineMethod({
    description: 'Stops a running turn at once (generation and any run); only what was used is billed.',
    access: 'developer',
    params: z.strictObject({ sessionId: SessionId }),
    result: z.object({ cancelled: z.boolean().describe('False when no turn was running.') }),
  }),
  'agent.edits.decide': defineMethod({
    description:
      'Accepts or rejects pending edits (the given ones, or all). Accepted edits are written with the files’ ' +
      'optimistic concurrency; a file changed meanwhile gives status conflict.',
    access: 'developer',
    params: z.strictObject({
      sessionId: SessionId,
      decision: z.enum(['accept', 'reject']),
      editIds: z.array(z.uuid()).min(1).max(100).optional().describe('Omitted means every pending edit.'),
    }),
    result: z.object({ edits: z.array(EditProposal) }),
  }),
  'agent.sessions.list': defineMethod({
    description: 'The caller’s agent sessions, most recently updated first.',
    access: 'viewer',
    params: z.strictObject({ ...pageParams, projectId: ProjectId.optional() }).prefault({}),
    result: pageOf(AgentSession),
  }),
  'agent.sessions.get': defineMethod({
    description:
      'A session’s full transcript: turns, tool calls and results, edits, tokens and cost per turn.',
    access: 'viewer',
    params: z.strictObject({ sessionId: SessionId }),
    result: z.object({
      session: AgentSession,
      turns: z.array(AgentTurn),
      edits: z.array(EditProposal),
    }),
  }),
  'agent.sessions.update': defineMethod({
    description: 'Renames a session or flips its auto-apply switch.',
    access: 'developer',
    params: z
      .strictObject({
        sessionId: SessionId,
        title: z.string().trim().min(1).max(200).optional(),
        autoApply: z.boolean().optional(),
      })
      .refine((p) => p.title !== undefined || p.autoApply !== undefined, 'nothing to update'),
    result: AgentSession,
  }),
  'agent.sessions.delete': defineMethod({
    description: 'Deletes a session and its transcript; its usage stays in the ledger.',
    access: 'developer',
    params: z.strictObject({ sessionId: SessionId }),
    result: z.object({ deleted: z.literal(true) }),
  }),
} as const;

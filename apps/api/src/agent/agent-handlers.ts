// agent.* of the gateway: sessions bound to a project, turns run by the agent loop on this gateway (they keep
// running when the caller's connection drops; agent.attach follows them again and replays what was missed),
// agent.cancel, reviewed edits and the transcript. Sessions belong to the user who started them.
import type { AgentEvent, AgentSession, AgentTurn, Usage } from '@cyber/contract';
import { RpcError } from '@cyber/contract';
import { defineHandlers, type RpcContext, type RpcHandler, type RpcHandlers } from '@cyber/rpc-server';
import type { Contract } from '@cyber/contract';
import { callerOf, decodeCursor, encodeCursor, type Caller } from '../caller.js';
import { forwardedHeaders } from '../forwarder.js';
import type { ProjectAccessGuard } from '../project-handlers.js';
import type { ProjectFiles } from '../project-files.js';
import { AgentEdits, editOf } from './agent-edits.js';
import { runAgentTurn, type TurnOutcome } from './agent-loop.js';
import { modelCallerOf, type AgentModelFactory, type ModelCaller } from './agent-model.js';
import type { AgentRunExecutor, AgentRunResult } from './agent-tools.js';
import type { AgentRepository, AgentSessionRow, AgentTurnRow, UsageSum } from './agent.repository.js';
import { LiveTurn, type LiveTurns } from './live-turn.js';

/** Agent settings of the gateway. */
export interface AgentDeps {
  /** Makes the model of a session for a caller (production: LlmServerModel on llmserver). */
  createModel: AgentModelFactory;
  /** Model of a new session that names none; without it agent.chat needs `model`. */
  defaultModel?: string | undefined;
  /** Most tokens the model generates per step. Default 512. */
  maxTokensPerStep?: number | undefined;
}

/** What the agent handlers need. */
export interface AgentHandlersDeps {
  agent: AgentDeps;
  repository: AgentRepository;
  files: ProjectFiles;
  guard: ProjectAccessGuard;
  live: LiveTurns;
  /** The gateway's run.exec; without it the runCommand tool answers that running code is unavailable. */
  runExec: RpcHandler<Contract, 'run.exec'> | undefined;
  /** Where failures that are bugs are logged. */
  logError: (error: unknown, message: string) => void;
}

const DEFAULT_MAX_TOKENS_PER_STEP = 512;
const TITLE_CHARS = 80;

function usageOf(row: { prompt_tokens: number; completion_tokens: number; cost: number }): Usage {
  const promptTokens = Number(row.prompt_tokens);
  const completionTokens = Number(row.completion_tokens);
  return {
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    cost: Number(row.cost),
  };
}

function sessionOf(row: AgentSessionRow, running: boolean): AgentSession {
  return {
    id: row.id,
    projectId: row.project_id,
    userId: Number(row.user_id),
    title: row.title,
    model: row.model,
    autoApply: row.auto_apply,
    status: running ? 'running' : 'idle',
    turns: row.turns,
    usage: usageOf(row),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function turnOf(row: AgentTurnRow, events: AgentEvent[]): AgentTurn {
  return {
    id: row.id,
    message: row.message,
    events,
    finishReason: row.finish_reason,
    usage: usageOf(row),
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at === null ? null : row.finished_at.toISOString(),
  };
}

/** What a turn keeps of the request that started it: who asked, and how to reach llmserver as them. */
type CallerContext = Pick<RpcContext<unknown>, 'identity' | 'correlationId' | 'request'>;

/** Runs `run.exec` for the agent as the caller, capturing the output (the HTTP shape of its answer). */
function runExecutorOf(runExec: RpcHandler<Contract, 'run.exec'>, ctx: CallerContext): AgentRunExecutor {
  return async (request, signal) => {
    const result = await runExec(
      {
        projectId: request.projectId,
        language: request.language,
        ...(request.entry === undefined ? {} : { entry: request.entry }),
        ...(request.command === undefined ? {} : { command: request.command }),
        args: [],
        interactive: false,
      },
      {
        identity: ctx.identity,
        signal,
        notify: () => Promise.resolve(),
        correlationId: ctx.correlationId,
        requestId: undefined,
        transport: 'http',
        request: ctx.request,
      },
    );
    return result as AgentRunResult;
  };
}

/** Handlers of agent.*. */
export function agentHandlers(deps: AgentHandlersDeps): RpcHandlers {
  const { repository, guard, live } = deps;
  const edits = new AgentEdits(repository, deps.files);
  const maxTokensPerStep = deps.agent.maxTokensPerStep ?? DEFAULT_MAX_TOKENS_PER_STEP;

  const ownSession = async (sessionId: string, caller: Caller): Promise<AgentSessionRow> => {
    const session = await repository.findSession(sessionId, caller.userId);
    if (session === undefined) throw new RpcError('not_found', { message: 'Agent session not found' });
    return session;
  };

  /** Runs a turn to its end and stores how it ended; never rejects. */
  const runTurn = async (options: {
    session: AgentSessionRow;
    turn: LiveTurn;
    message: string;
    maxSteps: number;
    ctx: CallerContext;
    modelCaller: ModelCaller;
  }): Promise<TurnOutcome> => {
    const { session, turn, ctx } = options;
    const spent: UsageSum = { promptTokens: 0, completionTokens: 0, cost: 0 };
    let outcome: TurnOutcome;
    try {
      const [history, turns] = await Promise.all([
        repository.events(session.id, { beforeSeq: turn.firstSeq }),
        repository.turns(session.id),
      ]);
      const model = deps.agent.createModel({
        model: session.model,
        caller: options.modelCaller,
      });
      outcome = await runAgentTurn({
        turn,
        model,
        message: options.message,
        history,
        historyMessages: new Map(turns.map((row) => [row.id, row.message])),
        maxSteps: options.maxSteps,
        maxTokensPerStep,
        tools: {
          projectId: session.project_id,
          files: deps.files,
          run: deps.runExec === undefined ? undefined : runExecutorOf(deps.runExec, ctx),
          proposeEdit: async (request) => {
            let row = await edits.propose({
              sessionId: session.id,
              turnId: turn.turnId,
              projectId: session.project_id,
              edit: request,
            });
            // The switch is read per edit: flipping it mid-turn takes effect at the next proposal.
            const current = await repository.findSession(session.id, turn.userId);
            if (current?.auto_apply === true) {
              row = await edits.decide(row, {
                projectId: session.project_id,
                decision: 'accept',
                decidedBy: null,
              });
            }
            turn.emit({ kind: 'edit', edit: editOf(row) });
            if (row.status === 'applied') return `Edit ${row.id} applied to ${row.path} (auto-apply is on).`;
            if (row.status === 'conflict')
              return `Edit ${row.id} not applied: ${row.path} changed meanwhile.`;
            return `Edit ${row.id} of ${row.path} proposed; the user will review it.\n${row.diff}`;
          },
        },
        onStepUsage: async (usage, usageEventId) => {
          spent.promptTokens += usage.promptTokens;
          spent.completionTokens += usage.completionTokens;
          spent.cost += usage.cost;
          await repository.addStepUsage(turn.turnId, usage, usageEventId);
        },
      });
    } catch (error) {
      deps.logError(error, 'agent: turn failed');
      outcome = {
        answer: 'The agent stopped after an internal error.',
        finishReason: 'error',
        steps: 0,
        usage: usageOf({
          prompt_tokens: spent.promptTokens,
          completion_tokens: spent.completionTokens,
          cost: spent.cost,
        }),
      };
    }
    turn.emit({
      kind: 'final',
      answer: outcome.answer,
      finishReason: outcome.finishReason,
      usage: outcome.usage,
    });
    try {
      await turn.saved();
      await repository.finishTurn({
        sessionId: session.id,
        turnId: turn.turnId,
        finishReason: outcome.finishReason,
        answer: outcome.answer,
        usage: outcome.usage,
      });
    } catch (error) {
      deps.logError(error, 'agent: storing the end of a turn failed');
    } finally {
      live.delete(turn);
      turn.end();
    }
    return outcome;
  };

  /** Sends events to the caller in order; sending stops (silently) when the caller is gone. */
  const sender = (ctx: RpcContext<AgentEvent>) => {
    let chain: Promise<void> = Promise.resolve();
    let last = -1;
    return {
      send(event: AgentEvent): void {
        last = Math.max(last, event.seq);
        chain = chain.then(() => (ctx.signal.aborted ? undefined : ctx.notify(event))).catch(() => undefined);
      },
      get lastSeq(): number {
        return last;
      },
      drained: (): Promise<void> => chain,
    };
  };

  /** Settles when `promise` does, or rejects with cancelled once the caller goes away. */
  const whileCallerStays = async <T>(promise: Promise<T>, signal: AbortSignal): Promise<T> => {
    let onAbort = (): void => undefined;
    const gone = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(new RpcError('cancelled'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([promise, gone]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };

  return defineHandlers()({
    'agent.chat': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      let session: AgentSessionRow;
      if (params.sessionId !== undefined) {
        session = await ownSession(params.sessionId, caller);
        await guard.writable(session.project_id, caller);
        if (live.get(session.id) !== undefined) {
          throw new RpcError('conflict', {
            message: 'A turn of this session is running: cancel it or attach',
          });
        }
        if (params.autoApply !== undefined && params.autoApply !== session.auto_apply) {
          session = await repository.updateSession(session.id, { autoApply: params.autoApply });
        }
      } else {
        const project = await guard.writable(params.projectId ?? '', caller);
        const model = params.model ?? deps.agent.defaultModel;
        if (model === undefined) {
          throw new RpcError('invalid_params', {
            message: 'No default agent model on this server: name one with `model`',
            data: { reason: 'model' },
          });
        }
        session = await repository.createSession({
          project_id: project.id,
          user_id: caller.userId,
          title: params.message.replace(/\s+/g, ' ').slice(0, TITLE_CHARS),
          model,
          auto_apply: params.autoApply ?? false,
        });
      }
      const { turn: turnRow, nextSeq } = await repository.startTurn(session.id, params.message);
      const turn = new LiveTurn({
        sessionId: session.id,
        turnId: turnRow.id,
        projectId: session.project_id,
        userId: caller.userId,
        firstSeq: nextSeq,
        repository,
      });
      live.add(turn);
      const out = sender(ctx);
      const { unfollow } = turn.follow(nextSeq - 1, (event) => out.send(event));
      turn.emit({ kind: 'turnStarted', sessionId: session.id, turnId: turn.turnId });
      const finished = runTurn({
        session,
        turn,
        message: params.message,
        maxSteps: params.maxSteps,
        ctx,
        // The caller's credential, captured now: the turn outlives this request when the connection drops.
        modelCaller: modelCallerOf(forwardedHeaders(ctx as RpcContext<unknown>)),
      });
      try {
        const outcome = await whileCallerStays(finished, ctx.signal);
        await out.drained();
        const pending = await repository.edits(session.id, { pendingOnly: true });
        return {
          sessionId: session.id,
          turnId: turn.turnId,
          answer: outcome.answer,
          finishReason: outcome.finishReason,
          steps: outcome.steps,
          usage: outcome.usage,
          pendingEdits: pending.map(editOf),
        };
      } finally {
        unfollow();
      }
    },

    'agent.attach': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const session = await ownSession(params.sessionId, caller);
      const out = sender(ctx);
      let afterSeq = params.afterSeq;
      // Everything before a running turn is stored; the running turn's events are all in its memory.
      const running = live.get(session.id);
      const stored = await repository.events(session.id, {
        afterSeq,
        ...(running === undefined ? {} : { beforeSeq: running.firstSeq }),
      });
      for (const { event } of stored) out.send(event);
      afterSeq = Math.max(afterSeq, stored.at(-1)?.event.seq ?? -1);
      // A turn that started while the log was read is followed too.
      const following = running ?? live.get(session.id);
      if (following !== undefined) {
        const { missed, unfollow } = following.follow(afterSeq, (event) => out.send(event));
        for (const event of missed) out.send(event);
        try {
          await whileCallerStays(following.done, ctx.signal);
        } finally {
          unfollow();
        }
      }
      await out.drained();
      const current = (await repository.findSession(session.id, caller.userId)) ?? session;
      return {
        session: sessionOf(current, live.get(session.id) !== undefined),
        lastSeq: Math.max(out.lastSeq, Number(current.next_seq) - 1),
      };
    },

    'agent.cancel': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const session = await ownSession(params.sessionId, caller);
      const turn = live.get(session.id);
      if (turn === undefined) return { cancelled: false };
      turn.controller.abort(new RpcError('cancelled'));
      await turn.done;
      return { cancelled: true };
    },

    'agent.edits.decide': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const session = await ownSession(params.sessionId, caller);
      await guard.writable(session.project_id, caller);
      const rows = await repository.edits(session.id, {
        pendingOnly: params.editIds === undefined,
        ids: params.editIds,
      });
      if (params.editIds !== undefined && rows.length !== new Set(params.editIds).size) {
        throw new RpcError('not_found', { message: 'Edit not found in this session' });
      }
      const decided = [];
      for (const row of rows) {
        decided.push(
          row.status === 'pending'
            ? await edits.decide(row, {
                projectId: session.project_id,
                decision: params.decision,
                decidedBy: caller.userId,
              })
            : row,
        );
      }
      return { edits: decided.map(editOf) };
    },

    'agent.sessions.list': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const rows = await repository.listSessions({
        userId: caller.userId,
        projectId: params.projectId,
        limit: params.limit + 1,
        after: decodeCursor(params.cursor),
      });
      const page = rows.slice(0, params.limit);
      const last = page.at(-1);
      return {
        items: page.map((row) => sessionOf(row, live.get(row.id) !== undefined)),
        nextCursor:
          rows.length > params.limit && last !== undefined
            ? encodeCursor({ at: last.updated_at, id: last.id })
            : null,
      };
    },

    'agent.sessions.get': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const session = await ownSession(params.sessionId, caller);
      const running = live.get(session.id);
      const [turns, events, editRows] = await Promise.all([
        repository.turns(session.id),
        repository.events(session.id, running === undefined ? {} : { beforeSeq: running.firstSeq }),
        repository.edits(session.id),
      ]);
      const byTurn = new Map<string, AgentEvent[]>();
      const all = [
        ...events,
        ...(running?.snapshot().map((event) => ({ turnId: running.turnId, event })) ?? []),
      ];
      for (const { turnId, event } of all) {
        const list = byTurn.get(turnId) ?? [];
        list.push(event);
        byTurn.set(turnId, list);
      }
      return {
        session: sessionOf(session, running !== undefined),
        turns: turns.map((row) => turnOf(row, byTurn.get(row.id) ?? [])),
        edits: editRows.map(editOf),
      };
    },

    'agent.sessions.update': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const session = await ownSession(params.sessionId, caller);
      const updated = await repository.updateSession(session.id, {
        title: params.title,
        autoApply: params.autoApply,
      });
      return sessionOf(updated, live.get(session.id) !== undefined);
    },

    'agent.sessions.delete': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const session = await ownSession(params.sessionId, caller);
      const turn = live.get(session.id);
      if (turn !== undefined) {
        turn.controller.abort(new RpcError('cancelled'));
        await turn.done;
      }
      await repository.deleteSession(session.id);
      return { deleted: true as const };
    },
  });
}

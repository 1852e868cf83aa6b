// The chat side panel of a project: plain chat with a model (llm.chat, streamed over the WebSocket) and, when
// the gateway serves the agent, the tool-using agent (agent.chat) with its tool calls and reviewed edits.
// Each turn shows its tokens and cost; the balance is re-read after every turn until the charge shows.
import { isRpcError, type AgentEvent, type EditProposal, type Model, type TokenEvent } from '@cyber/contract';
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import type { ChatPanelProps } from '../../shell/mount-points.tsx';
import { canWrite } from '../../shell/AppShell.tsx';
import { chatErrorText } from './chat-errors.ts';
import { formatCredits } from './format.ts';
import { initialModel, MODEL_STORAGE_KEY, ModelPicker } from './ModelPicker.tsx';
import { TurnView } from './TurnView.tsx';
import {
  answerText,
  applyAgentEvent,
  applyTokenEvent,
  changedFiles,
  failTurn,
  finishTurn,
  historyMessages,
  startTurn,
  updateEdits,
  type Turn,
} from './turns.ts';
import { useBalance } from './use-balance.ts';

/** Most tokens one plain-chat reply may use. */
export const MAX_REPLY_TOKENS = 512;

function rememberedModel(): string | null {
  try {
    return window.localStorage.getItem(MODEL_STORAGE_KEY);
  } catch {
    return null;
  }
}

/** The chat panel (mounted by the IDE through ChatPanelSlot). */
export function ChatPanel({ project, user, activePath, openFile, reloadFile, refreshTree }: ChatPanelProps) {
  const rpc = useRpc();
  const balance = useBalance();
  const [models, setModels] = useState<Model[] | undefined>(undefined);
  const [modelsError, setModelsError] = useState<string | undefined>(undefined);
  const [model, setModel] = useState<string | undefined>(undefined);
  const [turns, setTurns] = useState<Turn[]>([]);
  const [input, setInput] = useState('');
  const [running, setRunning] = useState(false);
  const [agentAvailable, setAgentAvailable] = useState(false);
  const [agentMode, setAgentMode] = useState(false);
  const [sessionId, setSessionId] = useState<string | undefined>(undefined);
  const abortRef = useRef<AbortController | undefined>(undefined);
  const turnsRef = useRef<Turn[]>([]);
  const listRef = useRef<HTMLDivElement>(null);
  const writable = canWrite(user);

  turnsRef.current = turns;

  useEffect(() => {
    let live = true;
    rpc.call('models.list', { limit: 100 }).then(
      (page) => {
        if (!live) return;
        setModels(page.items);
        setModel((current) => current ?? initialModel(page.items, rememberedModel()));
      },
      (error: unknown) => {
        if (live) setModelsError(errorText(error));
      },
    );
    // The agent mode appears only when the gateway answers for agent sessions.
    rpc.call('agent.sessions.list', { projectId: project.id, limit: 1 }).then(
      () => live && setAgentAvailable(true),
      () => live && setAgentAvailable(false),
    );
    return () => {
      live = false;
      abortRef.current?.abort();
    };
  }, [rpc, project.id]);

  useEffect(() => {
    const list = listRef.current;
    if (list !== null) list.scrollTop = list.scrollHeight;
  }, [turns]);

  const update = useCallback((id: string, change: (turn: Turn) => Turn) => {
    setTurns((current) => current.map((turn) => (turn.id === id ? change(turn) : turn)));
  }, []);

  const runChat = async (turn: Turn, signal: AbortSignal): Promise<number> => {
    const history = historyMessages(turnsRef.current.filter((other) => other.id !== turn.id));
    const system =
      `You are a helpful coding assistant for the project "${project.name}".` +
      (activePath === undefined ? '' : ` The user has the file ${activePath} open.`);
    const result = await rpc.stream(
      'llm.chat',
      {
        model: turn.model,
        maxTokens: MAX_REPLY_TOKENS,
        messages: [{ role: 'system', content: system }, ...history, { role: 'user', content: turn.prompt }],
      },
      { signal, onNotification: (event: TokenEvent) => update(turn.id, (t) => applyTokenEvent(t, event)) },
    );
    update(turn.id, (t) => {
      const content = result.message.content ?? '';
      const filled =
        answerText(t) === '' && content !== ''
          ? applyTokenEvent(t, {
              kind: 'token',
              text: content,
              completionTokens: result.usage.completionTokens,
            })
          : t;
      return finishTurn(filled, { usage: result.usage, finishReason: result.finishReason });
    });
    return result.usage.cost;
  };

  const runAgent = async (turn: Turn, signal: AbortSignal): Promise<number> => {
    const result = await rpc.stream(
      'agent.chat',
      {
        ...(sessionId === undefined ? { projectId: project.id, model: turn.model } : { sessionId }),
        message: turn.prompt,
      },
      {
        signal,
        onNotification: (event: AgentEvent) => {
          if (event.kind === 'turnStarted') setSessionId(event.sessionId);
          // An edit auto-applied during the turn changed the file under an open tab.
          if (event.kind === 'edit') changedFiles([event.edit]).forEach(reloadFile);
          update(turn.id, (t) => applyAgentEvent(t, event));
        },
      },
    );
    setSessionId(result.sessionId);
    update(turn.id, (t) => {
      let next = t;
      for (const edit of result.pendingEdits) next = applyAgentEvent(next, { kind: 'edit', seq: 0, edit });
      if (answerText(next) === '' && result.answer !== '') {
        next = applyAgentEvent(next, { kind: 'textDelta', seq: 0, text: result.answer });
      }
      return finishTurn(next, { usage: result.usage, finishReason: result.finishReason });
    });
    refreshTree();
    return result.usage.cost;
  };

  const send = async () => {
    const prompt = input.trim();
    if (prompt === '' || running || model === undefined || !writable) return;
    const mode = agentMode && agentAvailable ? 'agent' : 'chat';
    const turn = startTurn({ id: crypto.randomUUID(), mode, prompt, model });
    setTurns((current) => [...current, turn]);
    setInput('');
    const controller = new AbortController();
    abortRef.current = controller;
    setRunning(true);
    const before = balance.balance?.balance;
    let cost: number | undefined = 0;
    try {
      cost =
        mode === 'agent' ? await runAgent(turn, controller.signal) : await runChat(turn, controller.signal);
    } catch (error) {
      const stopped = controller.signal.aborted || isRpcError(error, 'cancelled');
      // A stopped generation is billed for what it generated, but the amount is not reported back.
      cost = stopped ? undefined : 0;
      update(turn.id, (t) => failTurn(t, stopped ? { stopped } : { stopped, error: chatErrorText(error) }));
      if (mode === 'agent') refreshTree();
    } finally {
      if (abortRef.current === controller) abortRef.current = undefined;
      setRunning(false);
    }
    await balance.settle(before, cost);
  };

  const stop = () => {
    abortRef.current?.abort();
    if (agentMode && sessionId !== undefined) {
      rpc.call('agent.cancel', { sessionId }).catch(() => undefined);
    }
  };

  const decide = async (edit: EditProposal, decision: 'accept' | 'reject') => {
    const result = await rpc.call('agent.edits.decide', {
      sessionId: edit.sessionId,
      decision,
      editIds: [edit.id],
    });
    setTurns((current) => updateEdits(current, result.edits));
    const changed = changedFiles(result.edits);
    if (result.edits.some((decided) => decided.status === 'applied')) refreshTree();
    // An open tab of a changed file shows the new content; the file is opened when it was not.
    changed.forEach(reloadFile);
    if (changed.includes(edit.path)) openFile(edit.path);
  };

  const newChat = () => {
    setTurns([]);
    setSessionId(undefined);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    } else if (event.key === 'Escape' && running) {
      event.preventDefault();
      stop();
    }
  };

  const current = balance.balance;
  return (
    <section
      className="flex h-full min-w-0 flex-col bg-surface text-fg"
      aria-label="Chat"
      data-testid="chat-panel"
    >
      <header className="flex flex-wrap items-center gap-2 border-b border-border px-2 py-1.5">
        <h2 className="font-semibold">Chat</h2>
        <ModelPicker models={models ?? []} value={model} onChange={setModel} disabled={running} />
        {agentAvailable && (
          <label className="flex items-center gap-1 text-xs text-muted">
            <input
              type="checkbox"
              checked={agentMode}
              disabled={running}
              onChange={(event) => {
                setAgentMode(event.target.checked);
                setSessionId(undefined);
              }}
              data-testid="agent-toggle"
            />
            Agent
          </label>
        )}
        <button
          type="button"
          onClick={newChat}
          disabled={running || turns.length === 0}
          className="rounded border border-border px-2 py-0.5 text-xs hover:bg-surface-alt disabled:opacity-60"
        >
          New chat
        </button>
      </header>
      <div className="flex items-center gap-2 border-b border-border px-2 py-1 text-xs text-muted">
        <span>Balance</span>
        {current === undefined ? (
          <span>{balance.error ?? '…'}</span>
        ) : (
          <span className="font-mono text-fg" data-testid="chat-balance" data-micro-credits={current.balance}>
            {formatCredits(current.balance)} credits
          </span>
        )}
        {current !== undefined && current.reserved > 0 && (
          <span title="Held by requests in flight">({formatCredits(current.reserved)} held)</span>
        )}
        {balance.settling && <span role="status">updating…</span>}
      </div>
      {modelsError !== undefined && (
        <p role="alert" className="px-2 py-1 text-xs text-danger">
          Models could not be listed: {modelsError}
        </p>
      )}
      {models !== undefined && model === undefined && (
        <p className="px-2 py-1 text-xs text-warning">
          No model is ready. An administrator can download and load one in the admin dashboard.
        </p>
      )}
      <div ref={listRef} className="min-h-0 flex-1 overflow-y-auto px-2 py-2" aria-live="polite">
        {turns.length === 0 ? (
          <p className="p-2 text-muted">
            {agentMode
              ? 'Ask the agent to read, change or run code in this project. It proposes edits for you to review.'
              : `Ask about ${project.name}${activePath === undefined ? '' : ` or ${activePath}`}.`}
          </p>
        ) : (
          turns.map((turn) => (
            <TurnView key={turn.id} turn={turn} canDecide={writable} onDecide={decide} onOpen={openFile} />
          ))
        )}
      </div>
      <form
        className="flex flex-col gap-1 border-t border-border p-2"
        onSubmit={(event) => {
          event.preventDefault();
          void send();
        }}
      >
        {!writable && <p className="text-xs text-muted">Viewers can read but not chat with models.</p>}
        <textarea
          aria-label="Message"
          data-testid="chat-input"
          value={input}
          rows={3}
          disabled={!writable}
          onChange={(event) => setInput(event.target.value)}
          onKeyDown={onKeyDown}
          placeholder={writable ? 'Message (Enter sends, Shift+Enter for a new line)' : ''}
          className="resize-none rounded border border-border bg-surface-alt px-2 py-1 text-fg"
        />
        <div className="flex justify-end gap-2">
          {running ? (
            <button
              type="button"
              onClick={stop}
              data-testid="chat-stop"
              className="rounded border border-danger px-3 py-1 font-semibold text-danger"
            >
              Stop
            </button>
          ) : (
            <button
              type="submit"
              data-testid="chat-send"
              disabled={!writable || model === undefined || input.trim() === ''}
              className="rounded bg-accent px-3 py-1 font-semibold text-on-accent disabled:opacity-60"
            >
              Send
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

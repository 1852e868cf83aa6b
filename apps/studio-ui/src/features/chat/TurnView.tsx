// One turn of the conversation: the user's message, then what came back in order (Markdown text, tool calls,
// edit proposals, notes), then how it ended: tokens and cost, or the reason it stopped.
import type { EditProposal } from '@cyber/contract';
import { EditProposalView } from './EditProposalView.tsx';
import { formatCount, formatCredits } from './format.ts';
import { Markdown } from './Markdown.tsx';
import { ToolCallView } from './ToolCallView.tsx';
import type { Turn } from './turns.ts';

/** Props of {@link TurnView}. */
interface Props {
  turn: Turn;
  canDecide: boolean;
  onDecide: (edit: EditProposal, decision: 'accept' | 'reject') => Promise<void>;
  onOpen: (path: string) => void;
}

/** Why a finished turn ended, when it was not a plain answer. */
const FINISH_TEXT: Record<string, string> = {
  length: 'The answer reached the reply length limit and was cut off.',
  stepLimit: 'The agent stopped after its step limit; ask it to continue.',
  budgetExceeded:
    'The agent stopped because your credit balance ran out. Ask an administrator for more credits.',
  error: 'The agent stopped because of an error.',
  cancelled: 'Stopped.',
};

/** A turn. */
export function TurnView({ turn, canDecide, onDecide, onOpen }: Props) {
  const finishText = turn.finishReason === undefined ? undefined : FINISH_TEXT[turn.finishReason];
  return (
    <article className="mb-3 flex flex-col gap-1" data-testid="chat-turn" data-status={turn.status}>
      <div
        className="self-end whitespace-pre-wrap break-words rounded bg-surface-alt px-2 py-1"
        data-testid="chat-prompt"
      >
        {turn.prompt}
      </div>
      <div className="flex flex-col" data-testid="chat-answer">
        {turn.items.map((item, index) => {
          switch (item.kind) {
            case 'text':
              return <Markdown key={index} text={item.text} />;
            case 'tool':
              return <ToolCallView key={item.callId} call={item} />;
            case 'edit':
              return (
                <EditProposalView
                  key={item.edit.id}
                  edit={item.edit}
                  canDecide={canDecide}
                  onDecide={onDecide}
                  onOpen={onOpen}
                />
              );
            case 'note':
              return (
                <p key={index} className="text-xs italic text-muted">
                  {item.text}
                </p>
              );
          }
        })}
      </div>
      {turn.status === 'waiting' && (
        <p className="text-xs text-muted" role="status">
          {turn.queuePosition === undefined
            ? 'Waiting for the model…'
            : `Waiting in the queue (position ${turn.queuePosition})…`}
        </p>
      )}
      {turn.status === 'streaming' && (
        <p className="text-xs text-muted" role="status">
          Answering…
        </p>
      )}
      {turn.usage !== undefined && (
        <p className="text-xs text-muted" data-testid="turn-usage" data-cost={turn.usage.cost}>
          {formatCount(turn.usage.totalTokens)} tokens ({formatCount(turn.usage.promptTokens)} in,{' '}
          {formatCount(turn.usage.completionTokens)} out) · {formatCredits(turn.usage.cost)} credits ·{' '}
          {turn.model}
        </p>
      )}
      {finishText !== undefined && <p className="text-xs text-warning">{finishText}</p>}
      {turn.status === 'stopped' && turn.finishReason === undefined && (
        <p className="text-xs text-warning">Stopped. You are billed only for the tokens generated so far.</p>
      )}
      {turn.error !== undefined && (
        <p role="alert" className="text-xs text-danger" data-testid="chat-error">
          {turn.error}
        </p>
      )}
    </article>
  );
}

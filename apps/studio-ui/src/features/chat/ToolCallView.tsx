// One tool call of the agent: its name and arguments, then its result once it came back. Collapsed to one
// line by default so a long turn stays readable; the native <details> gives keyboard toggling for free.
import type { TurnItem } from './turns.ts';

/** Props of {@link ToolCallView}. */
interface Props {
  call: Extract<TurnItem, { kind: 'tool' }>;
}

/** Short summary of the arguments for the collapsed line, e.g. `path: "src/a.py"`. */
export function argumentSummary(args: Record<string, unknown>): string {
  const parts = Object.entries(args).map(([key, value]) => {
    const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
    return `${key}: ${text.length > 40 ? `${text.slice(0, 39)}…` : text}`;
  });
  const summary = parts.join(', ');
  return summary.length > 80 ? `${summary.slice(0, 79)}…` : summary;
}

/** A collapsible tool call. */
export function ToolCallView({ call }: Props) {
  const { result } = call;
  const state = result === undefined ? 'running…' : result.ok ? 'ok' : 'failed';
  const stateClass = result === undefined ? 'text-muted' : result.ok ? 'text-success' : 'text-danger';
  return (
    <details className="my-1 rounded border border-border bg-surface-alt" data-testid="tool-call">
      <summary className="cursor-pointer px-2 py-1 font-mono text-xs">
        <span className="text-accent">{call.tool}</span>
        <span className="text-muted">({argumentSummary(call.arguments)})</span>{' '}
        <span className={stateClass}>{state}</span>
      </summary>
      <div className="flex flex-col gap-1 border-t border-border p-2 text-xs">
        <div className="text-muted">Arguments</div>
        <pre className="max-h-40 overflow-auto whitespace-pre-wrap break-words font-mono">
          {JSON.stringify(call.arguments, null, 2)}
        </pre>
        {result !== undefined && (
          <>
            <div className="text-muted">Result{result.truncated ? ' (truncated)' : ''}</div>
            <pre
              className={`max-h-60 overflow-auto whitespace-pre-wrap break-words font-mono ${result.ok ? '' : 'text-danger'}`}
            >
              {result.content}
            </pre>
          </>
        )}
      </div>
    </details>
  );
}

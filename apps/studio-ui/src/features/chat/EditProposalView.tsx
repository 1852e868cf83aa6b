// A file change the agent proposed: path, operation and status, the diff in Monaco's diff editor, and accept /
// reject while it is pending. Deciding is the parent's job (agent.edits.decide); this shows and asks.
import type { EditProposal } from '@cyber/contract';
import { lazy, Suspense, useMemo, useState } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { diffSides } from './unified-diff.ts';

const DiffView = lazy(() => import('./DiffView.tsx'));

/** Props of {@link EditProposalView}. */
interface Props {
  edit: EditProposal;
  /** Whether the user may decide (developers and admins). */
  canDecide: boolean;
  /** Accepts or rejects this edit; a thrown error is shown here. */
  onDecide: (edit: EditProposal, decision: 'accept' | 'reject') => Promise<void>;
  /** Opens the file in the editor. */
  onOpen: (path: string) => void;
}

const STATUS_TEXT: Record<EditProposal['status'], { text: string; className: string }> = {
  pending: { text: 'waiting for your review', className: 'text-warning' },
  applied: { text: 'applied', className: 'text-success' },
  rejected: { text: 'rejected', className: 'text-muted' },
  conflict: { text: 'not applied: the file changed since the proposal', className: 'text-danger' },
};

const OPERATION_TEXT: Record<EditProposal['operation'], string> = {
  create: 'new file',
  replaceRange: 'edit',
  searchReplace: 'edit',
  delete: 'delete file',
};

/** An edit proposal with its diff. */
export function EditProposalView({ edit, canDecide, onDecide, onOpen }: Props) {
  const sides = useMemo(() => diffSides(edit.diff), [edit.diff]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const status = STATUS_TEXT[edit.status];

  const decide = async (decision: 'accept' | 'reject') => {
    setBusy(true);
    setError(undefined);
    try {
      await onDecide(edit, decision);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section
      className="my-1 overflow-hidden rounded border border-border bg-surface-alt"
      data-testid="edit-proposal"
      aria-label={`Proposed change to ${edit.path}`}
    >
      <header className="flex flex-wrap items-center gap-2 px-2 py-1 text-xs">
        <button
          type="button"
          onClick={() => onOpen(edit.path)}
          className="font-mono text-accent underline-offset-2 hover:underline"
          disabled={edit.operation === 'delete'}
        >
          {edit.path}
        </button>
        <span className="text-muted">{OPERATION_TEXT[edit.operation]}</span>
        <span className={`ml-auto ${status.className}`} data-testid="edit-status">
          {status.text}
        </span>
      </header>
      {sides.empty ? (
        <p className="border-t border-border px-2 py-1 text-xs text-muted">No textual change.</p>
      ) : (
        <div className="border-t border-border">
          <Suspense fallback={<p className="p-2 text-muted">Loading diff…</p>}>
            <DiffView original={sides.original} modified={sides.modified} path={edit.path} />
          </Suspense>
        </div>
      )}
      {edit.status === 'pending' && canDecide && (
        <div className="flex justify-end gap-2 border-t border-border px-2 py-1">
          <button
            type="button"
            disabled={busy}
            onClick={() => void decide('reject')}
            className="rounded border border-border px-2 py-0.5 text-xs hover:bg-surface disabled:opacity-60"
          >
            Reject
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() => void decide('accept')}
            className="rounded bg-accent px-2 py-0.5 text-xs font-semibold text-on-accent disabled:opacity-60"
          >
            Accept
          </button>
        </div>
      )}
      {error !== undefined && (
        <p role="alert" className="px-2 py-1 text-xs text-danger">
          {error}
        </p>
      )}
    </section>
  );
}

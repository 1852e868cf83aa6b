// Modal dialogs on the native <dialog> element: focus moves in, Escape closes, the page behind is inert.
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { errorText } from '../rpc/error-text.ts';

/** Props of {@link Modal}. */
interface ModalProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
}

/** A modal dialog, open while mounted. */
export function Modal({ title, onClose, children }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog !== null && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-label={title}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      className="m-auto w-[28rem] max-w-[90vw] rounded-lg border border-border bg-surface p-0 text-fg backdrop:bg-black/60"
    >
      <div className="flex flex-col gap-3 p-4">
        <h2 className="text-base font-semibold">{title}</h2>
        {children}
      </div>
    </dialog>
  );
}

/** Classes of the dialogs' buttons. */
export const buttonClass = {
  primary: 'rounded bg-accent px-3 py-1.5 font-semibold text-on-accent disabled:opacity-60',
  danger: 'rounded border border-danger px-3 py-1.5 font-semibold text-danger disabled:opacity-60',
  plain: 'rounded border border-border px-3 py-1.5 hover:bg-surface-alt disabled:opacity-60',
};

/** Props of {@link PromptDialog}. */
interface PromptProps {
  title: string;
  label: string;
  initial?: string;
  confirmLabel: string;
  /** Does the work; a thrown error is shown in the dialog, which stays open. */
  onSubmit: (value: string) => Promise<void>;
  onClose: () => void;
}

/** Asks for one line of text. */
export function PromptDialog({ title, label, initial = '', confirmLabel, onSubmit, onClose }: PromptProps) {
  const [value, setValue] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onSubmit(value);
      onClose();
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  };
  return (
    <Modal title={title} onClose={onClose}>
      <form onSubmit={(event) => void submit(event)} className="flex flex-col gap-3">
        <label className="flex flex-col gap-1">
          <span className="text-muted">{label}</span>
          <input
            autoFocus
            value={value}
            onChange={(event) => setValue(event.target.value)}
            className="rounded border border-border bg-surface-alt px-2 py-1.5 text-fg"
          />
        </label>
        {error !== undefined && (
          <p role="alert" className="text-danger">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <button type="button" onClick={onClose} className={buttonClass.plain}>
            Cancel
          </button>
          <button type="submit" disabled={busy} className={buttonClass.primary}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Props of {@link ConfirmDialog}. */
interface ConfirmProps {
  title: string;
  text: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/** Asks to confirm a destructive action. */
export function ConfirmDialog({ title, text, confirmLabel, onConfirm, onClose }: ConfirmProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
      onClose();
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  };
  return (
    <Modal title={title} onClose={onClose}>
      <p>{text}</p>
      {error !== undefined && (
        <p role="alert" className="text-danger">
          {error}
        </p>
      )}
      <div className="flex justify-end gap-2">
        <button type="button" onClick={onClose} className={buttonClass.plain} autoFocus>
          Cancel
        </button>
        <button type="button" disabled={busy} onClick={() => void confirm()} className={buttonClass.danger}>
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}

// Modal dialogs on the native <dialog> element: focus moves in, Escape closes, the page behind is inert.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { errorText } from '../rpc/error-text.ts';
import { buttonClass } from './button-class.ts';
import { ErrorLine, Field, FormActions, useFormAction } from './form.tsx';

export { buttonClass };

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
  const form = useFormAction();
  return (
    <Modal title={title} onClose={onClose}>
      <form
        onSubmit={form.submitWith(async () => {
          await onSubmit(value);
          onClose();
        })}
        className="flex flex-col gap-3"
      >
        <Field label={label}>
          <input
            autoFocus
            value={value}
            onChange={(event) => setValue(event.target.value)}
            className="rounded border border-border bg-surface-alt px-2 py-1.5 text-fg"
          />
        </Field>
        <ErrorLine error={form.error} />
        <FormActions submitLabel={confirmLabel} busy={form.busy} onCancel={onClose} />
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
      <ErrorLine error={error} />
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

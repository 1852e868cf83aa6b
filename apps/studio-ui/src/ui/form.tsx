// Pieces every form of the studio shares: a labelled field, the error line, the Cancel / submit row, and the
// submit handler that keeps the busy flag and the error in words.
import { useState, type FormEvent, type ReactNode } from 'react';
import { errorText } from '../rpc/error-text.ts';
import { buttonClass } from './button-class.ts';

/** Props of {@link Field}. */
interface FieldProps {
  /** The words above the control; they also name it for assistive technology. */
  label: string;
  /** The control (an input or a select). */
  children: ReactNode;
}

/** A control with its label above it. */
export function Field({ label, children }: FieldProps) {
  return (
    <label className="flex flex-col gap-1">
      <span className="text-muted">{label}</span>
      {children}
    </label>
  );
}

/** Props of {@link ErrorLine}. */
interface ErrorLineProps {
  /** The text; nothing is shown while undefined. */
  error: string | undefined;
  /** A `data-testid` for end-to-end tests. */
  testId?: string;
}

/** An error announced to assistive technology; nothing when there is none. */
export function ErrorLine({ error, testId }: ErrorLineProps) {
  if (error === undefined) return null;
  return (
    <p role="alert" className="text-danger" data-testid={testId}>
      {error}
    </p>
  );
}

/** Props of {@link FormActions}. */
interface FormActionsProps {
  /** The text of the submit button. */
  submitLabel: string;
  /** Disables the submit button while the form's work runs. */
  busy: boolean;
  onCancel: () => void;
}

/** The Cancel and submit buttons at the foot of a dialog's form. */
export function FormActions({ submitLabel, busy, onCancel }: FormActionsProps) {
  return (
    <div className="flex justify-end gap-2">
      <button type="button" className={buttonClass.plain} onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className={buttonClass.primary} disabled={busy}>
        {submitLabel}
      </button>
    </div>
  );
}

/** What {@link useFormAction} returns. */
export interface FormAction {
  /** True from the start of a run until it fails; a run that succeeds leaves it set (the form is done). */
  busy: boolean;
  /** The last failure in words, or a refusal set with {@link FormAction.setError}. */
  error: string | undefined;
  /** Shows a refusal (a check before any work) without running anything. */
  setError: (error: string | undefined) => void;
  /** Runs `work`: clears the error, sets busy, and on a throw shows its text and clears busy. */
  run: (work: () => Promise<void>) => Promise<void>;
  /** A form's onSubmit that stops the page load and runs `work`. */
  submitWith: (work: () => Promise<void>) => (event: FormEvent) => void;
}

/** Options of {@link useFormAction}. */
export interface FormActionOptions {
  /** Turns a failure into words; {@link errorText} by default. */
  describe?: (failure: unknown) => string;
}

/** The busy flag and error line of a form whose submit calls the server. */
export function useFormAction({ describe = errorText }: FormActionOptions = {}): FormAction {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (failure) {
      setError(describe(failure));
      setBusy(false);
    }
  };
  return {
    busy,
    error,
    setError,
    run,
    submitWith: (work) => (event) => {
      event.preventDefault();
      void run(work);
    },
  };
}

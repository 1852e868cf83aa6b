// The dialog that shows a secret once after it was created (a generated password, an API key's secret).
import type { ReactNode } from 'react';
import { buttonClass, Modal } from '../../ui/Dialog.tsx';

/** Props of {@link SecretOnceDialog}. */
interface Props {
  title: string;
  /** What the secret is and what to do with it. */
  children: ReactNode;
  secret: string;
  /** The `data-testid` of the secret's text. */
  testId: string;
  /** Adds a Copy button (to the clipboard, where the browser allows it). */
  copyable?: boolean;
  onClose: () => void;
}

/** Shows `secret` selectable in full, with Done (and Copy). */
export function SecretOnceDialog({ title, children, secret, testId, copyable = false, onClose }: Props) {
  return (
    <Modal title={title} onClose={onClose}>
      <p>{children}</p>
      <code className="select-all break-all rounded bg-surface-alt p-2 font-mono" data-testid={testId}>
        {secret}
      </code>
      <div className="flex justify-end gap-2">
        {copyable && (
          <button
            type="button"
            className={buttonClass.plain}
            onClick={() => void navigator.clipboard?.writeText(secret).catch(() => undefined)}
          >
            Copy
          </button>
        )}
        <button type="button" className={buttonClass.primary} onClick={onClose} autoFocus>
          Done
        </button>
      </div>
    </Modal>
  );
}

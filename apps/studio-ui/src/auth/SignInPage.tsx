// Username + password sign-in. Errors are shown under the form in words (wrong credentials, disabled account,
// rate limit), and the form stays usable from the keyboard alone.
import { useState } from 'react';
import { useRpc } from '../rpc/RpcProvider.tsx';
import { signInErrorText } from '../rpc/error-text.ts';
import { ThemeSwitcher } from '../shell/ThemeSwitcher.tsx';
import { ErrorLine, Field, useFormAction } from '../ui/form.tsx';

/** Props of {@link SignInPage}. */
interface Props {
  /** Why the previous session ended, when it was not the user's choice. */
  reason?: string | undefined;
}

/** The sign-in page. */
export function SignInPage({ reason }: Props) {
  const { session } = useRpc();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submitWith } = useFormAction({ describe: signInErrorText });

  return (
    <main className="flex min-h-full items-center justify-center bg-bg p-6">
      <form
        onSubmit={submitWith(async () => {
          await session.signIn(username.trim(), password);
        })}
        className="flex w-full max-w-sm flex-col gap-4 rounded-lg border border-border bg-surface p-6 shadow-lg"
        aria-labelledby="signin-title"
      >
        <div className="flex items-center justify-between">
          <h1 id="signin-title" className="neon-glow text-xl font-semibold text-accent">
            CyberDevStudio
          </h1>
          <ThemeSwitcher />
        </div>
        {reason !== undefined && error === undefined && (
          <p className="text-warning" role="status">
            {reason}
          </p>
        )}
        <Field label="Username or email">
          <input
            name="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onChange={(event) => setUsername(event.target.value)}
            className="rounded border border-border bg-surface-alt px-3 py-2 text-fg"
          />
        </Field>
        <Field label="Password">
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            className="rounded border border-border bg-surface-alt px-3 py-2 text-fg"
          />
        </Field>
        <ErrorLine error={error} testId="signin-error" />
        <button
          type="submit"
          disabled={busy}
          className="rounded bg-accent px-3 py-2 font-semibold text-on-accent disabled:opacity-60"
        >
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

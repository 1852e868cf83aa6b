// Username + password sign-in. Errors are shown under the form in words (wrong credentials, disabled account,
// rate limit), and the form stays usable from the keyboard alone.
import { useState, type FormEvent } from 'react';
import { useRpc } from '../rpc/RpcProvider.tsx';
import { signInErrorText } from '../rpc/error-text.ts';
import { ThemeSwitcher } from '../shell/ThemeSwitcher.tsx';

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
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await session.signIn(username.trim(), password);
    } catch (failure) {
      setError(signInErrorText(failure));
      setBusy(false);
    }
  };

  return (
    <main className="flex min-h-full items-center justify-center bg-bg p-6">
      <form
        onSubmit={(event) => void submit(event)}
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
        <label className="flex flex-col gap-1">
          <span className="text-muted">Username or email</span>
          <input
            name="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onChange={(event) => setUsername(event.target.value)}
            className="rounded border border-border bg-surface-alt px-3 py-2 text-fg"
          />
        </label>
        <label className="flex flex-col gap-1">
          <span className="text-muted">Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            className="rounded border border-border bg-surface-alt px-3 py-2 text-fg"
          />
        </label>
        {error !== undefined && (
          <p className="text-danger" role="alert" data-testid="signin-error">
            {error}
          </p>
        )}
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

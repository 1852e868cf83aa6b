// The frame around every signed-in page: the top bar (home, admin link for admins, theme, user, sign-out) and
// the page below it.
import type { User } from '@cyber/contract';
import type { ReactNode } from 'react';
import { navigate } from '../lib/router.ts';
import { useRpc } from '../rpc/RpcProvider.tsx';
import { ThemeSwitcher } from './ThemeSwitcher.tsx';

/** Props of {@link AppShell}. */
interface Props {
  user: User;
  /** Shown after the product name (e.g. the open project). */
  title?: ReactNode;
  children: ReactNode;
}

/** True when the user may change files and run code. */
export function canWrite(user: User): boolean {
  return user.role === 'developer' || user.role === 'admin';
}

/** The app frame. */
export function AppShell({ user, title, children }: Props) {
  const { session } = useRpc();
  return (
    <div className="flex h-full flex-col bg-bg text-fg">
      <header className="flex h-11 shrink-0 items-center gap-3 border-b border-border bg-surface px-3">
        <a
          href="/"
          onClick={(event) => {
            event.preventDefault();
            navigate('/');
          }}
          className="neon-glow font-semibold text-accent"
        >
          CyberDevStudio
        </a>
        <div className="min-w-0 flex-1 truncate">{title}</div>
        {user.role === 'admin' && (
          <a
            href="/admin"
            onClick={(event) => {
              event.preventDefault();
              navigate('/admin');
            }}
            className="text-accent underline-offset-2 hover:underline"
          >
            Admin
          </a>
        )}
        <ThemeSwitcher />
        <span className="text-muted" data-testid="current-user">
          {user.username} · {user.role}
        </span>
        <button
          type="button"
          onClick={() => void session.signOut()}
          className="rounded border border-border px-2 py-1 hover:bg-surface-alt"
        >
          Sign out
        </button>
      </header>
      <div className="min-h-0 flex-1">{children}</div>
    </div>
  );
}

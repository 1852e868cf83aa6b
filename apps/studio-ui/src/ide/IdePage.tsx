import type { User } from '@cyber/contract';
import { AppShell } from '../shell/AppShell.tsx';

/** Props of {@link IdePage}. */
interface Props {
  user: User;
  projectId: string;
}

/** The IDE of one project. */
export function IdePage({ user, projectId }: Props) {
  return (
    <AppShell user={user} title={projectId}>
      <p className="p-6 text-muted">The editor arrives here.</p>
    </AppShell>
  );
}

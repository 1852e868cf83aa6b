import type { User } from '@cyber/contract';
import { AppShell } from '../shell/AppShell.tsx';

/** Props of {@link ProjectsPage}. */
interface Props {
  user: User;
}

/** The project picker. */
export function ProjectsPage({ user }: Props) {
  return (
    <AppShell user={user} title="Projects">
      <p className="p-6 text-muted">Projects will be listed here.</p>
    </AppShell>
  );
}

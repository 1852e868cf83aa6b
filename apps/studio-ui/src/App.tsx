// Routes by session state and path: sign-in when signed out, otherwise the project list, a project's IDE or
// the admin dashboard.
import type { User } from '@cyber/contract';
import { useEffect } from 'react';
import { navigate, parseRoute, usePath } from './lib/router.ts';
import { useSession } from './rpc/RpcProvider.tsx';
import { SignInPage } from './auth/SignInPage.tsx';
import { AppShell } from './shell/AppShell.tsx';
import { AdminSlot } from './shell/mount-points.tsx';
import { ProjectsPage } from './ide/ProjectsPage.tsx';
import { IdePage } from './ide/IdePage.tsx';

/** Sends a non-admin who opened /admin back to the projects. */
function RedirectHome() {
  useEffect(() => navigate('/', { replace: true }), []);
  return null;
}

function SignedIn({ user }: { user: User }) {
  const route = parseRoute(usePath());
  switch (route.name) {
    case 'projects':
      return <ProjectsPage user={user} />;
    case 'project':
      return <IdePage user={user} projectId={route.projectId} />;
    case 'admin':
      return (
        <AppShell user={user} title="Admin">
          {user.role === 'admin' ? <AdminSlot user={user} /> : <RedirectHome />}
        </AppShell>
      );
    case 'not-found':
      return (
        <AppShell user={user}>
          <p className="p-6 text-muted">Nothing here. Use the studio link above to go back.</p>
        </AppShell>
      );
  }
}

/** The studio. */
export function App() {
  const session = useSession();
  switch (session.status) {
    case 'restoring':
      return (
        <p className="p-6 text-muted" role="status">
          Restoring your session…
        </p>
      );
    case 'signed-out':
      return <SignInPage reason={session.reason} />;
    case 'signed-in':
      return <SignedIn user={session.user} />;
  }
}

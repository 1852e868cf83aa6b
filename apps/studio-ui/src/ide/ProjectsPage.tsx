// The project picker: the caller's projects with create, rename and delete (owners and non-viewers only).
import type { Project, User } from '@cyber/contract';
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { navigate } from '../lib/router.ts';
import { useRpc } from '../rpc/RpcProvider.tsx';
import { errorText } from '../rpc/error-text.ts';
import { AppShell, canWrite } from '../shell/AppShell.tsx';
import { buttonClass, ConfirmDialog, PromptDialog } from '../ui/Dialog.tsx';

/** Props of {@link ProjectsPage}. */
interface Props {
  user: User;
}

type Load =
  { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; projects: Project[] };

/** The project picker. */
export function ProjectsPage({ user }: Props) {
  const rpc = useRpc();
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [dialog, setDialog] = useState<ReactNode>(null);
  const writer = canWrite(user);

  const refresh = useCallback(async () => {
    try {
      const page = await rpc.call('project.list', { limit: 100 });
      setLoad({ state: 'ready', projects: page.items });
    } catch (error) {
      setLoad({ state: 'error', message: errorText(error) });
    }
  }, [rpc]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const close = () => setDialog(null);
  const create = () =>
    setDialog(
      <PromptDialog
        title="New project"
        label="Project name"
        confirmLabel="Create"
        onClose={close}
        onSubmit={async (name) => {
          const project = await rpc.call('project.create', { name });
          navigate(`/p/${project.id}`);
        }}
      />,
    );
  const rename = (project: Project) =>
    setDialog(
      <PromptDialog
        title="Rename project"
        label="New name"
        initial={project.name}
        confirmLabel="Rename"
        onClose={close}
        onSubmit={async (name) => {
          await rpc.call('project.rename', { projectId: project.id, name });
          await refresh();
        }}
      />,
    );
  const remove = (project: Project) =>
    setDialog(
      <ConfirmDialog
        title="Delete project"
        text={`Delete “${project.name}” with all its files and runs? This cannot be undone.`}
        confirmLabel="Delete"
        onClose={close}
        onConfirm={async () => {
          await rpc.call('project.delete', { projectId: project.id });
          await refresh();
        }}
      />,
    );

  return (
    <AppShell user={user} title={<span className="text-muted">Projects</span>}>
      <main className="mx-auto flex max-w-3xl flex-col gap-4 p-6">
        <div className="flex items-center justify-between">
          <h1 className="text-lg font-semibold">Projects</h1>
          {writer && (
            <button type="button" onClick={create} className={buttonClass.primary}>
              New project
            </button>
          )}
        </div>
        {load.state === 'loading' && (
          <p role="status" className="text-muted">
            Loading projects…
          </p>
        )}
        {load.state === 'error' && (
          <div role="alert" className="flex items-center gap-3 text-danger">
            {load.message}
            <button type="button" className={buttonClass.plain} onClick={() => void refresh()}>
              Retry
            </button>
          </div>
        )}
        {load.state === 'ready' && load.projects.length === 0 && (
          <p className="text-muted">
            {writer ? 'No projects yet. Create one to start.' : 'No projects have been shared with you yet.'}
          </p>
        )}
        {load.state === 'ready' && load.projects.length > 0 && (
          <ul
            className="flex flex-col divide-y divide-border rounded border border-border bg-surface"
            aria-label="Projects"
          >
            {load.projects.map((project) => (
              <li key={project.id} className="flex items-center gap-3 px-3 py-2">
                <a
                  href={`/p/${project.id}`}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(`/p/${project.id}`);
                  }}
                  className="min-w-0 flex-1 truncate font-medium text-accent hover:underline"
                >
                  {project.name}
                </a>
                <span className="text-muted">{project.access}</span>
                {project.access === 'owner' && writer && (
                  <>
                    <button type="button" className={buttonClass.plain} onClick={() => rename(project)}>
                      Rename
                    </button>
                    <button type="button" className={buttonClass.danger} onClick={() => remove(project)}>
                      Delete
                    </button>
                  </>
                )}
              </li>
            ))}
          </ul>
        )}
      </main>
      {dialog}
    </AppShell>
  );
}

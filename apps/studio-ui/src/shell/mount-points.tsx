// Mount points for features other engineers build: the agent chat side panel and the admin dashboard. Each is
// found at build time with import.meta.glob, so the shell builds before they land and picks them up the
// moment their entry file exists, with no edit here:
//   src/features/chat/index.tsx   must export `ChatPanel: ComponentType<ChatPanelProps>`
//   src/features/admin/index.tsx  must export `AdminDashboard: ComponentType<AdminDashboardProps>`
// Both are loaded lazily, so they cost nothing until shown. They use useRpc/useSession (rpc/RpcProvider.tsx)
// and useTheme (theme/ThemeProvider.tsx) for everything else.
import type { Project, User } from '@cyber/contract';
import { lazy, Suspense, type ComponentType } from 'react';

/** Props the chat panel gets: the open project and the signed-in user. */
export interface ChatPanelProps {
  project: Project;
  user: User;
  /** Path of the file open in the editor, if any (context for the agent). */
  activePath: string | undefined;
  /** Opens a file in the editor (for proposed file changes). */
  openFile: (path: string) => void;
  /**
   * A file changed on the server (an accepted agent edit): re-reads its open tab, unless the tab has unsaved
   * changes (saving those then meets the version conflict).
   */
  reloadFile: (path: string) => void;
  /** Re-reads the file tree after the agent changed files. */
  refreshTree: () => void;
}

/** Props the admin dashboard gets. */
export interface AdminDashboardProps {
  user: User;
}

const chatModules = import.meta.glob<{ ChatPanel: ComponentType<ChatPanelProps> }>(
  '../features/chat/index.tsx',
);
const adminModules = import.meta.glob<{ AdminDashboard: ComponentType<AdminDashboardProps> }>(
  '../features/admin/index.tsx',
);

const chatLoader = Object.values(chatModules)[0];
const adminLoader = Object.values(adminModules)[0];

const LazyChat =
  chatLoader === undefined ? undefined : lazy(async () => ({ default: (await chatLoader()).ChatPanel }));
const LazyAdmin =
  adminLoader === undefined
    ? undefined
    : lazy(async () => ({ default: (await adminLoader()).AdminDashboard }));

function Placeholder({ title, text }: { title: string; text: string }) {
  return (
    <div
      className="flex h-full flex-col items-center justify-center gap-2 p-6 text-center"
      data-testid="placeholder"
    >
      <h2 className="text-base font-semibold text-fg">{title}</h2>
      <p className="max-w-xs text-muted">{text}</p>
    </div>
  );
}

function Loading() {
  return <p className="p-4 text-muted">Loading…</p>;
}

/** The side panel next to the editor. */
export function ChatPanelSlot(props: ChatPanelProps) {
  if (LazyChat === undefined) {
    return <Placeholder title="Agent chat" text="The agent chat panel arrives here soon." />;
  }
  return (
    <Suspense fallback={<Loading />}>
      <LazyChat {...props} />
    </Suspense>
  );
}

/** The /admin page (the route already checks the admin role). */
export function AdminSlot(props: AdminDashboardProps) {
  if (LazyAdmin === undefined) {
    return <Placeholder title="Admin dashboard" text="The admin dashboard arrives here soon." />;
  }
  return (
    <Suspense fallback={<Loading />}>
      <LazyAdmin {...props} />
    </Suspense>
  );
}

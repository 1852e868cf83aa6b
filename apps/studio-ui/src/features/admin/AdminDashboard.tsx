// The admin dashboard: one tab per area, the tab in the path (/admin/users …) so it survives a reload and the
// back button works. The route already checked the admin role; non-admins never get here.
import type { AdminDashboardProps } from '../../shell/mount-points.tsx';
import { navigate, usePath } from '../../lib/router.ts';
import { AuditPanel } from './AuditPanel.tsx';
import { KeysPanel } from './KeysPanel.tsx';
import { ModelsPanel } from './ModelsPanel.tsx';
import { TelemetryPanel } from './TelemetryPanel.tsx';
import { UsagePanel } from './UsagePanel.tsx';
import { UsersPanel } from './UsersPanel.tsx';

const TABS = [
  { id: 'users', label: 'Users' },
  { id: 'keys', label: 'API keys' },
  { id: 'models', label: 'Models' },
  { id: 'usage', label: 'Usage' },
  { id: 'telemetry', label: 'Telemetry' },
  { id: 'audit', label: 'Audit log' },
] as const;

type TabId = (typeof TABS)[number]['id'];

/** The tab a path names; users by default. */
export function tabOf(path: string): TabId {
  const segment = path.split('/')[2] ?? '';
  return TABS.find((tab) => tab.id === segment)?.id ?? 'users';
}

/** The dashboard. */
export function AdminDashboard({ user }: AdminDashboardProps) {
  const tab = tabOf(usePath());
  return (
    <div className="flex h-full flex-col overflow-hidden" data-testid="admin-dashboard">
      <nav aria-label="Admin sections" className="flex gap-1 border-b border-border bg-surface px-3 pt-2">
        {TABS.map((entry) => (
          <a
            key={entry.id}
            href={`/admin/${entry.id}`}
            aria-current={entry.id === tab ? 'page' : undefined}
            onClick={(event) => {
              event.preventDefault();
              navigate(`/admin/${entry.id}`);
            }}
            className={`rounded-t border border-b-0 px-3 py-1.5 ${
              entry.id === tab
                ? 'border-border bg-bg text-accent'
                : 'border-transparent text-muted hover:text-fg'
            }`}
          >
            {entry.label}
          </a>
        ))}
      </nav>
      <main className="min-h-0 flex-1 overflow-auto p-3">
        {tab === 'users' && <UsersPanel me={user} />}
        {tab === 'keys' && <KeysPanel me={user} />}
        {tab === 'models' && <ModelsPanel />}
        {tab === 'usage' && <UsagePanel />}
        {tab === 'telemetry' && <TelemetryPanel />}
        {tab === 'audit' && <AuditPanel />}
      </main>
    </div>
  );
}

// A tiny history router: the studio has a handful of routes, not worth a routing library. The gateway serves
// index.html for every unknown path (SPA fallback), so deep links work on reload.
import { useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

/** Goes to `path` (pushState) and re-renders every {@link usePath} user. */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (path === window.location.pathname + window.location.search) return;
  if (options.replace === true) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  notify();
}

/** The current path name. */
export function usePath(): string {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => window.location.pathname,
  );
}

/** The studio's routes. */
export type Route =
  { name: 'projects' } | { name: 'project'; projectId: string } | { name: 'admin' } | { name: 'not-found' };

/** Parses a path into a {@link Route}. */
export function parseRoute(path: string): Route {
  if (path === '/' || path === '') return { name: 'projects' };
  if (path === '/admin' || path.startsWith('/admin/')) return { name: 'admin' };
  const project = /^\/p\/([^/]+)\/?$/.exec(path);
  if (project?.[1] !== undefined) return { name: 'project', projectId: decodeURIComponent(project[1]) };
  return { name: 'not-found' };
}

// Serves the built studio-ui from the gateway, so the UI and /rpc share one origin (no CORS, and the
// WebSocket's credentials subprotocol goes to the same host). Hashed files under /assets are cached for a
// year; index.html is revalidated on every load so a new build takes effect at once; any other GET that looks
// like a page (no file extension) gets index.html, so the UI's own routes survive a reload.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Cache-Control of content-hashed build output: it never changes under its name. */
export const HASHED_ASSET_CACHE = 'public, max-age=31536000, immutable';
/** Cache-Control of everything else the UI serves (index.html, icons): always revalidate. */
export const REVALIDATE_CACHE = 'no-cache';

/** True for request paths the UI's router owns (no file extension, not an API path). */
function isPageRoute(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  if (path === '/rpc' || path.startsWith('/rpc/') || path.startsWith('/assets/')) return false;
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !last.includes('.');
}

/**
 * Registers the UI built in `dir` (index.html plus assets/). Throws when `dir` has no index.html, so a wrong
 * CYBER_STUDIO_UI_DIR fails at start instead of serving 404s.
 */
export async function registerStudioUi(app: FastifyInstance, dir: string): Promise<void> {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(
      `studio-ui: ${dir} has no index.html (build it with pnpm --filter @cyber/studio-ui build)`,
    );
  }
  await app.register(fastifyStatic, {
    root: dir,
    index: ['index.html'],
    // Hashed names are the cache key; ETags still let a revalidation answer 304.
    cacheControl: false,
    setHeaders(reply, path) {
      const hashed = path.includes('/assets/');
      reply.header('cache-control', hashed ? HASHED_ASSET_CACHE : REVALIDATE_CACHE);
      reply.header('x-content-type-options', 'nosniff');
    },
  });
  app.setNotFoundHandler((request, reply) => {
    if ((request.method === 'GET' || request.method === 'HEAD') && isPageRoute(request.url)) {
      return reply.header('cache-control', REVALIDATE_CACHE).sendFile('index.html');
    }
    return reply.code(404).send({ error: 'Not Found' });
  });
}

// The studio's build and dev server. The dev server listens where @cyber/config says (7420 by default) and
// proxies /rpc, HTTP and WebSocket, to the api gateway, so the browser always talks to one origin.
import { loadStudioUiDevConfig } from '@cyber/config';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig(({ command }) => {
  // Only the dev server needs the environment; a build reads nothing.
  const dev = command === 'serve' ? loadStudioUiDevConfig(process.env) : undefined;
  return {
    plugins: [react(), tailwindcss()],
    // Workspace packages are bundled from their TypeScript sources.
    resolve: { conditions: ['@cyber/source', ...defaultClientConditions] },
    worker: { format: 'es' },
    build: {
      target: 'es2022',
      chunkSizeWarningLimit: 5000,
      // No source maps in the served bundle: they would double what the gateway ships.
      sourcemap: false,
    },
    ...(dev === undefined
      ? {}
      : {
          server: {
            host: dev.http.host,
            port: dev.http.port,
            strictPort: true,
            proxy: { '/rpc': { target: dev.apiUrl, ws: true } },
          },
        }),
  };
});

// Healthcheck of a service container: exits 0 when GET http://127.0.0.1:<port>/readyz answers 2xx within
// 4 seconds, 1 otherwise. Node.js is the only program the images are sure to have (no curl, no wget).
// Usage: node /usr/local/lib/cyber/readyz.mjs PORT
/* global fetch, AbortSignal */
import process from 'node:process';

const port = Number(process.argv[2]);
try {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(4000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}

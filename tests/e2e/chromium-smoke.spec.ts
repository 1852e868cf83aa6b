import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';

// Proves the browser tier works: Debian's Chromium starts, renders a page from a local server, runs its
// script, and sends no request anywhere but 127.0.0.1.

const pageHtml = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>CyberDevStudio e2e smoke</title></head>
  <body>
    <h1>CyberDevStudio e2e smoke</h1>
    <p id="status">script has not run</p>
    <script src="/app.js"></script>
  </body>
</html>`;

const appJs = `
fetch('/api/ping')
  .then((response) => response.json())
  .then((body) => {
    document.getElementById('status').textContent = 'script ran, server said ' + body.pong;
  });
`;

let server: Server;
let origin: string;
const served: string[] = [];

test.beforeAll(async () => {
  server = createServer((request, response) => {
    served.push(request.url ?? '');
    switch (request.url) {
      case '/':
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pageHtml);
        return;
      case '/app.js':
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(appJs);
        return;
      case '/api/ping':
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pong: 'pong' }));
        return;
      default:
        response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

test('Chromium renders a local page, runs its script, and stays on 127.0.0.1', async ({ page }) => {
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));

  await page.goto(`${origin}/`);

  await expect(page.locator('h1')).toHaveText('CyberDevStudio e2e smoke');
  await expect(page.locator('#status')).toHaveText('script ran, server said pong');
  expect(served).toEqual(expect.arrayContaining(['/', '/app.js', '/api/ping']));

  expect(requested.length).toBeGreaterThanOrEqual(3);
  const offHost = requested.filter((url) => new URL(url).hostname !== '127.0.0.1');
  expect(offHost, 'requests that left 127.0.0.1').toEqual([]);
});

// The gateway serving a built studio-ui: a real Fastify app with the plugin over a temporary build folder.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASHED_ASSET_CACHE, registerStudioUi, REVALIDATE_CACHE } from '../src/static-ui.js';

let dir: string;
let app: FastifyInstance;
const indexHtml = '<!doctype html><title>studio</title><div id="root"></div>';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cyber-static-ui-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), indexHtml);
  await writeFile(join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)');
  app = Fastify();
  app.post('/rpc', () => Promise.resolve({ jsonrpc: '2.0', id: 1, result: null }));
  await registerStudioUi(app, dir);
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

describe('studio-ui static serving', () => {
  it('serves index.html on / with revalidation', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.headers['cache-control']).toBe(REVALIDATE_CACHE);
    expect(response.body).toBe(indexHtml);
  });

  it('serves hashed assets with a year-long immutable cache', async () => {
    const response = await app.inject({ method: 'GET', url: '/assets/index-AbC123.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/javascript/);
    expect(response.headers['cache-control']).toBe(HASHED_ASSET_CACHE);
  });

  it('answers the UI routes with index.html (SPA fallback) but not missing files or API paths', async () => {
    for (const url of ['/p/0b7a4f2e-1111-4222-8333-944445555666', '/admin', '/admin/users?tab=1']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.body, url).toBe(indexHtml);
      expect(response.headers['cache-control'], url).toBe(REVALIDATE_CACHE);
    }
    expect((await app.inject({ method: 'GET', url: '/assets/missing-123.js' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/favicon.ico' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/rpc' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/nothing', payload: {} })).statusCode).toBe(404);
  });

  it('leaves POST /rpc to the API', async () => {
    const response = await app.inject({ method: 'POST', url: '/rpc', payload: {} });
    expect(response.json()).toEqual({ jsonrpc: '2.0', id: 1, result: null });
  });

  it('refuses to start on a folder without index.html', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'cyber-static-ui-empty-'));
    try {
      await expect(registerStudioUi(Fastify(), empty)).rejects.toThrow(/no index.html/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SseWriter } from '../src/openai/sse-writer.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A real HTTP server whose one response is written by `handle` through an SseWriter. */
async function serve(handle: (sse: SseWriter, res: ServerResponse) => Promise<void>): Promise<string> {
  server = createServer((_req, res) => {
    void handle(new SseWriter(res), res);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function get(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    httpRequest(url, resolve).on('error', reject).end();
  });
}

const BIG = 'x'.repeat(64 * 1024);

describe('SseWriter', () => {
  it('writes event-stream headers, data events, comments and [DONE]', async () => {
    const url = await serve(async (sse) => {
      sse.start({ 'x-request-id': 'r1' });
      await sse.comment('queued 1\nnext');
      await sse.send({ a: 1 });
      await sse.done();
    });
    const response = await get(url);
    let body = '';
    for await (const chunk of response) body += String(chunk);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.headers['x-request-id']).toBe('r1');
    expect(body).toBe(': queued 1 next\n\ndata: {"a":1}\n\ndata: [DONE]\n\n');
  });

  it('waits for a client that does not read, then goes on once it reads', async () => {
    let sent = 0;
    let finished = false;
    const url = await serve(async (sse) => {
      sse.start({});
      for (let i = 0; i < 200; i += 1) {
        await sse.send(BIG);
        sent += 1;
      }
      await sse.done();
      finished = true;
    });
    const response = await get(url);
    response.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // 200 events of 64 KiB are 12.8 MiB; socket buffers hold far less while nobody reads.
    expect(sent).toBeLessThan(100);
    let bytes = 0;
    for await (const chunk of response) bytes += (chunk as Buffer).length;
    expect(finished).toBe(true);
    expect(bytes).toBeGreaterThan(200 * BIG.length);
  });

  it('stops waiting and drops writes once the client has gone', async () => {
    let release: (open: boolean) => void = () => undefined;
    const afterClose = new Promise<boolean>((resolve) => (release = resolve));
    const url = await serve(async (sse) => {
      sse.start({});
      // Blocks on backpressure until the close below settles the wait.
      while (sse.open) await sse.send(BIG);
      await sse.send('after close');
      release(sse.open);
    });
    const response = await get(url);
    response.pause();
    await new Promise((resolve) => setTimeout(resolve, 100));
    response.destroy();
    expect(await afterClose).toBe(false);
  });
});

// Server-sent events on a raw Node response, with backpressure: each write waits until the socket has room
// again (or the client has gone), so a slow client slows generation instead of filling memory.
import type { ServerResponse } from 'node:http';

/** Writes `data: <json>` events, comments and the final `data: [DONE]` to one response. */
export class SseWriter {
  readonly #raw: ServerResponse;

  constructor(raw: ServerResponse) {
    this.#raw = raw;
  }

  /** False once the client has gone or the stream was ended; writes are then dropped. */
  get open(): boolean {
    return !this.#raw.destroyed && !this.#raw.writableEnded;
  }

  /** Sends the status line and headers (`headers` are kept, e.g. ones hooks set on the reply). */
  start(headers: Record<string, string | number | string[]>): void {
    this.#raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies such as nginx buffer responses by default; tokens must arrive as they are made.
      'x-accel-buffering': 'no',
    });
  }

  /** One `data:` event holding `value` as JSON. */
  send(value: unknown): Promise<void> {
    return this.#write(`data: ${JSON.stringify(value)}\n\n`);
  }

  /** An SSE comment line; clients ignore it, proxies see traffic. */
  comment(text: string): Promise<void> {
    return this.#write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  /** `data: [DONE]`, then ends the response. */
  async done(): Promise<void> {
    await this.#write('data: [DONE]\n\n');
    this.end();
  }

  /** Ends the response (no-op when already ended or gone). */
  end(): void {
    if (this.open) this.#raw.end();
  }

  async #write(text: string): Promise<void> {
    if (!this.open) return;
    if (this.#raw.write(text)) return;
    await new Promise<void>((resolve) => {
      const settle = (): void => {
        this.#raw.off('drain', settle);
        this.#raw.off('close', settle);
        resolve();
      };
      this.#raw.on('drain', settle);
      this.#raw.on('close', settle);
    });
  }
}

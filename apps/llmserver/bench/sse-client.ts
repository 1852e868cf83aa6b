// The bench's HTTP client: streamed chat completions over /v1 SSE, run in a child process of its own so the
// client's work (HTTP, SSE parsing) runs beside the service as a real client would, instead of taking turns
// with it on the service's event loop. Times are absolute (performance.timeOrigin + now) so the bench can line
// them up with its own. A process rather than a worker thread: tsx's loader does not reach worker threads.
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/**
 * The HTTP client that sends a request: `http` is node:http with a keep-alive agent, the leanest client Node
 * ships; `fetch` is Node's global fetch (undici), which costs about 2 ms more per request on this machine. The
 * bench reports both, each against a bare server's floor with the same client.
 */
export type ClientKind = 'http' | 'fetch';

/** What one streamed request asks for. */
export interface StreamRequest {
  url: string;
  apiKey: string;
  body: Record<string, unknown>;
  client: ClientKind;
}

/** One generation as the caller saw it; every time in ms. */
export interface Sample {
  /** Request start to the first token. */
  ttft: number;
  /** Request start to the end of the answer. */
  total: number;
  /** Request start to the first byte of the answer: the service's role chunk, sent as generation starts. */
  head: number;
  /** First token to the end of the answer. */
  decode: number;
  /** Absolute time of the request start. */
  startedAt: number;
  /** Absolute time the first token reached the caller. */
  firstAt: number;
  completionTokens: number;
  text: string;
}

/** Absolute time in ms, comparable across threads. */
export const now = (): number => performance.timeOrigin + performance.now();

const agent = new Agent({ keepAlive: true });

/** A POST's answer as either client gives it: the status and the body's bytes as they arrive. */
interface Answer {
  status: number;
  body: AsyncIterable<Uint8Array>;
}

async function post(
  client: ClientKind,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<Answer> {
  if (client === 'fetch') {
    const response = await fetch(url, { method: 'POST', headers, body });
    return { status: response.status, body: (response.body ?? []) as AsyncIterable<Uint8Array> };
  }
  const message = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      resolve,
    );
    request.on('error', reject);
    request.end(body);
  });
  return { status: message.statusCode ?? 0, body: message };
}

/** One streamed chat completion; the first token is the first non-empty content delta. */
async function streamChat({ url, apiKey, body, client }: StreamRequest): Promise<Sample> {
  const started = now();
  const response = await post(
    client,
    `${url}/v1/chat/completions`,
    { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    JSON.stringify(body),
  );
  if (response.status !== 200) {
    let text = '';
    for await (const bytes of response.body) text += Buffer.from(bytes).toString();
    throw new Error(`service answered ${response.status}: ${text}`);
  }
  let firstAt: number | undefined;
  let headAt: number | undefined;
  let completionTokens: number | undefined;
  let text = '';
  let done = false;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const bytes of response.body) {
    headAt ??= now();
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith('data: ')) continue;
      const data = event.slice('data: '.length);
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      const chunk = JSON.parse(data) as {
        choices?: { delta?: { content?: string | null } }[];
        usage?: { completion_tokens: number } | null;
        error?: unknown;
      };
      if (chunk.error !== undefined) throw new Error(`stream error: ${data}`);
      const content = chunk.choices?.[0]?.delta?.content ?? '';
      if (content !== '') {
        firstAt ??= now();
        text += content;
      }
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }
  }
  const ended = now();
  if (!done || firstAt === undefined || headAt === undefined || completionTokens === undefined) {
    throw new Error(`incomplete stream (done=${done}, tokens=${completionTokens})`);
  }
  return {
    ttft: firstAt - started,
    head: headAt - started,
    total: ended - started,
    decode: ended - firstAt,
    startedAt: started,
    firstAt,
    completionTokens,
    text,
  };
}

type Reply = { id: number; sample: Sample } | { id: number; error: string };

const CHILD_ENV = 'CYBER_BENCH_SSE_CLIENT';

/** The client process: `stream` runs a request there; `close` ends it. */
export interface SseClient {
  stream(request: StreamRequest): Promise<Sample>;
  close(): Promise<void>;
}

/** Starts the client process (this module, under the same loader and conditions as the bench). */
export function startSseClient(): SseClient {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    execArgv: process.execArgv,
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  const pending = new Map<number, { resolve: (s: Sample) => void; reject: (e: Error) => void }>();
  let failure: Error | undefined;
  let nextId = 0;
  child.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if ('error' in reply) waiter?.reject(new Error(reply.error));
    else waiter?.resolve(reply.sample);
  });
  const fail = (error: Error): void => {
    failure ??= error;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  child.on('error', fail);
  child.on('exit', (code, signal) => fail(new Error(`the SSE client exited (${code ?? signal})`)));
  return {
    stream: (request) =>
      new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ id, request });
      }),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}

if (process.env[CHILD_ENV] === '1' && process.send) {
  const send = process.send.bind(process);
  process.on('message', ({ id, request }: { id: number; request: StreamRequest }) => {
    streamChat(request).then(
      (sample) => send({ id, sample } satisfies Reply),
      (error: unknown) =>
        send({ id, error: error instanceof Error ? error.message : String(error) } satisfies Reply),
    );
  });
}

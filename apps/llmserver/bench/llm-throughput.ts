// Generation through the service versus node-llama-cpp in-process, on the real Gemma 3 270M, in one process:
//   service:    POST /v1/chat/completions with stream: true (SSE) and an API key, metering on (a user with a
//               budget: prompt counted, worst case reserved in Redis, fair queue, usage event settled through
//               the durable outbox to Kafka and the ledger)
//   in-process: LlmEngine.generate on the same loaded model, same messages, maxTokens and greedy sampling
// The two never run at the same time: the bench alternates phases (service round, in-process round, the order
// swapped every round) so both share the CPU alike and load swings on this shared machine hit both. Each round
// also times a budget refusal (the service's steps before a generation, without queue and generation), then,
// with each of two HTTP clients (node:http with keep-alive, and fetch), short probed requests and the HTTP floor
// (a bare node:http server answering one SSE token to the same client). The service's requests come from a
// client in a child process (sse-client.ts), as real clients do; the engine is probed around each of them so
// that the time the service adds to the first token is measured apart from the engine's. Then the
// aggregate throughput of 1, 2 and 4 concurrent streams through the service (the model has 4 sequences, which
// llama.cpp decodes in one batch) and, as the engine's own figure, in-process, rotated round by round.
//
//   set -a; . .infra/env; set +a
//   pnpm --filter @cyber/llmserver bench:throughput
//   BENCH_ROUNDS=12 BENCH_PROBES=4 BENCH_STREAM_ROUNDS=4 BENCH_MAX_TOKENS=128 BENCH_STREAM_TOKENS=64 pnpm --filter @cyber/llmserver bench:throughput
//
// The /v1 SSE surface is measured rather than JSON-RPC over WebSocket: it is what scripts and every OpenAI
// client library (openai, LangChain, curl) speak, so it is the path most generated tokens take; the studio's
// browser client uses WebSocket, which shares everything from authentication to settling with it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { REAL_MODEL_ENV, REAL_MODEL_SKIP_MESSAGE } from '@cyber/llm/testing';
import { startLlmHarness, type LlmTestUser } from '../test/llm-harness.js';
import { now, startSseClient, type ClientKind, type Sample } from './sse-client.js';

const realModel = process.env[REAL_MODEL_ENV];
if (!realModel) {
  console.error(`llm-throughput needs the real model: ${REAL_MODEL_SKIP_MESSAGE}`);
  process.exit(1);
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const STREAM_ROUNDS = Number(process.env.BENCH_STREAM_ROUNDS ?? 3);
const MAX_TOKENS = Number(process.env.BENCH_MAX_TOKENS ?? 128);
const STREAM_TOKENS = Number(process.env.BENCH_STREAM_TOKENS ?? 64);
const WARMUP = 2;
/** Short probed requests per client and round, for the added time to first token. */
const PROBES = Number(process.env.BENCH_PROBES ?? 4);
const PROBE_TOKENS = 4;
const CLIENTS = ['http', 'fetch'] as const satisfies readonly ClientKind[];
const MODEL = 'gemma';
const PROMPT =
  'Write a long, detailed story about a lighthouse keeper who finds a message in a bottle. Describe the sea, ' +
  'the weather and every room of the lighthouse.';
const MESSAGES = [{ role: 'user' as const, content: PROMPT }];

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const median = (values: readonly number[]): number => percentile(values, 50);
const tokensPerSecond = (s: Sample): number => s.completionTokens / (s.total / 1000);
const decodeTokensPerSecond = (s: Sample): number => (s.completionTokens - 1) / (s.decode / 1000);
const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** One streamed chat completion through the service, from the client process. */
const viaService = (
  url: string,
  user: LlmTestUser,
  maxTokens = MAX_TOKENS,
  kind: ClientKind = 'http',
): Promise<Sample> =>
  client.stream({
    url,
    client: kind,
    apiKey: user.apiKey,
    body: {
      model: MODEL,
      messages: MESSAGES,
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    },
  });

const h = await startLlmHarness({ sequences: 4 });
const client = startSseClient();

/**
 * The engine's side of one service request, so that what the service adds to the time to first token is
 * measured without the engine's own time in it (prompt evaluation alone swings by tens of ms between runs):
 *   added = (request start -> generate called) - prepare + (first token released -> parsed by the client)
 * The service renders and tokenizes the prompt with `engine.prepare` before it reserves (it must know the
 * prompt's length) and hands the result to `generate`, which then skips the rendering it does itself for an
 * in-process caller; so the time of that one `prepare` is the engine's work, not the service's, and comes off.
 */
interface EngineProbe {
  prepareMs: number;
  calledAt?: number;
  firstTokenAt?: number;
}
let probe: EngineProbe | undefined;
const enginePrepare = h.engine.prepare.bind(h.engine);
h.engine.prepare = (options) => {
  const current = probe;
  const started = performance.now();
  try {
    return enginePrepare(options);
  } finally {
    if (current !== undefined) current.prepareMs += performance.now() - started;
  }
};
const engineGenerate = h.engine.generate.bind(h.engine);
h.engine.generate = (options) => {
  const current = probe;
  if (current === undefined) return engineGenerate(options);
  current.calledAt = now();
  return engineGenerate({
    ...options,
    onToken: (chunk) => {
      if (chunk.text !== '') current.firstTokenAt ??= now();
      options.onToken?.(chunk);
    },
  });
};

/** What the service added to one request's time to first token (ms), in its two parts. */
interface Added {
  total: number;
  /** Request start to generate called, less the prompt's rendering. */
  before: number;
  /** First token released by the engine to parsed by the client. */
  after: number;
  prepareMs: number;
}

/** A service request with the engine's side of it timed. */
async function probedService(
  user: LlmTestUser,
  maxTokens = MAX_TOKENS,
  kind: ClientKind = 'http',
): Promise<{ sample: Sample; added: Added }> {
  const current: EngineProbe = { prepareMs: 0 };
  probe = current;
  try {
    const sample = await viaService(h.url, user, maxTokens, kind);
    const { calledAt, firstTokenAt, prepareMs } = current;
    if (calledAt === undefined || firstTokenAt === undefined) throw new Error('the engine was not probed');
    const before = calledAt - sample.startedAt - prepareMs;
    const after = sample.firstAt - firstTokenAt;
    return { sample, added: { total: before + after, before, after, prepareMs } };
  } finally {
    probe = undefined;
  }
}

try {
  await h.addModel({ name: MODEL, path: realModel, contextSize: 2048, costPerToken: 3 });
  const users = await Promise.all([0, 1, 2, 3].map(() => h.user('developer', 1_000_000_000)));
  const [user] = users;
  if (user === undefined) throw new Error('no user');
  const broke = await h.user('developer', 0);

  /**
   * A request refused for its budget: everything the service does before a generation (HTTP, API key, model
   * lookup in PostgreSQL, prompt count, the reservation script in Redis) and nothing after.
   */
  const refused = async (): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${broke.apiKey}` },
      body: JSON.stringify({ model: MODEL, messages: MESSAGES, max_tokens: MAX_TOKENS, stream: true }),
    });
    await response.text();
    if (response.status !== 429) throw new Error(`expected a budget refusal, got ${response.status}`);
    return performance.now() - started;
  };

  /** Lets the background settle (outbox fdatasync, Kafka send, Redis) finish before the next phase starts. */
  /**
   * The HTTP floor: a bare node:http server in this process that answers the same request with one SSE token at
   * once. Request start -> that token parsed by the client is what any HTTP service on this machine costs (the
   * loopback socket both ways, two processes waking up, fetch and the SSE parse), with no service work in it.
   */
  const bare = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'x' } }] })}\n\n`);
      response.end(
        `data: ${JSON.stringify({ choices: [], usage: { completion_tokens: 1 } })}\n\ndata: [DONE]\n\n`,
      );
    });
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  const floor = async (kind: ClientKind): Promise<number> => (await viaService(bareUrl, user, 1, kind)).ttft;

  const quiesce = async (): Promise<void> => {
    await sleep(50);
    await h.outbox.flush(2000);
  };

  /** The same generation called in-process, no HTTP, no auth, no metering. */
  const inProcess = async (maxTokens = MAX_TOKENS): Promise<Sample> => {
    const started = now();
    let firstAt: number | undefined;
    const result = await h.engine.generate({
      modelId: MODEL,
      messages: MESSAGES,
      maxTokens,
      sampling: { temperature: 0 },
      onToken: (chunk) => {
        if (chunk.text !== '') firstAt ??= now();
      },
    });
    const ended = now();
    if (firstAt === undefined) throw new Error('in-process generation produced no token');
    return {
      ttft: firstAt - started,
      head: 0,
      total: ended - started,
      decode: ended - firstAt,
      startedAt: started,
      firstAt,
      completionTokens: result.completionTokens,
      text: result.text,
    };
  };

  console.log(
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ` +
      `engine threads ${h.engine.threads}, load average ${load()}`,
  );
  console.log(
    `model: ${realModel}, maxTokens ${MAX_TOKENS}, temperature 0, ${ROUNDS} rounds (+${WARMUP} warm-up)`,
  );

  // Phase A: one stream at a time, service and in-process alternating.
  const service: Sample[] = [];
  const local: Sample[] = [];
  const refusals: number[] = [];
  const overheads = new Map<ClientKind, Added[]>(CLIENTS.map((kind) => [kind, []]));
  const floors = new Map<ClientKind, number[]>(CLIENTS.map((kind) => [kind, []]));
  for (let round = -WARMUP; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? (['service', 'local'] as const) : (['local', 'service'] as const);
    for (const side of order) {
      if (side === 'service') {
        const { sample, added } = await probedService(user);
        if (round >= 0) {
          service.push(sample);
          overheads.get('http')?.push(added);
        }
      } else {
        const sample = await inProcess();
        if (round >= 0) local.push(sample);
      }
      await quiesce();
    }
    const refusal = await refused();
    if (round >= 0) refusals.push(refusal);
    // Short probed requests and the bare floor with each client, the clients' order swapped every round.
    for (const kind of round % 2 === 0 ? CLIENTS : [...CLIENTS].reverse()) {
      for (let i = 0; i < PROBES; i += 1) {
        const { added } = await probedService(user, PROBE_TOKENS, kind);
        await quiesce();
        const floorMs = await floor(kind);
        if (round >= 0) {
          overheads.get(kind)?.push(added);
          floors.get(kind)?.push(floorMs);
        }
      }
    }
  }
  const lengths = new Set([...service, ...local].map((s) => s.completionTokens));
  const texts = new Set([...service, ...local].map((s) => s.text));
  console.log(
    `completion tokens per generation: ${[...lengths].join(', ')}` +
      (lengths.size === 1 ? ' (equal on both sides)' : ' (NOT equal: tokens/s compares unequal work)') +
      `; ${texts.size === 1 ? 'identical text' : `${texts.size} different texts`}`,
  );
  const row = (name: string, samples: Sample[]): string =>
    `${name.padEnd(11)} tokens/s p50 ${median(samples.map(tokensPerSecond)).toFixed(1)}  ` +
    `decode tokens/s p50 ${median(samples.map(decodeTokensPerSecond)).toFixed(1)}  ` +
    `TTFT p50 ${median(samples.map((s) => s.ttft)).toFixed(1)} ms p90 ${percentile(
      samples.map((s) => s.ttft),
      90,
    ).toFixed(1)} ms  total p50 ${median(samples.map((s) => s.total)).toFixed(0)} ms`;
  console.log(row('service', service));
  console.log(row('in-process', local));
  const ratio = median(service.map(tokensPerSecond)) / median(local.map(tokensPerSecond));
  const decodeRatio = median(service.map(decodeTokensPerSecond)) / median(local.map(decodeTokensPerSecond));
  // Added TTFT per round: the service sample minus the in-process sample of the same round.
  const added = service.map((s, i) => s.ttft - (local[i]?.ttft ?? Number.NaN));
  console.log(
    `service / in-process tokens/s (ratio of medians): ${ratio.toFixed(3)}x end to end, ` +
      `${decodeRatio.toFixed(3)}x decode only`,
  );
  console.log(
    `added TTFT: median of medians ${(median(service.map((s) => s.ttft)) - median(local.map((s) => s.ttft))).toFixed(1)} ms, ` +
      `per round p50 ${median(added).toFixed(1)} ms p90 ${percentile(added, 90).toFixed(1)} ms`,
  );
  for (const kind of CLIENTS) {
    const parts = overheads.get(kind) ?? [];
    const part = (name: keyof Added, p: number): string =>
      percentile(
        parts.map((o) => o[name]),
        p,
      ).toFixed(2);
    const bareFloor = floors.get(kind) ?? [];
    console.log(
      `client ${kind}: added TTFT, measured around the engine (request start -> generate called, less the ` +
        `prompt rendering it took over, plus first token released -> parsed by the client), ${parts.length} ` +
        `requests: p50 ${part('total', 50)} ms p90 ${part('total', 90)} ms max ${part('total', 100)} ms; ` +
        `before the engine p50 ${part('before', 50)} ms, after it p50 ${part('after', 50)} ms; prompt ` +
        `rendering p50 ${part('prepareMs', 50)} ms`,
    );
    console.log(
      `client ${kind}: HTTP floor (a bare node:http server answering one SSE token), ${bareFloor.length} ` +
        `requests: p50 ${median(bareFloor).toFixed(2)} ms p90 ${percentile(bareFloor, 90).toFixed(2)} ms`,
    );
  }
  bare.close();
  const heads = service.map((s) => s.head);
  console.log(
    `service, request start to the first SSE event (auth, prompt count, reservation, queue; sent as the ` +
      `generation starts): p50 ${median(heads).toFixed(1)} ms p90 ${percentile(heads, 90).toFixed(1)} ms`,
  );
  console.log(
    `service, a budget refusal (the same steps without queue and generation): p50 ${median(refusals).toFixed(1)} ms ` +
      `p90 ${percentile(refusals, 90).toFixed(1)} ms`,
  );
  console.log(`load average after phase A: ${load()}`);

  // Phase B: aggregate throughput of 1, 2 and 4 concurrent streams, through the service (one user each) and,
  // as the engine's own figure, in-process; sizes and sides rotated per round.
  const sizes = [1, 2, 4] as const;
  const variants = sizes.flatMap((n) => [
    { n, side: 'service' as const },
    { n, side: 'local' as const },
  ]);
  const aggregate = new Map<string, number[]>(variants.map((v) => [`${v.side}${v.n}`, []]));
  console.log(`phase B: ${STREAM_TOKENS} tokens per stream, ${STREAM_ROUNDS} rounds`);
  for (let round = 0; round < STREAM_ROUNDS; round += 1) {
    const rotation = round % variants.length;
    for (const { n, side } of [...variants.slice(rotation), ...variants.slice(0, rotation)]) {
      const started = performance.now();
      const samples = await Promise.all(
        users
          .slice(0, n)
          .map((streamUser) =>
            side === 'service' ? viaService(h.url, streamUser, STREAM_TOKENS) : inProcess(STREAM_TOKENS),
          ),
      );
      const wall = performance.now() - started;
      await quiesce();
      const tokens = samples.reduce((sum, s) => sum + s.completionTokens, 0);
      aggregate.get(`${side}${n}`)?.push(tokens / (wall / 1000));
    }
  }
  for (const side of ['service', 'local'] as const) {
    for (const n of sizes) {
      const values = aggregate.get(`${side}${n}`) ?? [];
      console.log(
        `${side === 'service' ? 'service   ' : 'in-process'} ${n} concurrent stream(s): total ` +
          `${median(values).toFixed(1)} completion tokens/s (median of ${values.length}; ` +
          `${values.map((v) => v.toFixed(1)).join(', ')})`,
      );
    }
    const one = median(aggregate.get(`${side}1`) ?? []);
    console.log(
      `${side === 'service' ? 'service   ' : 'in-process'} 4 streams / 1 stream: ` +
        `${(median(aggregate.get(`${side}4`) ?? []) / one).toFixed(2)}x, ` +
        `2 / 1: ${(median(aggregate.get(`${side}2`) ?? []) / one).toFixed(2)}x`,
    );
  }
  console.log(`load average at the end: ${load()}`);
} finally {
  await client.close();
  await h.close();
}

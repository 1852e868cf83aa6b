// The engine against the generated tiny model (llama.cpp, CPU). The model never emits an end token, so a
// generation runs exactly maxTokens unless it is stopped.
import { availableParallelism } from 'node:os';
import { isRpcError, type RpcError } from '@cyber/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmEngine, type LlmLogger, type TokenChunk } from '../src/index.js';
import { ensureTinyModel } from '../src/testing.js';

const MODEL = 'tiny';
const CONTEXT_SIZE = 512;
let engine: LlmEngine;
let modelPath: string;

/** The RpcError a promise rejects with (fails the test when it resolves or rejects with something else). */
async function rpcRejection(promise: Promise<unknown>): Promise<RpcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRpcError(error)) throw new Error(`expected an RpcError, got ${String(error)}`);
  return error;
}

function recordingLogger(): LlmLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (_obj, msg) => warnings.push(msg), info: () => {}, error: () => {} };
}

beforeAll(async () => {
  modelPath = await ensureTinyModel();
  engine = await LlmEngine.create({ gpu: 'false' });
  await engine.loadModel({ id: MODEL, path: modelPath, contextSize: CONTEXT_SIZE, sequences: 2 });
});

afterAll(async () => {
  await engine?.close();
});

describe('LlmEngine setup', () => {
  it('defaults threads to all cores but one, at least 1', () => {
    expect(engine.threads).toBe(Math.max(1, availableParallelism() - 1));
  });

  it('warns at startup when threads exceed the cores', async () => {
    const logger = recordingLogger();
    const other = await LlmEngine.create({ gpu: 'false', threads: 4, cores: 2, logger });
    await other.close();
    expect(logger.warnings.some((w) => w.includes('4 threads on 2 cores'))).toBe(true);
  });

  it('refuses a model that does not fit in free memory, with both numbers', async () => {
    const tight = await LlmEngine.create({ gpu: 'false', threads: 1, freeMemory: () => 1024 });
    try {
      const error = await rpcRejection(tight.loadModel({ id: 'big', path: modelPath, contextSize: 256 }));
      expect(error.key).toBe('precondition_failed');
      expect(error.data).toMatchObject({ reason: 'insufficient_memory', availableBytes: 1024 });
      expect(error.data?.['requiredBytes']).toBeGreaterThan(100_000);
      expect(tight.listModels()).toEqual([]);
    } finally {
      await tight.close();
    }
  });

  it('refuses a context larger than the training context and a second model under the same id', async () => {
    await expect(engine.loadModel({ id: 'huge', path: modelPath, contextSize: 8192 })).rejects.toSatisfy(
      (e) => isRpcError(e, 'invalid_params'),
    );
    await expect(engine.loadModel({ id: MODEL, path: modelPath, contextSize: 64 })).rejects.toSatisfy((e) =>
      isRpcError(e, 'conflict'),
    );
  });

  it('reports the loaded model with its memory estimate', () => {
    const [info] = engine.listModels();
    expect(info).toMatchObject({ id: MODEL, contextSize: CONTEXT_SIZE, sequences: 2, activeSequences: 0 });
    expect(info?.trainContextSize).toBe(4096);
    expect(info?.memory.totalBytes).toBeGreaterThan(info?.memory.modelBytes ?? Infinity);
  });
});

describe('tokens', () => {
  it('round-trips text, including non-ASCII through byte tokens', () => {
    const text = 'hello world, the cyber studio runs ümlaut ✓ code';
    const tokens = engine.tokenize({ modelId: MODEL, text });
    expect(tokens.length).toBeLessThan(text.length);
    expect(engine.detokenize({ modelId: MODEL, tokens })).toBe(text);
  });

  it('parses ChatML control tokens only when asked', () => {
    const special = engine.tokenize({ modelId: MODEL, text: '<|im_start|>', specialTokens: true });
    const plain = engine.tokenize({ modelId: MODEL, text: '<|im_start|>' });
    expect(special).toHaveLength(1);
    expect(plain.length).toBeGreaterThan(1);
  });

  it('answers model_not_loaded for an unknown model', () => {
    expect(() => engine.tokenize({ modelId: 'nope', text: 'x' })).toThrow(
      expect.objectContaining({ key: 'model_not_loaded' }) as Error,
    );
  });
});

describe('generate', () => {
  it('runs exactly maxTokens and counts every token in the loop', async () => {
    const chunks: TokenChunk[] = [];
    const result = await engine.generate({
      modelId: MODEL,
      prompt: 'hello world',
      maxTokens: 40,
      onToken: (chunk) => chunks.push(chunk),
    });
    expect(result.stopReason).toBe('maxTokens');
    expect(result.completionTokens).toBe(40);
    expect(result.promptTokens).toBe(engine.countTokens({ modelId: MODEL, prompt: 'hello world' }));
    expect(chunks.reduce((sum, c) => sum + c.tokens, 0)).toBe(40);
    expect(chunks.at(-1)?.completionTokens).toBe(40);
    expect(chunks.map((c) => c.text).join('')).toBe(result.text);
    expect(result.text).toMatch(/^[\x20-\x7e]+$/);
  });

  it('is deterministic with temperature 0', async () => {
    const run = () => engine.generate({ modelId: MODEL, prompt: 'the model', maxTokens: 20 });
    const [a, b] = [await run(), await run()];
    expect(a.text).toBe(b.text);
  });

  it('renders chat messages with the template and counts them like countTokens', async () => {
    const messages = [
      { role: 'system', content: 'You are a test.' },
      { role: 'user', content: 'hello' },
    ] as const;
    const result = await engine.generate({
      modelId: MODEL,
      messages,
      maxTokens: 16,
      sampling: { temperature: 0.8, topP: 0.9, topK: 40, seed: 7 },
    });
    expect(result.completionTokens).toBe(16);
    expect(result.promptTokens).toBe(engine.countTokens({ modelId: MODEL, messages }));
    expect(result.promptTokens).toBeGreaterThan(10);
  });

  it('generates from a prepared prompt exactly as from the options, each handle rendering once', async () => {
    const messages = [
      { role: 'system', content: 'You are a test.' },
      { role: 'user', content: 'hello again' },
    ] as const;
    const prepared = engine.prepare({ modelId: MODEL, messages });
    expect(prepared).toEqual({
      modelId: MODEL,
      promptTokens: engine.countTokens({ modelId: MODEL, messages }),
    });
    const plain = await engine.generate({ modelId: MODEL, messages, maxTokens: 12 });
    const reused = await engine.generate({ modelId: MODEL, messages, maxTokens: 12, prepared });
    expect(reused).toMatchObject({
      text: plain.text,
      promptTokens: prepared.promptTokens,
      completionTokens: 12,
    });
    // Used already: the handle is ignored and the prompt rendered again, with the same outcome.
    const again = await engine.generate({ modelId: MODEL, messages, maxTokens: 12, prepared });
    expect(again.text).toBe(plain.text);
    expect(() => engine.prepare({ modelId: 'not-loaded', prompt: 'x' })).toThrow(
      expect.objectContaining({ key: 'model_not_loaded' }),
    );
  });

  it('stops on abort after N streamed tokens and bills exactly the tokens streamed', async () => {
    const controller = new AbortController();
    let streamed = 0;
    let text = '';
    const result = await engine.generate({
      modelId: MODEL,
      prompt: 'hello',
      maxTokens: 400,
      signal: controller.signal,
      onToken: (chunk) => {
        streamed += chunk.tokens;
        text += chunk.text;
        if (streamed >= 7) controller.abort();
      },
    });
    expect(result.stopReason).toBe('abort');
    expect(result.completionTokens).toBe(streamed);
    expect(streamed).toBeGreaterThanOrEqual(7);
    expect(streamed).toBeLessThan(400);
    expect(result.text).toBe(text);
  });

  it('ends at a stop sequence with stopReason stop', async () => {
    const pieces: string[] = [];
    await engine.generate({
      modelId: MODEL,
      prompt: 'cyber',
      maxTokens: 30,
      onToken: (c) => pieces.push(c.text),
    });
    // A whole token that has not appeared before, so the text before it is exactly the earlier tokens.
    // (A leading space belongs to the token, so it goes with the stop sequence.)
    const at = pieces.findIndex(
      (p, i) => i >= 3 && p.trim().length >= 2 && !pieces.slice(0, i).join('').includes(p.trim()),
    );
    expect(at).toBeGreaterThan(0);
    const stop = pieces[at]?.trim() ?? '';
    const result = await engine.generate({ modelId: MODEL, prompt: 'cyber', maxTokens: 30, stop: [stop] });
    expect(result.stopReason).toBe('stop');
    expect(result.text).toBe(pieces.slice(0, at).join(''));
    expect(result.completionTokens).toBe(at);
  });

  it('refuses prompt + maxTokens beyond the context before taking a sequence', async () => {
    const prompt = 'hello world '.repeat(100);
    const promptTokens = engine.countTokens({ modelId: MODEL, prompt });
    const error = await rpcRejection(engine.generate({ modelId: MODEL, prompt, maxTokens: CONTEXT_SIZE }));
    expect(error.key).toBe('context_too_long');
    expect(error.data).toEqual({ promptTokens, maxTokens: CONTEXT_SIZE, contextSize: CONTEXT_SIZE });
  });

  it('runs two generations at once on one model, and queues a third until a sequence frees', async () => {
    const positions: number[] = [];
    const results = await Promise.all([
      engine.generate({ modelId: MODEL, prompt: 'a', maxTokens: 60 }),
      engine.generate({ modelId: MODEL, prompt: 'b', maxTokens: 60 }),
      engine.generate({ modelId: MODEL, prompt: 'c', maxTokens: 10, onQueued: (p) => positions.push(p) }),
    ]);
    expect(results.map((r) => r.completionTokens)).toEqual([60, 60, 10]);
    expect(results.map((r) => r.stopReason)).toEqual(['maxTokens', 'maxTokens', 'maxTokens']);
    expect(positions).toEqual([1]);
    expect(engine.listModels()[0]?.activeSequences).toBe(0);
  });

  // A blocked loop shows one gap as long as the whole generation on every run; a busy shared CI machine
  // (2 cores, other suites) can delay a timer once, hence the retries.
  it('keeps the event loop responsive during generation (timer lag < 50 ms)', { retry: 2 }, async () => {
    let maxLag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 5);
      last = now;
    }, 5);
    try {
      const result = await engine.generate({ modelId: MODEL, prompt: 'hello world', maxTokens: 300 });
      expect(result.completionTokens).toBe(300);
    } finally {
      clearInterval(timer);
    }
    expect(maxLag).toBeLessThan(50);
  });

  it('a forced unload stops a running generation (abort) and refuses the model afterwards', async () => {
    await engine.loadModel({ id: 'second', path: modelPath, contextSize: 256 });
    let unloading: Promise<{ cancelledRequests: number }> | undefined;
    const result = await engine.generate({
      modelId: 'second',
      prompt: 'hello',
      maxTokens: 200,
      onToken: (chunk) => {
        if (chunk.completionTokens >= 3 && !unloading)
          unloading = engine.unloadModel('second', { force: true });
      },
    });
    expect(await unloading).toEqual({ cancelledRequests: 1 });
    expect(result.stopReason).toBe('abort');
    expect(result.completionTokens).toBeLessThan(200);
    await expect(engine.generate({ modelId: 'second', prompt: 'x', maxTokens: 1 })).rejects.toSatisfy((e) =>
      isRpcError(e, 'model_not_loaded'),
    );
  });
});

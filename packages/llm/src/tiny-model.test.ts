import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { buildTinyGguf, ensureTinyModel, sha256Hex, TINY_MODEL_SHAPE } from './tiny-model.js';

// Pinned: a change to the generator must bump TINY_MODEL_VERSION and this hash together.
const TINY_MODEL_SHA256 = '24a106460a6f5ebfdf53658471f44f0c5a64cbf2e7e50f629c6655684526c7f9';

describe('tiny GGUF generator', () => {
  it('produces the same bytes on every run', () => {
    const first = buildTinyGguf();
    expect(sha256Hex(first)).toBe(TINY_MODEL_SHA256);
    expect(sha256Hex(buildTinyGguf())).toBe(TINY_MODEL_SHA256);
  });

  it('writes a GGUF v3 llama model that node-llama-cpp parses, with the ChatML template', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cyber-tiny-'));
    try {
      const path = await ensureTinyModel({ dir });
      expect(sha256Hex(await readFile(path))).toBe(TINY_MODEL_SHA256);
      // A second call finds the file and leaves it alone.
      expect(await ensureTinyModel({ dir })).toBe(path);
      const info = await readGgufFileInfo(path, { logWarnings: false });
      expect(info.version).toBe(3);
      expect(info.metadata.general.architecture).toBe('llama');
      expect(info.metadata.tokenizer.chat_template).toContain('<|im_start|>');
      expect(info.tensorInfo?.length).toBe(2 + 9 * TINY_MODEL_SHAPE.layers + 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Writes the deterministic tiny test model and prints its path and sha256.
//   pnpm --filter @cyber/llm gen:tiny-model [dir]      (default: <os tmpdir>/cyber-llm-models)
import { readFile } from 'node:fs/promises';
import { ensureTinyModel, sha256Hex } from '../src/testing.ts';

const dir = process.argv[2];
const path = await ensureTinyModel(dir ? { dir } : {});
const bytes = await readFile(path);
console.log(`${path} ${bytes.length} bytes sha256 ${sha256Hex(bytes)}`);

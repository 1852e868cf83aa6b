// File-system side of the JSON Schema generator, shared by gen-schemas.ts and check-schemas.ts.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checked-in `schemas/rpc` folder at the repository root. */
export const SCHEMAS_DIR = fileURLToPath(new URL('../../../schemas/rpc/', import.meta.url));

/** Reads every `*.json` file of a folder (name → content); a missing folder reads as empty. */
export function readSchemaDir(dir: string): Record<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  return Object.fromEntries(names.map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

/** Writes the rendered files into `dir` and removes `*.json` files that are no longer generated. */
export function writeSchemaDir(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const name of Object.keys(readSchemaDir(dir))) {
    if (!Object.hasOwn(files, name)) rmSync(join(dir, name));
  }
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

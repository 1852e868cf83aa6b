import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contract, FAMILY_SERVICE } from './contract.js';
import type { MethodDef } from './define-method.js';
import { diffRpcSchemas, renderRpcSchemas, type RpcIndexEntry } from './json-schema.js';

const SCHEMAS_DIR = new URL('../../../schemas/rpc/', import.meta.url);

function readCheckedIn(): Record<string, string> {
  const names = readdirSync(SCHEMAS_DIR).filter((name) => name.endsWith('.json'));
  return Object.fromEntries(names.map((name) => [name, readFileSync(new URL(name, SCHEMAS_DIR), 'utf8')]));
}

describe('JSON Schema generation', () => {
  const rendered = renderRpcSchemas();

  it('matches the checked-in schemas/rpc (run `pnpm schemas:gen` after changing the contract)', () => {
    expect(diffRpcSchemas(rendered, readCheckedIn())).toEqual({ missing: [], extra: [], changed: [] });
  });

  it('renders the same bytes every time', () => {
    expect(renderRpcSchemas()).toEqual(rendered);
  });

  it('writes 2-space JSON with a trailing newline', () => {
    for (const [name, content] of Object.entries(rendered)) {
      expect(content.endsWith('}\n'), name).toBe(true);
      expect(content).toBe(`${JSON.stringify(JSON.parse(content), null, 2)}\n`);
    }
  });

  it('indexes every method once, with its family file, access and stream', () => {
    const index = JSON.parse(rendered['index.json'] ?? '{}') as { methods: RpcIndexEntry[] };
    expect(index.methods.map((m) => m.method).sort()).toEqual(Object.keys(contract).sort());
    for (const entry of index.methods) {
      const def: MethodDef = contract[entry.method as keyof typeof contract];
      expect(entry.access).toBe(def.access);
      expect(entry.service).toBe(FAMILY_SERVICE[entry.family as keyof typeof FAMILY_SERVICE]);
      expect(entry.streams).toBe(def.stream?.method ?? null);
      const family = JSON.parse(rendered[entry.file] ?? '{}') as { methods: Record<string, unknown> };
      expect(family.methods[entry.method], entry.method).toMatchObject({
        params: expect.any(Object) as unknown,
        result: expect.any(Object) as unknown,
      });
    }
  });

  it('shows strict params as closed objects and defaults as optional', () => {
    const fs = JSON.parse(rendered['fs.json'] ?? '{}') as {
      methods: Record<string, { params: { additionalProperties: boolean; required: string[] } }>;
    };
    const write = fs.methods['fs.write'];
    expect(write?.params.additionalProperties).toBe(false);
    expect(write?.params.required.sort()).toEqual(['content', 'path', 'projectId']);
  });
});

describe('diffRpcSchemas', () => {
  it('reports missing, extra and changed files', () => {
    const expected = { 'a.json': '{}\n', 'b.json': '{}\n', 'index.json': '[]\n' };
    const actual = { 'a.json': '{}\n', 'b.json': '{"x":1}\n', 'old.json': '{}\n' };
    expect(diffRpcSchemas(expected, actual)).toEqual({
      missing: ['index.json'],
      extra: ['old.json'],
      changed: ['b.json'],
    });
  });

  it('detects a hand-edited checked-in schema', () => {
    const rendered = renderRpcSchemas();
    const edited = { ...rendered, 'run.json': (rendered['run.json'] ?? '').replace('"timeout"', '"slow"') };
    expect(diffRpcSchemas(rendered, edited).changed).toEqual(['run.json']);
  });
});

// Renders the contract as JSON Schema documents: one per method family plus an index. Pure (no file system)
// so the generator script, the drift check and the tests all share it, and browsers may import the package.
import { z } from 'zod';
import { contract, FAMILY_SERVICE, METHOD_FAMILIES, type ServiceName } from './contract.js';
import type { MethodDef } from './define-method.js';

/** Dialect of every generated schema. */
export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

const GENERATED_NOTE =
  'Generated from @cyber/contract by `pnpm schemas:gen`. Do not edit; CI fails when stale.';

/** One line of `index.json`. */
export interface RpcIndexEntry {
  method: string;
  family: string;
  /** Service that owns the family (the gateway forwards to it). */
  service: ServiceName;
  access: MethodDef['access'];
  internal: boolean;
  /** Notification method the call streams before its result, or null. */
  streams: string | null;
  /** Family file holding the method's schemas, relative to the index. */
  file: string;
}

function toSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  // The dialect is declared once per document, not in every nested schema.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' });
  return rest;
}

function describeMethod(def: MethodDef): Record<string, unknown> {
  return {
    description: def.description,
    access: def.access,
    internal: def.internal ?? false,
    // Params are what a caller sends (defaults make fields optional); results are what the server returns.
    params: toSchema(def.params, 'input'),
    result: toSchema(def.result, 'output'),
    ...(def.stream
      ? { notification: { method: def.stream.method, params: toSchema(def.stream.params, 'output') } }
      : {}),
  };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Renders `schemas/rpc`: file name → exact file content (2-space JSON, trailing newline, methods sorted by
 * name), so the output depends only on the contract's source.
 */
export function renderRpcSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  const index: RpcIndexEntry[] = [];
  const families = Object.keys(METHOD_FAMILIES).sort(byName) as (keyof typeof METHOD_FAMILIES)[];
  for (const family of families) {
    const methods: Record<string, MethodDef> = METHOD_FAMILIES[family];
    const file = `${family}.json`;
    const described: Record<string, unknown> = {};
    for (const name of Object.keys(methods).sort(byName)) {
      const def = methods[name];
      if (!def) continue;
      described[name] = describeMethod(def);
      index.push({
        method: name,
        family,
        service: FAMILY_SERVICE[family],
        access: def.access,
        internal: def.internal ?? false,
        streams: def.stream?.method ?? null,
        file,
      });
    }
    files[file] = json({
      $schema: JSON_SCHEMA_DIALECT,
      $comment: GENERATED_NOTE,
      title: `CyberDevStudio JSON-RPC methods: ${family}.*`,
      family,
      service: FAMILY_SERVICE[family],
      methods: described,
    });
  }
  index.sort((a, b) => byName(a.method, b.method));
  files['index.json'] = json({
    $comment: GENERATED_NOTE,
    title: 'CyberDevStudio JSON-RPC methods',
    methodCount: Object.keys(contract).length,
    methods: index,
  });
  return files;
}

/** Differences between the expected schema files and the ones found. */
export interface SchemaDrift {
  /** Expected but absent. */
  missing: string[];
  /** Present but not generated any more. */
  extra: string[];
  /** Present with different content. */
  changed: string[];
}

/** Compares rendered files with the files found on disk (name → content); empty lists mean no drift. */
export function diffRpcSchemas(
  expected: Record<string, string>,
  actual: Record<string, string>,
): SchemaDrift {
  const missing = Object.keys(expected).filter((name) => !Object.hasOwn(actual, name));
  const extra = Object.keys(actual).filter((name) => !Object.hasOwn(expected, name));
  const changed = Object.keys(expected).filter(
    (name) => Object.hasOwn(actual, name) && actual[name] !== expected[name],
  );
  return { missing: missing.sort(byName), extra: extra.sort(byName), changed: changed.sort(byName) };
}

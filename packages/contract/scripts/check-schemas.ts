// `pnpm schemas:check`: regenerates schemas/rpc into a temporary folder and fails when the checked-in files
// differ, are missing or are extra, so CI catches a contract change whose schemas were not regenerated.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffRpcSchemas, renderRpcSchemas } from '../src/json-schema.js';
import { readSchemaDir, SCHEMAS_DIR, writeSchemaDir } from './schema-files.js';

const tempDir = mkdtempSync(join(tmpdir(), 'cyber-schemas-'));
try {
  writeSchemaDir(tempDir, renderRpcSchemas());
  const drift = diffRpcSchemas(readSchemaDir(tempDir), readSchemaDir(SCHEMAS_DIR));
  const lines = [
    ...drift.missing.map((name) => `  missing: schemas/rpc/${name}`),
    ...drift.extra.map((name) => `  extra:   schemas/rpc/${name}`),
    ...drift.changed.map((name) => `  stale:   schemas/rpc/${name}`),
  ];
  if (lines.length > 0) {
    console.error(
      `schemas/rpc is out of date with the contract:\n${lines.join('\n')}\nRun \`pnpm schemas:gen\`.`,
    );
    process.exitCode = 1;
  } else {
    console.log('schemas/rpc matches the contract.');
  }
} finally {
  rmSync(tempDir, { recursive: true, force: true });
}

// `pnpm schemas:gen`: regenerates schemas/rpc from the zod contract.
import { renderRpcSchemas } from '../src/json-schema.js';
import { SCHEMAS_DIR, writeSchemaDir } from './schema-files.js';

const files = renderRpcSchemas();
writeSchemaDir(SCHEMAS_DIR, files);
console.log(`schemas:gen wrote ${Object.keys(files).length} files to ${SCHEMAS_DIR}`);

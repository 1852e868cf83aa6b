// node-llama-cpp compiles a subset of JSON Schema into a grammar and silently turns what it does not know into
// `null` (an unknown `type`, an empty schema) or ignores it (`pattern`, `minimum`). A grammar built from such a
// schema would constrain the model to output the schema does not describe, so the engine checks first.
import { RpcError } from '@cyber/contract';

const ANNOTATIONS = new Set(['description', 'title', 'examples', 'default', '$schema', '$id', '$comment']);
const PRIMITIVE_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const STRING_FORMATS = new Set(['date-time', 'time', 'date']);

const KEYWORDS_BY_FORM: Record<string, ReadonlySet<string>> = {
  const: new Set(['const']),
  enum: new Set(['enum']),
  oneOf: new Set(['oneOf', '$defs']),
  $ref: new Set(['$ref', '$defs']),
  string: new Set(['type', 'minLength', 'maxLength', 'format']),
  object: new Set([
    'type',
    'properties',
    'required',
    'additionalProperties',
    'minProperties',
    'maxProperties',
    '$defs',
  ]),
  array: new Set(['type', 'items', 'prefixItems', 'minItems', 'maxItems', '$defs']),
  primitive: new Set(['type']),
};

type Defs = ReadonlySet<string>;

/**
 * Checks that a JSON Schema lies in the subset node-llama-cpp turns into a grammar that enforces it.
 * @returns why it does not, naming the offending place (`$.properties.a`), or undefined when it does.
 */
export function grammarSchemaProblem(schema: unknown): string | undefined {
  return check(schema, '$', new Set());
}

/**
 * Throws RpcError `invalid_params` (data: `{ reason }`) when {@link grammarSchemaProblem} finds a problem.
 * @param what names the schema in the message, e.g. "responseFormat.schema" or "tool get_weather".
 */
export function assertGrammarSchema(schema: unknown, what: string): void {
  const reason = grammarSchemaProblem(schema);
  if (reason === undefined) return;
  throw new RpcError('invalid_params', {
    message: `${what} is not a JSON Schema the grammar can enforce: ${reason}`,
    data: { reason },
  });
}

function check(schema: unknown, at: string, outerDefs: Defs): string | undefined {
  if (!isRecord(schema)) return `${at} must be an object`;
  const defs = new Set(outerDefs);
  if (schema['$defs'] !== undefined) {
    if (!isRecord(schema['$defs'])) return `${at}.$defs must be an object`;
    for (const name of Object.keys(schema['$defs'])) defs.add(name);
  }
  const form = formOf(schema);
  if (form === undefined) return `${at} needs one of type, const, enum, oneOf or $ref`;
  const allowed = KEYWORDS_BY_FORM[form] ?? new Set<string>();
  for (const key of Object.keys(schema)) {
    if (!allowed.has(key) && !ANNOTATIONS.has(key)) return `${at}.${key} is not supported`;
  }
  if (isRecord(schema['$defs'])) {
    for (const [name, def] of Object.entries(schema['$defs'])) {
      const problem = check(def, `${at}.$defs.${name}`, defs);
      if (problem !== undefined) return problem;
    }
  }
  switch (form) {
    case 'const':
      return isPrimitive(schema['const'])
        ? undefined
        : `${at}.const must be a string, number, boolean or null`;
    case 'enum': {
      const values = schema['enum'];
      if (!Array.isArray(values) || values.length === 0 || !values.every(isPrimitive))
        return `${at}.enum must be a non-empty array of strings, numbers, booleans or null`;
      return undefined;
    }
    case 'oneOf':
      return checkList(schema['oneOf'], `${at}.oneOf`, defs, false);
    case '$ref': {
      const ref = schema['$ref'];
      if (typeof ref !== 'string' || !ref.startsWith('#/$defs/'))
        return `${at}.$ref must point into #/$defs/`;
      return defs.has(ref.slice('#/$defs/'.length)) ? undefined : `${at}.$ref ${ref} is not defined`;
    }
    case 'string':
      return (
        counts(schema, at, ['minLength', 'maxLength']) ??
        (schema['format'] === undefined || STRING_FORMATS.has(schema['format'] as string)
          ? undefined
          : `${at}.format must be date-time, time or date`)
      );
    case 'object':
      return checkObject(schema, at, defs);
    case 'array':
      return (
        counts(schema, at, ['minItems', 'maxItems']) ??
        (schema['items'] !== undefined ? check(schema['items'], `${at}.items`, defs) : undefined) ??
        (schema['prefixItems'] !== undefined
          ? checkList(schema['prefixItems'], `${at}.prefixItems`, defs, true)
          : undefined)
      );
    default:
      return checkPrimitiveType(schema['type'], at);
  }
}

function checkObject(schema: Record<string, unknown>, at: string, defs: Defs): string | undefined {
  const countProblem = counts(schema, at, ['minProperties', 'maxProperties']);
  if (countProblem !== undefined) return countProblem;
  const properties = schema['properties'] ?? {};
  if (!isRecord(properties)) return `${at}.properties must be an object`;
  for (const [name, property] of Object.entries(properties)) {
    const problem = check(property, `${at}.properties.${name}`, defs);
    if (problem !== undefined) return problem;
  }
  const required = schema['required'] ?? [];
  if (!Array.isArray(required) || !required.every((name) => typeof name === 'string'))
    return `${at}.required must be an array of property names`;
  const unknown = required.find((name: string) => !(name in properties));
  if (unknown !== undefined) return `${at}.required names ${unknown}, which is not in properties`;
  const additional = schema['additionalProperties'];
  if (additional === undefined || typeof additional === 'boolean') return undefined;
  return check(additional, `${at}.additionalProperties`, defs);
}

function checkList(list: unknown, at: string, defs: Defs, allowEmpty: boolean): string | undefined {
  if (!Array.isArray(list) || (!allowEmpty && list.length === 0)) return `${at} must be a non-empty array`;
  for (const [index, item] of list.entries()) {
    const problem = check(item, `${at}[${index}]`, defs);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function checkPrimitiveType(type: unknown, at: string): string | undefined {
  const types = Array.isArray(type) ? type : [type];
  if (types.length === 0 || !types.every((t) => typeof t === 'string' && PRIMITIVE_TYPES.has(t)))
    return `${at}.type must be string, number, integer, boolean, null, object or array (a list only of the first five)`;
  return undefined;
}

function formOf(schema: Record<string, unknown>): string | undefined {
  if ('const' in schema) return 'const';
  if ('enum' in schema) return 'enum';
  if ('oneOf' in schema) return 'oneOf';
  if ('$ref' in schema) return '$ref';
  if (!('type' in schema)) return undefined;
  const type = schema['type'];
  if (type === 'string' || type === 'object' || type === 'array') return type;
  return 'primitive';
}

function counts(schema: Record<string, unknown>, at: string, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = schema[key];
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 0))
      return `${at}.${key} must be a non-negative integer`;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

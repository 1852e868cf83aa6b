import { isRpcError } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { assertGrammarSchema, grammarSchemaProblem } from './json-schema.js';

describe('grammarSchemaProblem', () => {
  it('accepts the subset node-llama-cpp enforces', () => {
    expect(
      grammarSchemaProblem({
        type: 'object',
        description: 'a person',
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 40 },
          born: { type: 'string', format: 'date' },
          age: { type: ['integer', 'null'] },
          tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 3 },
          pet: { oneOf: [{ const: 'none' }, { $ref: '#/$defs/pet' }] },
        },
        required: ['name'],
        additionalProperties: false,
        $defs: { pet: { type: 'object', properties: { kind: { type: 'string' } } } },
      }),
    ).toBeUndefined();
  });

  it('names the place and the reason of what it would silently get wrong', () => {
    expect(grammarSchemaProblem({})).toBe('$ needs one of type, const, enum, oneOf or $ref');
    expect(grammarSchemaProblem({ type: 'nonsense' })).toMatch(/^\$\.type must be/);
    expect(grammarSchemaProblem({ type: 'string', pattern: 'a+' })).toBe('$.pattern is not supported');
    expect(grammarSchemaProblem({ anyOf: [{ type: 'string' }] })).toMatch(/needs one of/);
    expect(grammarSchemaProblem({ type: 'object', properties: { a: { type: 'number', minimum: 1 } } })).toBe(
      '$.properties.a.minimum is not supported',
    );
    expect(grammarSchemaProblem({ type: 'object', properties: {}, required: ['x'] })).toMatch(
      /required names x/,
    );
    expect(grammarSchemaProblem({ $ref: '#/$defs/missing' })).toMatch(/not defined/);
    expect(grammarSchemaProblem({ type: 'array', items: { type: 'strin' } })).toMatch(/^\$\.items\.type/);
    expect(grammarSchemaProblem({ enum: [] })).toMatch(/non-empty/);
    expect(grammarSchemaProblem('string')).toBe('$ must be an object');
  });

  it('throws invalid_params with the reason', () => {
    expect(() => assertGrammarSchema({ type: 'x' }, 'responseFormat.schema')).toThrow(
      expect.objectContaining({
        key: 'invalid_params',
        data: { reason: expect.stringMatching(/type/) as string },
      }) as Error,
    );
    try {
      assertGrammarSchema({ type: 'x' }, 'responseFormat.schema');
    } catch (error) {
      expect(isRpcError(error) && error.message.startsWith('responseFormat.schema is not')).toBe(true);
    }
  });
});

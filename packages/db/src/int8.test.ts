import { describe, expect, it } from 'vitest';
import { Int8RangeError, parseInt8 } from './int8.js';

describe('parseInt8', () => {
  it('parses values beyond 2^31 exactly', () => {
    expect(parseInt8('5000000000')).toBe(5_000_000_000);
    expect(parseInt8('-9007199254740991')).toBe(-Number.MAX_SAFE_INTEGER);
  });

  it('refuses a value that would be rounded, without echoing it', () => {
    expect(() => parseInt8('9007199254740993')).toThrow(Int8RangeError);
    expect(() => parseInt8('9007199254740993')).toThrow(/^(?!.*9007199254740993)/);
  });
});

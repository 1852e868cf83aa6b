// BIGINT (int8) columns hold money, ids and counts. node-postgres returns them as strings and PGlite as
// lossy numbers; both drivers instead use this one parser, so every BIGINT reaches the application as a JS
// number, exact or not at all. A number (not bigint) because money also passes through JSON (RPC results)
// and Redis Lua scripts, both of which are limited to doubles; 2^53 - 1 micro-credits is about 9 billion
// credits, far above any balance this product handles.

/** PostgreSQL type oid of `int8`/`BIGINT`. */
export const INT8_OID = 20;

/** Thrown when a BIGINT read from the database does not fit a JavaScript safe integer. */
export class Int8RangeError extends RangeError {
  constructor() {
    // The value itself is left out: it is money or an id, and the message ends up in logs.
    super(
      'A BIGINT value from the database is outside the safe integer range (±(2^53 - 1)); refusing to round it.',
    );
    this.name = 'Int8RangeError';
  }
}

/** Parses the text form of an int8 into a number; throws Int8RangeError instead of losing precision. */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Int8RangeError();
  return value;
}

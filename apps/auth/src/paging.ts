// Opaque paging cursors: the key of the last item of a page. Encoded so callers treat them as opaque and
// never build one by hand; a malformed cursor is the caller's error, not ours.
import { RpcError } from '@cyber/contract';

/** Encodes a positive integer key as a cursor. */
export function encodeCursor(key: number): string {
  return Buffer.from(`k${key}`, 'utf8').toString('base64url');
}

/** Decodes a cursor from {@link encodeCursor}; throws `invalid_params` for anything else. */
export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const match = /^k([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const key = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  if (!Number.isSafeInteger(key)) {
    throw new RpcError('invalid_params', { message: 'Invalid cursor', data: { field: 'cursor' } });
  }
  return key;
}

/** Splits `limit + 1` fetched rows into a page and the cursor of the next one. */
export function pageFrom<Row, Item>(
  rows: Row[],
  options: { limit: number; keyOf: (row: Row) => number; toItem: (row: Row) => Item },
): { items: Item[]; nextCursor: string | null } {
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > options.limit && last !== undefined ? encodeCursor(options.keyOf(last)) : null;
  return { items: page.map(options.toItem), nextCursor };
}

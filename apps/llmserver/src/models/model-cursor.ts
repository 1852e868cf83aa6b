// Opaque paging cursors of models.list: the id of the last model of a page.
import { RpcError } from '@cyber/contract';

/** Encodes a model id as a cursor. */
export function encodeModelCursor(id: number): string {
  return Buffer.from(`m${id}`, 'utf8').toString('base64url');
}

/** Decodes a cursor from {@link encodeModelCursor}; anything else is `invalid_params`. */
export function decodeModelCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const match = /^m([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const id = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  if (!Number.isSafeInteger(id)) {
    throw new RpcError('invalid_params', { message: 'Invalid cursor', data: { field: 'cursor' } });
  }
  return id;
}

// Who is calling, in the shape this service's tables use, and the paging cursors its listings hand out.
import { RpcError, type Role } from '@cyber/contract';
import type { RpcIdentity } from '@cyber/rpc-server';

/** The authenticated caller with the numeric user id of the `users` table. */
export interface Caller {
  userId: number;
  role: Role;
}

/**
 * The caller of a non-public method. The rpc plugin has already refused anonymous calls and checked the role;
 * this only turns the identity's user id (a string on the wire of `authenticate`) into the table's integer key.
 */
export function callerOf(identity: RpcIdentity | undefined): Caller {
  if (identity === undefined) throw new RpcError('unauthenticated');
  const userId = Number(identity.userId);
  if (!Number.isSafeInteger(userId) || userId <= 0) {
    throw new Error(`authenticate returned a user id that is not a users.id: ${String(identity.userId)}`);
  }
  return { userId, role: identity.role };
}

/** Encodes a keyset position (timestamp and id of the last row) as an opaque cursor. */
export function encodeCursor(position: { at: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ t: position.at.toISOString(), i: position.id })).toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; anything else is `invalid_params`. */
export function decodeCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && 't' in value && 'i' in value) {
      const { t, i } = value;
      const at = typeof t === 'string' ? new Date(t) : undefined;
      if (at !== undefined && !Number.isNaN(at.getTime()) && typeof i === 'string' && UUID.test(i)) {
        return { at, id: i };
      }
    }
  } catch {
    // Falls through to the error below: a cursor that is not ours.
  }
  throw new RpcError('invalid_params', { message: 'Invalid cursor', data: { reason: 'cursor' } });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

import type { User } from '@cyber/contract';
import type { User as UserRow } from '@cyber/db';

/** The contract's view of a `users` row: never the password or key hashes. */
export function toUserView(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    role: row.role,
    disabled: row.disabled,
    balance: row.balance,
    createdAt: row.created_at.toISOString(),
    lastLoginAt: row.last_login_at === null ? null : row.last_login_at.toISOString(),
  };
}

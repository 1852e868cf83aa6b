// The users' names for sections that show user ids (key owners, audit actors, usage per user).
import type { User } from '@cyber/contract';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import { useLoad } from './use-load.ts';

/** What {@link useUserNames} returns. */
export interface UserNames {
  /** The first 100 users; empty until loaded. */
  users: readonly User[];
  /** A user's name, or `user <id>` when not (yet) loaded. */
  nameOf: (userId: number) => string;
}

/** Loads the users once and names them by id. */
export function useUserNames(): UserNames {
  const rpc = useRpc();
  const loaded = useLoad(() => rpc.call('users.list', { limit: 100 }), 'users');
  const users = loaded.data?.items ?? [];
  return {
    users,
    nameOf: (userId) => users.find((user) => user.id === userId)?.username ?? `user ${userId}`,
  };
}

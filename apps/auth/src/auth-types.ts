// Types every module of the auth service shares: the caller's identity, the handler map and the clock.
import type { Contract, Role } from '@cyber/contract';
import type { RpcHandlers, RpcIdentity } from '@cyber/rpc-server';

/** The caller as the auth service sees it, from an access JWT or an API key. */
export interface AuthIdentity extends RpcIdentity {
  /** The user id as a string, as {@link RpcIdentity} requires. */
  userId: string;
  /** The user id as stored (`users.id`). */
  id: number;
  username: string;
  /** Effective role, read from the database on every request (never trusted from the token). */
  role: Role;
  /** How the caller authenticated. */
  via: 'session' | 'api_key';
  /** Refresh-token family of the session the access token belongs to (sessions only). */
  sessionId?: string;
  /** The API key used (API keys only). */
  keyId?: string;
}

/** Handlers of the contract methods one module serves, typed with {@link AuthIdentity}. */
export type AuthHandlers = RpcHandlers<Contract, AuthIdentity>;

/** Source of the current time; tests pass a controllable one. */
export type Clock = () => Date;

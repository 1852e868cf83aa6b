import { RpcError, roleSatisfies, type Access, type Role } from '@cyber/contract';

/**
 * The caller as a service sees it. Shaped like `@cyber/rpc-server`'s RpcIdentity (user id as a decimal string),
 * so a verifier's `authenticate` plugs straight into the rpc server's hook.
 */
export interface VerifiedIdentity {
  /** The user id (the JWT `sub`), as a decimal string. */
  userId: string;
  /** The user id as a number (`users.id`). */
  id: number;
  /** Login name (API keys only: introspection returns it; a session JWT carries just the id). */
  username?: string;
  /** Effective role: for a key, the owner's role lowered to the key's cap. */
  role: Role;
  /** How the caller proved who it is. */
  via: 'session' | 'api_key';
  /** Refresh-token family of the session (sessions only, when the token names it in `sid`). */
  sessionId?: string;
  /** The API key's id when `via` is `api_key`. */
  keyId?: string;
  /** Balance in micro-credits at introspection time (API keys only; a cached, possibly stale copy). */
  balance?: number;
  [extra: string]: unknown;
}

/**
 * Checks a contract method's access rule: throws `unauthenticated` without an identity (unless the method is
 * public) and `forbidden` when the role is too low; returns the identity otherwise.
 */
export function requireRole<T extends VerifiedIdentity>(identity: T | undefined, access: Role): T;
export function requireRole<T extends VerifiedIdentity>(
  identity: T | undefined,
  access: Access,
): T | undefined;
export function requireRole<T extends VerifiedIdentity>(
  identity: T | undefined,
  access: Access,
): T | undefined {
  if (access === 'public') return identity;
  if (identity === undefined) throw new RpcError('unauthenticated');
  if (!roleSatisfies(identity.role, access)) {
    throw new RpcError('forbidden', { data: { required: access } });
  }
  return identity;
}

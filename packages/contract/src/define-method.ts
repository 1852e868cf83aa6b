import type { z } from 'zod';

/** Roles a user can hold, from least to most privileged. */
export const ROLES = ['viewer', 'developer', 'admin'] as const;
/** A user's role. */
export type Role = (typeof ROLES)[number];

/**
 * Who may call a method: `public` needs no identity (login, health); otherwise the least role required.
 * Owner checks (own project, own key) are the handler's job on top of this.
 */
export type Access = 'public' | Role;

/** True when a caller with `role` (or none) satisfies `access`. */
export function roleSatisfies(role: Role | undefined, access: Access): boolean {
  if (access === 'public') return true;
  if (role === undefined) return false;
  return ROLES.indexOf(role) >= ROLES.indexOf(access);
}

/** Server notifications a streaming method sends while it runs, tied to the request id. */
export interface StreamDef<TNotification extends z.ZodType = z.ZodType> {
  /** Notification method name, e.g. `run.output`. */
  method: string;
  /** Schema of the notification params (without the `requestId` the transport adds). */
  params: TNotification;
}

/** Everything the contract says about one method. */
export interface MethodDef<
  TParams extends z.ZodType = z.ZodType,
  TResult extends z.ZodType = z.ZodType,
  TNotification extends z.ZodType = z.ZodType,
> {
  /** One line for humans and for the generated JSON Schema. */
  description: string;
  /** Least role the caller needs. */
  access: Access;
  /**
   * Service-to-service only (e.g. `auth.introspect`): the gateway does not expose it to browsers or scripts,
   * and the owning service authenticates the calling service itself.
   */
  internal?: boolean;
  params: TParams;
  result: TResult;
  /** Present when the method streams notifications over the WebSocket before its result. */
  stream?: StreamDef<TNotification>;
}

/** Declares a method; an identity function that keeps the literal types for inference. */
export function defineMethod<
  TParams extends z.ZodType,
  TResult extends z.ZodType,
  TNotification extends z.ZodType = z.ZodNever,
>(def: MethodDef<TParams, TResult, TNotification>): MethodDef<TParams, TResult, TNotification> {
  return def;
}

// Type helpers generic over any contract object, so the client is typed from the product contract by default
// and from a test contract in tests. Mirrors @cyber/rpc-server's helpers (the client must not depend on it).
import type { MethodDef } from '@cyber/contract';
import type { z } from 'zod';

/** Any contract: method wire name -> definition. */
export type AnyContract = Record<string, MethodDef>;

/** Name of a method in contract `C`. */
export type MethodOf<C extends AnyContract> = keyof C & string;

/** Params a caller sends for method `M` (before defaults and transforms). */
export type ParamsInputOf<C extends AnyContract, M extends MethodOf<C>> = z.input<C[M]['params']>;

/** Result a caller receives for method `M`. */
export type ResultOf<C extends AnyContract, M extends MethodOf<C>> = z.output<C[M]['result']>;

// defineMethod types `stream` as optional and defaults the notification schema to ZodNever, so the schema
// type, not the presence of the key, tells a streaming method apart.
type NotificationSchemaOf<D> = D extends { stream?: { params: infer N } }
  ? [N] extends [z.ZodType]
    ? [N] extends [z.ZodNever]
      ? never
      : N
    : never
  : never;

/** Methods of `C` that stream notifications before their result. */
export type StreamingMethodOf<C extends AnyContract> = {
  [M in MethodOf<C>]: [NotificationSchemaOf<C[M]>] extends [never] ? never : M;
}[MethodOf<C>];

/** Params of one notification that method `M` streams (without the transport's `requestId`). */
export type NotificationOf<C extends AnyContract, M extends MethodOf<C>> = [
  NotificationSchemaOf<C[M]>,
] extends [never]
  ? never
  : z.output<NotificationSchemaOf<C[M]>>;

/** Arguments after the method name: params may be left out when the method accepts none. */
export type ParamsArgs<C extends AnyContract, M extends MethodOf<C>, TOptions> =
  undefined extends ParamsInputOf<C, M>
    ? [params?: ParamsInputOf<C, M>, options?: TOptions]
    : [params: ParamsInputOf<C, M>, options?: TOptions];

// Type helpers generic over any contract object, so transports and clients infer the same types from the
// product contract and from the small contracts their tests define. The product aliases in contract.ts are
// these helpers applied to `Contract`.
import type { z } from 'zod';
import type { MethodDef } from './define-method.js';

/** Any contract: method wire name -> definition. */
export type AnyContract = Record<string, MethodDef>;

/** Name of a method in contract `C`. */
export type MethodOf<C extends AnyContract> = Extract<keyof C, string>;

/** Params a caller sends for method `M` (before defaults and transforms). */
export type ParamsInputOf<C extends AnyContract, M extends MethodOf<C>> = z.input<C[M]['params']>;

/** Params a handler receives for method `M` (after parsing, defaults and transforms). */
export type ParamsOf<C extends AnyContract, M extends MethodOf<C>> = z.output<C[M]['params']>;

/** Result a handler returns and a caller receives for method `M`. */
export type ResultOf<C extends AnyContract, M extends MethodOf<C>> = z.output<C[M]['result']>;

// `defineMethod` types `stream` as optional and defaults the notification schema to `ZodNever`, so the schema
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

/** Params of one notification that method `M` streams (without the transport's `requestId`); `never` otherwise. */
export type NotificationOf<C extends AnyContract, M extends MethodOf<C>> = [
  NotificationSchemaOf<C[M]>,
] extends [never]
  ? never
  : z.output<NotificationSchemaOf<C[M]>>;

// Type helpers generic over any contract object, so a service can serve the product contract or a test contract
// with the same inference. The product aliases (`Params<M>`, `Result<M>`) in @cyber/contract are these types
// applied to the product `Contract`.
import type { MethodDef } from '@cyber/contract';
import type { z } from 'zod';

/** Any contract: method wire name -> definition. */
export type AnyContract = Record<string, MethodDef>;

/** Name of a method in contract `C`. */
export type MethodOf<C extends AnyContract> = keyof C & string;

/** Params a handler receives for method `M` of `C` (after zod parsing, defaults and transforms). */
export type ParamsOf<C extends AnyContract, M extends MethodOf<C>> = z.output<C[M]['params']>;

/** Result a handler returns for method `M` of `C`. */
export type ResultOf<C extends AnyContract, M extends MethodOf<C>> = z.output<C[M]['result']>;

/**
 * Zod schema of the notifications method `M` streams; `never` when it does not stream. `defineMethod` types
 * `stream` as optional and defaults the notification schema to `ZodNever`, so the schema type, not the presence
 * of the key, tells a streaming method apart.
 */
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

/** Params of one notification method `M` streams (without the `requestId` the transport adds); `never` otherwise. */
export type NotificationOf<C extends AnyContract, M extends MethodOf<C>> = [
  NotificationSchemaOf<C[M]>,
] extends [never]
  ? never
  : z.output<NotificationSchemaOf<C[M]>>;

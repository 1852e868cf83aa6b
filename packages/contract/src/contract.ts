import type { z } from 'zod';
import type { MethodDef } from './define-method.js';
import { systemMethods } from './methods/system.js';

/** Every JSON-RPC method of the product, keyed by its wire name (`family.verb`). */
export const contract = {
  ...systemMethods,
} as const satisfies Record<string, MethodDef>;

/** The contract's type; transports and clients are generic over it. */
export type Contract = typeof contract;
/** Name of any method in the contract. */
export type MethodName = Extract<keyof Contract, string>;
/** Params a caller sends (before defaults and transforms). */
export type ParamsInput<M extends MethodName> = z.input<Contract[M]['params']>;
/** Params a handler receives (after parsing). */
export type Params<M extends MethodName> = z.output<Contract[M]['params']>;
/** Result a handler returns and a caller receives. */
export type Result<M extends MethodName> = z.output<Contract[M]['result']>;
/** Methods that stream notifications before their result. */
export type StreamingMethodName = {
  [M in MethodName]: Contract[M] extends { stream: object } ? M : never;
}[MethodName];
/** Params of the notifications a streaming method sends. */
export type Notification<M extends StreamingMethodName> = Contract[M] extends {
  stream: { params: infer N extends z.ZodType };
}
  ? z.output<N>
  : never;

/** Reserved notification a client sends to cancel one of its in-flight requests (`rpc.` names are reserved by JSON-RPC). */
export const CANCEL_NOTIFICATION = 'rpc.cancel';

/** True when `name` is a method of the contract. */
export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(contract, name);
}

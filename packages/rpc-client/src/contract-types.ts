// The client's own type helper, beside the generic contract helpers it re-exports from @cyber/contract.
import type { AnyContract, MethodOf, ParamsInputOf } from '@cyber/contract';

export type {
  AnyContract,
  MethodOf,
  NotificationOf,
  ParamsInputOf,
  ResultOf,
  StreamingMethodOf,
} from '@cyber/contract';

/** Arguments after the method name: params may be left out when the method accepts none. */
export type ParamsArgs<C extends AnyContract, M extends MethodOf<C>, TOptions> =
  undefined extends ParamsInputOf<C, M>
    ? [params?: ParamsInputOf<C, M>, options?: TOptions]
    : [params: ParamsInputOf<C, M>, options?: TOptions];

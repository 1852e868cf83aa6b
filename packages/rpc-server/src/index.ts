export { rpcServer, defineHandlers, defineHandler, DEFAULT_RPC_LIMITS } from './rpc-server-plugin.js';
export type {
  Authenticate,
  AuthenticateMeta,
  InternalErrorInfo,
  RpcCallEnd,
  RpcCallOutcome,
  RpcContext,
  RpcHandler,
  RpcHandlers,
  RpcId,
  RpcIdentity,
  RpcLimits,
  RpcLogger,
  RpcServerOptions,
  RpcTransport,
} from './server-types.js';
export type {
  AnyContract,
  MethodOf,
  NotificationOf,
  ParamsOf,
  ResultOf,
  StreamingMethodOf,
} from '@cyber/contract';
export {
  API_KEY_SUBPROTOCOL_PREFIX,
  BEARER_SUBPROTOCOL_PREFIX,
  RPC_SUBPROTOCOL,
  headersWithSubprotocolCredentials,
} from './ws-credentials.js';
export { callerHeaders, traceIdOf, type CallerContext, type CallerHeadersOptions } from './caller-headers.js';

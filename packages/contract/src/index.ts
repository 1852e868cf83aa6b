export {
  RPC_ERROR_CODES,
  RPC_ERROR_MESSAGES,
  RpcError,
  isRpcError,
  toWireError,
  type RpcErrorKey,
  type RpcErrorOptions,
  type ToWireErrorOptions,
  type WireError,
} from './rpc-errors.js';
export {
  ROLES,
  defineMethod,
  roleSatisfies,
  type Access,
  type MethodDef,
  type Role,
  type StreamDef,
} from './define-method.js';
export {
  CANCEL_NOTIFICATION,
  contract,
  isMethodName,
  type Contract,
  type MethodName,
  type Notification,
  type Params,
  type ParamsInput,
  type Result,
  type StreamingMethodName,
} from './contract.js';

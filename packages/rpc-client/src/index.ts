export { createHttpClient } from './http-client.js';
export type {
  BatchEntry,
  BatchResults,
  HttpCallOptions,
  HttpClient,
  HttpClientOptions,
} from './http-client.js';
export { createWsClient } from './ws-client.js';
export type {
  WebSocketConstructorLike,
  WebSocketLike,
  WsCallOptions,
  WsClient,
  WsClientOptions,
} from './ws-client.js';
export {
  API_KEY_SUBPROTOCOL_PREFIX,
  BEARER_SUBPROTOCOL_PREFIX,
  RPC_SUBPROTOCOL,
  type CredentialsSource,
  type RpcCredentials,
} from './credentials.js';
export type { Settled } from './wire.js';
export type {
  AnyContract,
  MethodOf,
  NotificationOf,
  ParamsInputOf,
  ResultOf,
  StreamingMethodOf,
} from './contract-types.js';

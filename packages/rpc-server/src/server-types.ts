import type {
  AnyContract,
  Contract,
  MethodOf,
  NotificationOf,
  ParamsOf,
  ResultOf,
  Role,
  RpcErrorKey,
} from '@cyber/contract';
import type { FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';

/** Who is calling, as resolved by {@link RpcServerOptions.authenticate}. Services may carry more fields. */
export interface RpcIdentity {
  userId: string;
  role: Role;
  [extra: string]: unknown;
}

/** A JSON-RPC request id; `null` is legal on the wire though discouraged. */
export type RpcId = string | number | null;

/** The transport a request arrived on. */
export type RpcTransport = 'http' | 'ws';

/** What a handler gets besides its params. */
export interface RpcContext<TNotification = never, TIdentity extends RpcIdentity = RpcIdentity> {
  /** The caller, or `undefined` on a public method called anonymously. */
  identity: TIdentity | undefined;
  /** Aborted on `rpc.cancel`, on WebSocket close, or when the HTTP client goes away. Pass it down. */
  signal: AbortSignal;
  /**
   * Sends one stream notification tied to this request (streaming methods only). The params are validated
   * against the method's stream schema; an invalid notification throws (a handler bug, answered as an internal
   * error). Over HTTP, and for JSON-RPC notifications, it validates and drops. The promise resolves once the
   * socket buffer has room again: await it so a fast producer cannot outrun a slow client.
   */
  notify: (params: TNotification) => Promise<void>;
  /** Correlation id echoed in `error.data.correlationId` and the `x-correlation-id` header; use it in logs. */
  correlationId: string;
  /** The JSON-RPC id; `undefined` when the call is a notification (no response will be sent). */
  requestId: RpcId | undefined;
  /** Which transport carried the request. */
  transport: RpcTransport;
  /** The Fastify request (for WebSocket, the upgrade request): ip, headers, route config. */
  request: FastifyRequest;
}

/** Handler of method `M` of contract `C`. */
export type RpcHandler<
  C extends AnyContract,
  M extends MethodOf<C>,
  TIdentity extends RpcIdentity = RpcIdentity,
> = (
  params: ParamsOf<C, M>,
  ctx: RpcContext<NotificationOf<C, M>, TIdentity>,
) => Promise<ResultOf<C, M>> | ResultOf<C, M>;

/** A partial map of handlers: methods without one answer -32601, so each service serves only its subset. */
export type RpcHandlers<C extends AnyContract = Contract, TIdentity extends RpcIdentity = RpcIdentity> = {
  [M in MethodOf<C>]?: RpcHandler<C, M, TIdentity>;
};

/** What the transport knows about the connection besides its headers. */
export interface AuthenticateMeta {
  /** The client's address as Fastify sees it (honours the app's `trustProxy`); for per-address limits. */
  ip: string;
}

/**
 * Resolves the caller from request headers; `undefined` means anonymous. Throw an RpcError for bad credentials.
 * Called once per HTTP request and once per WebSocket connection.
 */
export type Authenticate<TIdentity extends RpcIdentity = RpcIdentity> = (
  headers: IncomingHttpHeaders,
  meta: AuthenticateMeta,
) => Promise<TIdentity | undefined>;

/** The slice of a pino/Fastify logger the server uses. */
export interface RpcLogger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Details passed with an internal error to {@link RpcServerOptions.onInternalError}. */
export interface InternalErrorInfo {
  correlationId: string;
  method: string | undefined;
  requestId: RpcId | undefined;
  transport: RpcTransport;
}

/** How a call ended: `ok`, or the error key its caller got (`internal_error` for anything not an RpcError). */
export type RpcCallOutcome = 'ok' | RpcErrorKey;

/** One finished call, as told to {@link RpcServerOptions.onCallEnd}. */
export interface RpcCallEnd {
  /**
   * The method as the contract names it, or `unknown` when the contract has no such method or the message had
   * none (unparsable JSON, an invalid envelope, an oversized body or frame): a caller cannot grow this set.
   */
  method: string;
  /** `ok`, or the error key of the answer (`invalid_params`, `budget_exceeded`, `internal_error`…). */
  outcome: RpcCallOutcome;
  /** From reading the call to its answer; a streaming call ends with its last notification. */
  durationSeconds: number;
  /** Which transport carried it. */
  transport: RpcTransport;
}

/** Limits that protect a service from oversized or runaway traffic. */
export interface RpcLimits {
  /** Largest HTTP body in bytes; larger bodies get HTTP 413 with `payload_too_large` (-32009). Default 1 MiB. */
  bodyLimit?: number;
  /** Most entries in one batch; longer batches get one `invalid_request` (-32600) with `data.limit`. Default 50. */
  maxBatch?: number;
  /** Largest WebSocket frame in bytes; larger frames get `payload_too_large` (-32009), id null. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Most requests in flight on one WebSocket; more get `rate_limited` (-32007) with `data.limit`. Default 32. */
  maxInFlightPerConnection?: number;
}

/** Options of the {@link rpcServer} plugin. */
export interface RpcServerOptions<
  C extends AnyContract = Contract,
  TIdentity extends RpcIdentity = RpcIdentity,
> {
  /** The contract served; defaults to the product contract. */
  contract?: C;
  /** Handlers for the methods this service serves. */
  handlers: RpcHandlers<C, TIdentity>;
  /** Resolves the caller once per HTTP request / once per WebSocket connection. Default: always anonymous. */
  authenticate?: Authenticate<TIdentity>;
  /** Size and concurrency limits. */
  limits?: RpcLimits;
  /** Where internal errors are logged (once each, with the correlation id). Default: the Fastify logger. */
  logger?: RpcLogger;
  /** Called once per internal error after it is logged (metrics, error trackers). Must not throw. */
  onInternalError?: (error: unknown, info: InternalErrorInfo) => void;
  /**
   * Called once per call when it ends (metrics): every request and notification, each member of a batch, over
   * HTTP and WebSocket, and once per message refused before any method was read. `rpc.cancel` is not a call.
   * Must not throw (a throw is logged and ignored).
   */
  onCallEnd?: (call: RpcCallEnd) => void;
  /** Path of the HTTP and WebSocket endpoint. Default `/rpc`. */
  path?: string;
  /** Validate handler results against the contract and strip unknown keys (no field leaks). Default true. */
  validateResults?: boolean;
}

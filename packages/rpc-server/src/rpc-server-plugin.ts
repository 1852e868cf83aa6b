import { contract as productContract, type AnyContract, type Contract, type MethodOf } from '@cyber/contract';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { createDispatcher } from './dispatcher.js';
import { registerHttpRoute } from './rpc-http.js';
import { handleWebSocket } from './rpc-ws.js';
import type {
  InternalErrorInfo,
  RpcCallEnd,
  RpcHandler,
  RpcHandlers,
  RpcIdentity,
  RpcLogger,
  RpcServerOptions,
} from './server-types.js';
import { selectSubprotocol } from './ws-credentials.js';

/** Default limits; see {@link RpcLimits} for what each protects. */
export const DEFAULT_RPC_LIMITS = {
  bodyLimit: 1024 * 1024,
  maxBatch: 50,
  maxFrameBytes: 1024 * 1024,
  maxInFlightPerConnection: 32,
} as const;

/** ws drops a connection (close 1009) above this multiple of `maxFrameBytes`, before buffering any more. */
const HARD_FRAME_FACTOR = 4;

async function rpcServerPlugin(
  app: FastifyInstance,
  options: RpcServerOptions<AnyContract, RpcIdentity>,
): Promise<void> {
  const limits = { ...DEFAULT_RPC_LIMITS, ...options.limits };
  const logger: RpcLogger = options.logger ?? app.log;
  const path = options.path ?? '/rpc';
  const authenticate = options.authenticate ?? (() => Promise.resolve(undefined));

  const reportInternal = (error: unknown, info: InternalErrorInfo): void => {
    logger.error({ err: error, ...info }, 'rpc: internal error');
    try {
      options.onInternalError?.(error, info);
    } catch (hookError) {
      logger.warn({ err: hookError, correlationId: info.correlationId }, 'rpc: onInternalError hook threw');
    }
  };

  const hook = options.onCallEnd;
  const callEnded =
    hook === undefined
      ? undefined
      : (call: RpcCallEnd): void => {
          try {
            hook(call);
          } catch (hookError) {
            logger.warn({ err: hookError, method: call.method }, 'rpc: onCallEnd hook threw');
          }
        };

  const dispatch = createDispatcher({
    contract: options.contract ?? productContract,
    handlers: options.handlers,
    maxBatch: limits.maxBatch,
    validateResults: options.validateResults ?? true,
    reportInternal,
    ...(callEnded === undefined ? {} : { onCallEnd: callEnded }),
  });

  // A gateway may already have registered @fastify/websocket for other routes; registering twice would fail.
  if (!app.hasDecorator('websocketServer')) {
    await app.register(fastifyWebsocket, {
      options: {
        maxPayload: limits.maxFrameBytes * HARD_FRAME_FACTOR,
        handleProtocols: (offered) => selectSubprotocol(offered),
      },
    });
  }

  // An encapsulated child: the string body parser and error handler must not leak into the host app.
  await app.register((scope, _options, done) => {
    registerHttpRoute(scope, {
      path,
      bodyLimit: limits.bodyLimit,
      dispatch,
      authenticate,
      reportInternal,
      ...(callEnded === undefined ? {} : { onCallEnd: callEnded }),
    });
    scope.get(path, { websocket: true }, (socket, request) => {
      handleWebSocket(socket, request, {
        dispatch,
        authenticate,
        maxFrameBytes: limits.maxFrameBytes,
        maxInFlight: limits.maxInFlightPerConnection,
        reportInternal,
        ...(callEnded === undefined ? {} : { onCallEnd: callEnded }),
      });
    });
    done();
  });
}

/**
 * Fastify plugin serving a contract over JSON-RPC 2.0 at `POST /rpc` and WebSocket `GET /rpc`.
 *
 * `app.register(rpcServer, { handlers, authenticate })` serves the product contract; for another contract
 * pass `contract` and build `handlers` with {@link defineHandlers} so each handler is typed from it.
 */
export const rpcServer = fp(rpcServerPlugin, {
  name: '@cyber/rpc-server',
  fastify: '5.x',
}) as FastifyPluginAsync<RpcServerOptions<AnyContract, RpcIdentity>> as <
  C extends AnyContract = Contract,
  TIdentity extends RpcIdentity = RpcIdentity,
>(
  app: FastifyInstance,
  options: RpcServerOptions<C, TIdentity>,
) => Promise<void>;

/**
 * Types a handler map against a contract: `defineHandlers(testContract)({ 'test.echo': async (p) => p })`.
 * Call with no argument for the product contract. Identity type defaults to {@link RpcIdentity}.
 */
export function defineHandlers<C extends AnyContract = Contract, TIdentity extends RpcIdentity = RpcIdentity>(
  _contract?: C,
): (handlers: RpcHandlers<C, TIdentity>) => RpcHandlers<C, TIdentity> {
  return (handlers) => handlers;
}

/** Types one handler, for services that keep handlers in separate files. */
export function defineHandler<
  C extends AnyContract,
  M extends MethodOf<C>,
  TIdentity extends RpcIdentity = RpcIdentity,
>(_contract: C, _method: M, handler: RpcHandler<C, M, TIdentity>): RpcHandler<C, M, TIdentity> {
  return handler;
}

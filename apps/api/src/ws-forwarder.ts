// Forwarding of a streaming method (llm.chat, llm.complete, models.download) for a caller on a WebSocket: the
// call goes to the owning service over a WebSocket of its own, so each notification the service streams is
// relayed to the caller as it comes (tied to the caller's request id), and cancellation crosses both ways. One
// socket per call: it carries the caller's credential (as a subprotocol, like any client) and lives exactly as
// long as the call, so nothing outlives a caller that went away and no identity is ever shared between calls.
import { RpcError, type ServiceName } from '@cyber/contract';
import { createWsClient, type RpcCredentials } from '@cyber/rpc-client';
import type { RpcContext } from '@cyber/rpc-server';
import WebSocket from 'ws';
import { forwardedHeaders } from './forwarder.js';

/** How long the handshake with the service may take before it counts as unreachable. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Relayed notifications waiting on the caller's socket before the service's socket stops being read. */
const RELAY_HIGH_WATER = 16;

/** The client's `call` without the contract's per-method typing: the method is only known at run time. */
interface UntypedCall {
  call(
    method: string,
    params: unknown,
    options: { signal: AbortSignal; onNotification: (notification: unknown) => void },
  ): Promise<unknown>;
}

/** Options of {@link forwardOverWebSocket}. */
export interface WsForwardOptions {
  /** The service that owns the method (named in `service_unavailable`). */
  service: Exclude<ServiceName, 'api'>;
  /** The service's WebSocket endpoint, `ws://host:port/rpc`. */
  url: string;
  method: string;
  params: unknown;
  ctx: RpcContext<unknown>;
}

/** The `ws://` (or `wss://`) endpoint of a service whose base URL is `http(s)://…`. */
export function webSocketUrl(base: string): string {
  const url = new URL('/rpc', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * The caller's credential as the client sends it (a subprotocol), and the other headers of the hop (trace
 * context, correlation id, client address) for the upgrade request.
 */
function splitHeaders(ctx: RpcContext<unknown>): {
  credentials: RpcCredentials | undefined;
  headers: Record<string, string>;
} {
  const {
    'content-type': _contentType,
    authorization,
    'x-cyber-token': apiKey,
    ...headers
  } = forwardedHeaders(ctx);
  if (apiKey !== undefined) {
    if (authorization !== undefined) headers.authorization = authorization;
    return { credentials: { apiKey }, headers };
  }
  const bearer = authorization?.match(/^Bearer (.+)$/i)?.[1];
  if (bearer !== undefined) return { credentials: { bearer }, headers };
  // Not a bearer token: passed as the header it came in, for the service to judge as the gateway did.
  if (authorization !== undefined) headers.authorization = authorization;
  return { credentials: undefined, headers };
}

/** Rejects with `cancelled` once `signal` aborts; `dispose` removes the listener. */
function whenAborted(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let onAbort = (): void => {};
  const promise = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new RpcError('cancelled'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * Calls a streaming `method` on the service over a WebSocket with the caller's credential, relaying each
 * notification through `ctx.notify` in order and before the result. Aborting `ctx.signal` sends `rpc.cancel`
 * downstream; the service's own errors (cancelled included) come back unchanged; a service that cannot be
 * reached, or whose socket drops mid-call, is `service_unavailable` naming it.
 */
export async function forwardOverWebSocket(options: WsForwardOptions): Promise<unknown> {
  const { service, ctx } = options;
  const { credentials, headers } = splitHeaders(ctx);
  let socket: WebSocket | undefined;
  let dropped = false;
  // The client opens the socket through this constructor: it adds the hop's headers and keeps the socket, so a
  // drop mid-call can be told apart from an error the service answered, and reading can pause for backpressure.
  class ServiceSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the client owns the socket; the forwarder needs a handle
      socket = this;
      // Registered before the client's own listener, so the flag is set when its pending call rejects.
      this.addEventListener('close', () => {
        dropped = true;
      });
    }
  }
  const client = createWsClient({
    url: options.url,
    WebSocket: ServiceSocket,
    ...(credentials === undefined ? {} : { credentials }),
  });
  const unavailable = (reason: string, cause?: unknown): RpcError =>
    new RpcError('service_unavailable', {
      message: `The ${service} service is unavailable`,
      data: { service, reason },
      cause,
    });

  // Notifications go out one after another; the chain settles once the last one is on the caller's socket.
  let relay: Promise<void> = Promise.resolve();
  let waiting = 0;
  let relayError: Error | undefined;
  const onNotification = (notification: unknown): void => {
    waiting += 1;
    if (waiting >= RELAY_HIGH_WATER) socket?.pause();
    relay = relay
      .then(() => (relayError === undefined ? ctx.notify(notification) : undefined))
      .catch((error: unknown) => {
        relayError ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => {
        waiting -= 1;
        if (waiting === 0) socket?.resume();
      });
  };

  const aborted = whenAborted(ctx.signal);
  try {
    try {
      await Promise.race([client.opened, aborted.promise]);
    } catch (error) {
      if (ctx.signal.aborted) throw new RpcError('cancelled', { cause: error });
      throw unavailable('unreachable', error);
    }
    const call = (client as unknown as UntypedCall).call(options.method, options.params, {
      signal: ctx.signal,
      onNotification,
    });
    let result: unknown;
    try {
      result = await Promise.race([call, aborted.promise]);
    } catch (error) {
      if (ctx.signal.aborted) throw new RpcError('cancelled', { cause: error });
      // What was relayed before the failure reaches the caller before the error does.
      await relay;
      if (dropped) throw unavailable('connection closed during the call', error);
      throw error;
    }
    await relay;
    if (relayError !== undefined) throw relayError;
    return result;
  } finally {
    aborted.dispose();
    socket?.resume();
    // Runs after the abort listeners, so `rpc.cancel` is already on its way when the socket closes.
    client.close();
  }
}

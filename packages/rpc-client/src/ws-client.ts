import { CANCEL_NOTIFICATION, RpcError, type Contract } from '@cyber/contract';
import type {
  AnyContract,
  MethodOf,
  NotificationOf,
  ParamsArgs,
  ResultOf,
  StreamingMethodOf,
} from './contract-types.js';
import { credentialSubprotocols, resolveCredentials, type CredentialsSource } from './credentials.js';
import { isWireResponse, unwrap } from './wire.js';

/**
 * The slice of a WebSocket the client uses. Events are typed by the few fields read, so both the browser's
 * WebSocket and the `ws` package fit without a DOM lib or a Node import.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
}

/** A WebSocket constructor: the browser global, or `WebSocket` from the `ws` package in Node. */
export type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Options of {@link createWsClient}. */
export interface WsClientOptions<C extends AnyContract = Contract> {
  /** The endpoint, e.g. `ws://localhost:7401/rpc`. */
  url: string;
  /** WebSocket implementation; defaults to the global one. Node 20 has none: pass `WebSocket` from `ws`. */
  WebSocket?: WebSocketConstructorLike;
  /** Credentials for this connection, sent as a subprotocol (browsers cannot set WebSocket headers). */
  credentials?: CredentialsSource;
  /** The contract, only to infer types; never read at run time. */
  contract?: C;
}

/** Per-call options; `onNotification` exists only for streaming methods. */
export type WsCallOptions<C extends AnyContract, M extends MethodOf<C>> = {
  /** Aborting sends `rpc.cancel` and rejects the call with an RpcError `cancelled`. */
  signal?: AbortSignal;
} & (M extends StreamingMethodOf<C>
  ? {
      /** Called, in order, for each notification the method streams before its result. */
      onNotification?: (notification: NotificationOf<C, M>) => void;
    }
  : object);

/** A typed JSON-RPC client over one WebSocket connection. */
export interface WsClient<C extends AnyContract = Contract> {
  /** Resolves when the socket is open; rejects (RpcError `service_unavailable`) if it never opens. */
  readonly opened: Promise<void>;
  /** Calls a method; streaming notifications go to `onNotification`. */
  call<M extends MethodOf<C>>(
    method: M,
    ...args: ParamsArgs<C, M, WsCallOptions<C, M>>
  ): Promise<ResultOf<C, M>>;
  /** Sends a notification (no response). */
  notify<M extends MethodOf<C>>(method: M, ...args: ParamsArgs<C, M, never>): Promise<void>;
  /** Closes the socket; pending calls reject with `service_unavailable`. */
  close(): void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onNotification: ((notification: never) => void) | undefined;
}

const OPEN = 1;

/** Opens a typed WebSocket client. No reconnect: after a close, calls reject and a new client is needed. */
export function createWsClient<C extends AnyContract = Contract>(options: WsClientOptions<C>): WsClient<C> {
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closedError: RpcError | undefined;
  let socket: WebSocketLike | undefined;

  const fail = (error: RpcError): void => {
    closedError ??= error;
    for (const entry of pending.values()) entry.reject(closedError);
    pending.clear();
  };

  const onMessage = (data: unknown): void => {
    if (typeof data !== 'string') return;
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    for (const message of Array.isArray(payload) ? (payload as unknown[]) : [payload]) route(message);
  };

  const route = (message: unknown): void => {
    if (isWireResponse(message)) {
      const entry = typeof message.id === 'number' ? pending.get(message.id) : undefined;
      if (entry === undefined || typeof message.id !== 'number') return;
      pending.delete(message.id);
      try {
        entry.resolve(unwrap(message));
      } catch (error) {
        entry.reject(error instanceof Error ? error : new RpcError('internal_error'));
      }
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const params = (message as { params?: unknown }).params;
    if (typeof params !== 'object' || params === null) return;
    const { requestId, ...notification } = params as Record<string, unknown>;
    const entry = typeof requestId === 'number' ? pending.get(requestId) : undefined;
    entry?.onNotification?.(notification as never);
  };

  const opened = (async () => {
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
    if (Ctor === undefined) {
      throw new RpcError('service_unavailable', {
        message: 'No WebSocket implementation: pass options.WebSocket',
      });
    }
    const protocols = credentialSubprotocols(await resolveCredentials(options.credentials));
    if (closedError !== undefined) throw closedError;
    const ws = new Ctor(options.url, protocols);
    socket = ws;
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () =>
        reject(new RpcError('service_unavailable', { message: 'WebSocket connection failed' })),
      );
      ws.addEventListener('message', (event: { data: unknown }) => onMessage(event.data));
      ws.addEventListener('close', (event: { code: number; reason: string }) => {
        const error = new RpcError('service_unavailable', {
          message: 'WebSocket closed',
          data: { code: event.code, reason: event.reason },
        });
        reject(error);
        fail(error);
      });
    });
  })();
  // Callers observe failures through `opened` or their calls; never an unhandled rejection.
  opened.catch((error: unknown) =>
    fail(error instanceof RpcError ? error : new RpcError('service_unavailable')),
  );

  async function openSocket(): Promise<WebSocketLike> {
    await opened;
    if (closedError !== undefined) throw closedError;
    if (socket === undefined || socket.readyState !== OPEN) throw new RpcError('service_unavailable');
    return socket;
  }

  return {
    opened,

    async call(method, ...[params, callOptions]) {
      const signal = callOptions?.signal;
      if (signal?.aborted === true) throw new RpcError('cancelled');
      const ws = await openSocket();
      const id = nextId++;
      const onNotification =
        callOptions !== undefined && 'onNotification' in callOptions
          ? (callOptions.onNotification as ((notification: never) => void) | undefined)
          : undefined;
      return new Promise<ResultOf<C, typeof method>>((resolve, reject) => {
        const onAbort = (): void => {
          if (!pending.delete(id)) return;
          if (ws.readyState === OPEN) {
            ws.send(JSON.stringify({ jsonrpc: '2.0', method: CANCEL_NOTIFICATION, params: { id } }));
          }
          reject(new RpcError('cancelled'));
        };
        const settle = (): void => signal?.removeEventListener('abort', onAbort);
        pending.set(id, {
          resolve: (value) => {
            settle();
            resolve(value as ResultOf<C, typeof method>);
          },
          reject: (error) => {
            settle();
            reject(error);
          },
          onNotification,
        });
        signal?.addEventListener('abort', onAbort, { once: true });
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    },

    async notify(method, ...[params]) {
      const ws = await openSocket();
      ws.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
    },

    close() {
      fail(new RpcError('service_unavailable', { message: 'WebSocket closed by the client' }));
      socket?.close(1000, 'client closed');
    },
  };
}

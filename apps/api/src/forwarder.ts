// Forwarding of the families other services own (FAMILY_SERVICE), so browsers and scripts need one origin.
// The gateway has already authenticated the caller and checked the role; the owning service checks again
// (design: "enforced at the gateway and again in each service"), so the caller's own credential travels
// with the call, never a gateway identity. Errors come back as the service sent them (same code, message and
// data); a service that cannot be reached is `service_unavailable` naming it.
//
// Streaming methods (llm.chat and friends) called over a WebSocket go to the service over a WebSocket of their
// own (ws-forwarder.ts), so the caller gets every notification and can cancel; over HTTP there is nowhere to
// stream to, so they are forwarded like any other method and answer with the final result.
import {
  FAMILY_SERVICE,
  RpcError,
  contract,
  type MethodFamily,
  type ServiceName,
  type WireError,
} from '@cyber/contract';
import { callerHeaders, type RpcContext, type RpcHandlers } from '@cyber/rpc-server';
import { activeTraceparent } from '@cyber/telemetry';
import { forwardOverWebSocket, webSocketUrl } from './ws-forwarder.js';

/** The services the gateway forwards to, by name, with the base URL each serves JSON-RPC under (`/rpc`). */
export type ServiceUrls = Record<Exclude<ServiceName, 'api'>, string>;

/** Options of {@link forwardingHandlers}. */
export interface ForwarderOptions {
  /** Base URLs of the services. */
  services: ServiceUrls;
  /** fetch implementation (tests may count calls); the global one by default. */
  fetch?: typeof fetch;
}

/** Headers of the caller that the owning service needs: credentials, trace context, correlation id. */
export function forwardedHeaders(ctx: RpcContext<unknown>): Record<string, string> {
  return callerHeaders(ctx, { localTraceparent: activeTraceparent() });
}

function familyOf(method: string): MethodFamily {
  return method.slice(0, method.indexOf('.')) as MethodFamily;
}

function isWireError(value: unknown): value is WireError {
  return (
    typeof value === 'object' &&
    value !== null &&
    'code' in value &&
    typeof value.code === 'number' &&
    'message' in value &&
    typeof value.message === 'string'
  );
}

/** Calls `method` on `service` with the caller's headers; returns its result or throws its error. */
async function forward(options: {
  service: Exclude<ServiceName, 'api'>;
  url: string;
  method: string;
  params: unknown;
  ctx: RpcContext<unknown>;
  fetch: typeof fetch;
}): Promise<unknown> {
  const { service, ctx } = options;
  const unavailable = (reason: string, cause?: unknown): RpcError =>
    new RpcError('service_unavailable', {
      message: `The ${service} service is unavailable`,
      data: { service, reason },
      cause,
    });
  let response: Response;
  try {
    response = await options.fetch(options.url, {
      method: 'POST',
      headers: forwardedHeaders(ctx),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: options.method, params: options.params }),
      signal: ctx.signal,
    });
  } catch (error) {
    if (ctx.signal.aborted) throw new RpcError('cancelled', { cause: error });
    throw unavailable('unreachable', error);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    if (ctx.signal.aborted) throw new RpcError('cancelled', { cause: error });
    throw unavailable(`HTTP ${response.status} without a JSON-RPC answer`, error);
  }
  if (typeof body === 'object' && body !== null) {
    if ('error' in body && isWireError(body.error)) throw RpcError.fromWire(body.error);
    if ('result' in body) return body.result;
  }
  throw unavailable(`HTTP ${response.status} without a JSON-RPC answer`);
}

/**
 * Handlers for every method of the contract that another service owns (and that is not internal to the
 * services), each forwarding to that service's `/rpc` (a streaming method called on a WebSocket over one).
 */
export function forwardingHandlers(options: ForwarderOptions): RpcHandlers {
  const doFetch = options.fetch ?? globalThis.fetch;
  const handlers: Record<string, (params: unknown, ctx: RpcContext<unknown>) => Promise<unknown>> = {};
  for (const [method, def] of Object.entries(contract)) {
    const service = FAMILY_SERVICE[familyOf(method)];
    if (service === 'api' || def.internal === true) continue;
    const url = new URL('/rpc', options.services[service]).toString();
    const wsUrl = webSocketUrl(options.services[service]);
    const streams = def.stream !== undefined;
    handlers[method] = (params, ctx) =>
      streams && ctx.transport === 'ws'
        ? forwardOverWebSocket({ service, url: wsUrl, method, params, ctx })
        : forward({ service, url, method, params, ctx, fetch: doFetch });
  }
  return handlers;
}

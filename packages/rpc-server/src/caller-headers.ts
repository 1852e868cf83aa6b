// Calling another service on behalf of the caller: the caller's own credential travels (never a service
// identity), with its trace context continued under a new span id, the correlation id and the client address.
// Shared by the gateway's forwarding and by services reporting to auth (llmserver's audit records).
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { headersWithSubprotocolCredentials } from './ws-credentials.js';

// version-traceid-parentid-flags; version ff is invalid and an all-zero trace id means "none".
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace id of a W3C `traceparent` header, or null when it is absent or malformed. */
export function traceIdOf(traceparent: string | string[] | undefined): string | null {
  if (typeof traceparent !== 'string') return null;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match?.[2] || match[1] === 'ff' || /^0+$/.test(match[2])) return null;
  return match[2];
}

/** What {@link callerHeaders} reads from a request context. */
export interface CallerContext {
  request: Pick<FastifyRequest, 'headers' | 'ip'>;
  correlationId: string;
}

/** Options of {@link callerHeaders}. */
export interface CallerHeadersOptions {
  /**
   * The calling service's own span as a `traceparent` (from its tracer), used when the caller sent none, so the
   * hop joins the service's trace instead of starting a new one.
   */
  localTraceparent?: string | undefined;
}

/**
 * Headers for a JSON-RPC call to another service as the caller: content type, the caller's `Authorization` or
 * `X-Cyber-Token` (a WebSocket's subprotocol credential turned back into the header), `traceparent` continuing the
 * caller's trace with a new span id (else the service's own span, else a new trace), `tracestate`,
 * `x-correlation-id` and `x-forwarded-for`.
 */
export function callerHeaders(
  ctx: CallerContext,
  options: CallerHeadersOptions = {},
): Record<string, string> {
  const incoming = headersWithSubprotocolCredentials(ctx.request.headers);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-correlation-id': ctx.correlationId,
    'x-forwarded-for': ctx.request.ip,
  };
  if (typeof incoming.authorization === 'string') headers.authorization = incoming.authorization;
  const apiKey = incoming['x-cyber-token'];
  if (typeof apiKey === 'string') headers['x-cyber-token'] = apiKey;
  const traceparent = incoming.traceparent;
  const traceId = traceIdOf(traceparent);
  const spanId = randomBytes(8).toString('hex');
  if (traceId !== null && typeof traceparent === 'string') {
    headers.traceparent = `00-${traceId}-${spanId}-${traceparent.trim().slice(-2)}`;
    if (typeof incoming.tracestate === 'string') headers.tracestate = incoming.tracestate;
  } else if (options.localTraceparent !== undefined && traceIdOf(options.localTraceparent) !== null) {
    headers.traceparent = options.localTraceparent;
  } else {
    headers.traceparent = `00-${randomBytes(16).toString('hex')}-${spanId}-01`;
  }
  return headers;
}

// Facts about a request that audit rows and rate limits need: the W3C trace id and the client address.
import type { FastifyRequest } from 'fastify';

// version-traceid-parentid-flags; version ff is invalid and an all-zero trace id means "none".
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace id of a W3C `traceparent` header, or null when it is absent or malformed. */
export function traceIdOf(traceparent: string | string[] | undefined): string | null {
  if (typeof traceparent !== 'string') return null;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match?.[2] || match[1] === 'ff' || /^0+$/.test(match[2])) return null;
  return match[2];
}

/** Trace id and client address of a request. */
export interface RequestMeta {
  traceId: string | null;
  /** Client address as Fastify resolved it (honouring the configured trusted proxies). */
  ip: string | null;
}

/** Reads {@link RequestMeta} from a Fastify request. */
export function requestMetaOf(request: FastifyRequest): RequestMeta {
  return { traceId: traceIdOf(request.headers.traceparent), ip: request.ip || null };
}

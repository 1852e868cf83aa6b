// Facts about a request that audit rows and rate limits need: the W3C trace id and the client address.
import { traceIdOf } from '@cyber/rpc-server';
import type { FastifyRequest } from 'fastify';

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

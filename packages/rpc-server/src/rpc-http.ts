// POST /rpc: JSON-RPC 2.0 over HTTP. Every JSON-RPC answer, errors included, is HTTP 200; a request or batch of
// notifications only is HTTP 204 with no body; a body over the limit is HTTP 413 with `payload_too_large`
// (-32009), because the body is never read, so no id could be echoed and 413 tells proxies and clients the truth.
import { RpcError, toWireError } from '@cyber/contract';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import {
  outcomeOf,
  SessionAbort,
  UNKNOWN_METHOD,
  type Dispatch,
  type IdentityOutcome,
} from './dispatcher.js';
import type { Authenticate, InternalErrorInfo, RpcCallEnd, RpcIdentity } from './server-types.js';

/** Options of {@link registerHttpRoute}. */
export interface HttpRouteOptions<TIdentity extends RpcIdentity> {
  path: string;
  bodyLimit: number;
  dispatch: Dispatch<TIdentity>;
  authenticate: Authenticate<TIdentity>;
  reportInternal: (error: unknown, info: InternalErrorInfo) => void;
  /** Told about bodies refused before the dispatcher saw them (too large, malformed). */
  onCallEnd?: (call: RpcCallEnd) => void;
}

/** Incoming correlation ids are kept (the gateway forwards its own) when they are short and log-safe. */
const CORRELATION_ID = /^[\w.:-]{1,128}$/;

/** The correlation id of a request: the caller's `x-correlation-id` when safe, else a fresh UUID. */
export function correlationIdOf(request: FastifyRequest): string {
  const incoming = request.headers['x-correlation-id'];
  return typeof incoming === 'string' && CORRELATION_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Registers the HTTP route in `scope`, which must be an encapsulated context: it replaces the content-type
 * parsers so malformed JSON reaches the dispatcher as text (-32700) instead of Fastify's HTTP 400.
 */
export function registerHttpRoute<TIdentity extends RpcIdentity>(
  scope: FastifyInstance,
  options: HttpRouteOptions<TIdentity>,
): void {
  const correlationIds = new WeakMap<FastifyRequest, string>();
  const correlationOf = (request: FastifyRequest): string => {
    let id = correlationIds.get(request);
    if (id === undefined) {
      id = correlationIdOf(request);
      correlationIds.set(request, id);
    }
    return id;
  };

  scope.removeAllContentTypeParsers();
  // Any content type: JSON-RPC clients vary (text/plain, none); the dispatcher decides what is valid JSON.
  scope.addContentTypeParser(
    '*',
    { parseAs: 'string', bodyLimit: options.bodyLimit },
    (_request, body, done) => {
      done(null, body);
    },
  );

  scope.addHook('onRequest', async (request, reply) => {
    reply.header('x-correlation-id', correlationOf(request));
  });

  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const correlationId = correlationOf(request);
    const info: InternalErrorInfo = { correlationId, method: undefined, requestId: null, transport: 'http' };
    let status: number;
    let rpcError: unknown;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      status = 413;
      rpcError = new RpcError('payload_too_large', { data: { limit: options.bodyLimit } });
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      rpcError = new RpcError('invalid_request', { data: { reason: 'malformed HTTP request' } });
    } else {
      status = 500;
      rpcError = error;
    }
    options.onCallEnd?.({
      method: UNKNOWN_METHOD,
      outcome: outcomeOf(rpcError),
      durationSeconds: reply.elapsedTime / 1000,
      transport: 'http',
    });
    const wire = toWireError(rpcError, {
      correlationId,
      onInternal: (cause) => options.reportInternal(cause, info),
    });
    return reply
      .code(status)
      .type('application/json')
      .send(JSON.stringify({ jsonrpc: '2.0', id: null, error: wire }));
  });

  scope.post(options.path, { bodyLimit: options.bodyLimit }, async (request, reply: FastifyReply) => {
    const aborted = new SessionAbort();
    // The client went away before the answer: stop the work (an LLM stream stops generating and is billed
    // for what it made).
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) aborted.abort();
    });
    let identity: Promise<IdentityOutcome<TIdentity>> | undefined;
    const body = typeof request.body === 'string' ? request.body : '';
    const response = await options.dispatch(body, {
      transport: 'http',
      request,
      correlationId: correlationOf(request),
      signal: aborted,
      identity: () => (identity ??= resolveIdentity(options.authenticate, request)),
    });
    if (response === undefined) return reply.code(204).send();
    return reply.code(200).type('application/json').send(JSON.stringify(response));
  });
}

/** Runs `authenticate` once and keeps its error instead of throwing, so public methods still work. */
export async function resolveIdentity<TIdentity extends RpcIdentity>(
  authenticate: Authenticate<TIdentity>,
  request: FastifyRequest,
  headers = request.headers,
): Promise<IdentityOutcome<TIdentity>> {
  try {
    return { identity: await authenticate(headers, { ip: request.ip }) };
  } catch (error) {
    return {
      error:
        error instanceof Error ? error : new Error('authenticate threw a non-Error value', { cause: error }),
    };
  }
}

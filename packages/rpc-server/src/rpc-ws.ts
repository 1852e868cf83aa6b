// GET /rpc upgraded to a WebSocket: the same contract and dispatcher as HTTP. Each frame is handled on its own
// (a slow request never blocks the next frame, so `rpc.cancel` always gets through); stream notifications are
// sent before the final response because the socket keeps send order.
import { RpcError, toWireError } from '@cyber/contract';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import { InFlightTracker, UNKNOWN_METHOD, type Dispatch, type IdentityOutcome } from './dispatcher.js';
import { resolveIdentity } from './rpc-http.js';
import type { Authenticate, InternalErrorInfo, RpcCallEnd, RpcIdentity } from './server-types.js';
import { headersWithSubprotocolCredentials } from './ws-credentials.js';

/** Options of {@link handleWebSocket}. */
export interface WsConnectionOptions<TIdentity extends RpcIdentity> {
  dispatch: Dispatch<TIdentity>;
  authenticate: Authenticate<TIdentity>;
  maxFrameBytes: number;
  maxInFlight: number;
  reportInternal: (error: unknown, info: InternalErrorInfo) => void;
  /** Told about frames refused before the dispatcher saw them (too large). */
  onCallEnd?: (call: RpcCallEnd) => void;
}

/** Above this many buffered bytes, `ctx.notify` waits for the socket to drain before resolving. */
const NOTIFY_HIGH_WATER_BYTES = 1024 * 1024;

/**
 * Serves one WebSocket connection. Listeners are attached synchronously (an async handler could miss the
 * first frames); authentication starts at once and each request awaits it only if its method needs it.
 */
export function handleWebSocket<TIdentity extends RpcIdentity>(
  socket: WebSocket,
  request: FastifyRequest,
  options: WsConnectionOptions<TIdentity>,
): void {
  const closed = new AbortController();
  const inFlight = new InFlightTracker(options.maxInFlight);
  const identity: Promise<IdentityOutcome<TIdentity>> = resolveIdentity(
    options.authenticate,
    request,
    headersWithSubprotocolCredentials(request.headers),
  );

  const send = (message: object): Promise<void> => {
    if (socket.readyState !== socket.OPEN) return Promise.resolve();
    if (socket.bufferedAmount < NOTIFY_HIGH_WATER_BYTES) {
      socket.send(JSON.stringify(message));
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // Resolve even on a send error: the close handler aborts the request, which is the real signal.
      socket.send(JSON.stringify(message), () => resolve());
    });
  };

  const onFrame = async (data: RawData): Promise<void> => {
    const correlationId = randomUUID();
    const size = frameBytes(data);
    if (size > options.maxFrameBytes) {
      options.onCallEnd?.({
        method: UNKNOWN_METHOD,
        outcome: 'payload_too_large',
        durationSeconds: 0,
        transport: 'ws',
      });
      const info: InternalErrorInfo = { correlationId, method: undefined, requestId: null, transport: 'ws' };
      const error = toWireError(
        new RpcError('payload_too_large', { data: { limit: options.maxFrameBytes } }),
        {
          correlationId,
          onInternal: (cause) => options.reportInternal(cause, info),
        },
      );
      await send({ jsonrpc: '2.0', id: null, error });
      return;
    }
    const response = await options.dispatch(frameText(data), {
      transport: 'ws',
      request,
      correlationId,
      signal: closed.signal,
      identity: () => identity,
      inFlight,
      sendNotification: send,
    });
    if (response !== undefined) await send(response);
  };

  socket.on('message', (data) => {
    onFrame(data).catch((error: unknown) => {
      // The dispatcher answers every failure itself; reaching here is a bug, never a reason to crash.
      options.reportInternal(error, {
        correlationId: 'ws-frame',
        method: undefined,
        requestId: null,
        transport: 'ws',
      });
    });
  });
  socket.on('close', () => closed.abort(new RpcError('cancelled')));
  // An unclean disconnect emits 'error' then 'close'; the close handler does the cleanup.
  socket.on('error', noop);
}

function noop(): void {}

function frameBytes(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((total, chunk) => total + chunk.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

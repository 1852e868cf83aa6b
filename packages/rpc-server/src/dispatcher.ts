// The transport-independent JSON-RPC 2.0 dispatcher: HTTP and WebSocket both feed it raw text and send back
// whatever it returns.
//
// Why not json-rpc-2.0's JSONRPCServer: we would override nearly every step it owns. It answers a one-element
// batch with a bare object, turns a thrown Error into code 0 with its message (a leak), logs every error, and
// cannot express what this product needs per request: the access check before param parsing, zod params with
// issues in `data`, an AbortSignal wired to `rpc.cancel` and socket close, stream notifications tied to the
// request id, and per-connection in-flight limits. Owning the ~250 lines below keeps each rule explicit and
// tested; the wire format is the same, so the gateway may still use json-rpc-2.0's client where it suits.
import {
  CANCEL_NOTIFICATION,
  RpcError,
  roleSatisfies,
  toWireError,
  type AnyContract,
  type MethodDef,
} from '@cyber/contract';
import type { FastifyRequest } from 'fastify';
import * as z from 'zod';
import { isPlainObject, readEnvelope, type RpcRequestEnvelope } from './json-rpc-envelope.js';
import type {
  InternalErrorInfo,
  RpcCallEnd,
  RpcCallOutcome,
  RpcContext,
  RpcHandlers,
  RpcId,
  RpcIdentity,
  RpcTransport,
} from './server-types.js';

/** A JSON-RPC response object. */
export type RpcResponse =
  | { jsonrpc: '2.0'; id: RpcId; result: unknown }
  | { jsonrpc: '2.0'; id: RpcId; error: { code: number; message: string; data?: unknown } };

/** What authentication produced: an identity, nobody, or an error to answer non-public methods with. */
export interface IdentityOutcome<TIdentity extends RpcIdentity> {
  identity?: TIdentity;
  error?: Error;
}

/**
 * Requests in flight on one WebSocket connection: enforces the cap, finds a request by id for `rpc.cancel`,
 * and rejects a second request reusing an id that is still in flight (cancel would be ambiguous).
 */
export class InFlightTracker {
  private count = 0;
  private readonly byId = new Map<string, RequestAbort>();

  constructor(readonly limit: number) {}

  /** Takes a slot; false when the connection is at its cap. */
  tryAdmit(): boolean {
    if (this.count >= this.limit) return false;
    this.count += 1;
    return true;
  }

  /** Frees a slot taken by {@link tryAdmit}. */
  release(): void {
    this.count -= 1;
  }

  /** Registers a request id; false when one with the same id is still in flight. */
  register(id: RpcId, controller: RequestAbort): boolean {
    const key = idKey(id);
    if (this.byId.has(key)) return false;
    this.byId.set(key, controller);
    return true;
  }

  /** Forgets a finished request. */
  unregister(id: RpcId, controller: RequestAbort): void {
    const key = idKey(id);
    if (this.byId.get(key) === controller) this.byId.delete(key);
  }

  /** Aborts the request with that id, if any is in flight. */
  cancel(id: unknown): void {
    if (id === null || typeof id === 'string' || typeof id === 'number') {
      this.byId.get(idKey(id))?.abort(new RpcError('cancelled'));
    }
  }
}

function idKey(id: RpcId): string {
  // Keep 1 and "1" apart: they are different JSON-RPC ids.
  return `${typeof id}:${String(id)}`;
}

/**
 * The abort of a whole session as the dispatcher uses it: an AbortSignal (WebSocket) or anything with the same
 * three members (the HTTP route's {@link SessionAbort}, which costs no AbortController per request).
 */
export interface SessionSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A {@link SessionSignal} for one HTTP request: a plain listener list, aborted when the client goes away. Most
 * requests finish without it ever firing, so it holds no AbortController and no EventTarget.
 */
export class SessionAbort implements SessionSignal {
  aborted = false;
  private listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    const index = listeners.indexOf(listener);
    if (index !== -1) listeners.splice(index, 1);
  }

  /** Fires every listener once; later calls do nothing. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }
}

/**
 * The abort of one request: `rpc.cancel`, or the end of its session. The handler's AbortSignal is created only
 * when the handler reads `ctx.signal` (already aborted when the request was); {@link race} rejects the request
 * with the abort reason without one.
 */
export class RequestAbort {
  private controller: AbortController | undefined;
  private reason: Error | undefined;
  private onAbort: ((reason: Error) => void) | undefined;

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Aborts the handler's signal (when it has one) and the pending {@link race}; later calls do nothing. */
  abort(reason: Error): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.onAbort?.(reason);
  }

  /** Settles with the promise, or rejects with the abort reason as soon as the request aborts. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.reason !== undefined) return Promise.reject(this.reason);
    // A second settle (the abort after the result, or the result after the abort) is a no-op.
    return new Promise<T>((resolve, reject) => {
      this.onAbort = reject;
      promise.then(resolve, reject);
    });
  }
}

/** Everything the dispatcher needs to know about where one message came from. */
export interface DispatchSession<TIdentity extends RpcIdentity> {
  transport: RpcTransport;
  request: FastifyRequest;
  correlationId: string;
  /** Memoized: authentication runs at most once per HTTP request / WebSocket connection. */
  identity: () => Promise<IdentityOutcome<TIdentity>>;
  /** Aborted when the HTTP client or the WebSocket goes away; aborts every request of the session. */
  signal: SessionSignal;
  /** WebSocket only: in-flight cap, cancel by id. */
  inFlight?: InFlightTracker;
  /** WebSocket only: sends a server notification, resolving when the socket buffer has room. */
  sendNotification?: (message: object) => Promise<void>;
}

/** Options of {@link createDispatcher}. */
export interface DispatcherOptions<C extends AnyContract, TIdentity extends RpcIdentity> {
  contract: C;
  handlers: RpcHandlers<C, TIdentity>;
  maxBatch: number;
  validateResults: boolean;
  /** Logs an internal error once (the real error never reaches the client). */
  reportInternal: (error: unknown, info: InternalErrorInfo) => void;
  /** Told once per call when it ends (see {@link RpcServerOptions.onCallEnd}); must not throw. */
  onCallEnd?: (call: RpcCallEnd) => void;
}

/** Handles one text message (single, batch, notification); resolves to the response, or undefined for none. */
export type Dispatch<TIdentity extends RpcIdentity> = (
  text: string,
  session: DispatchSession<TIdentity>,
) => Promise<RpcResponse | RpcResponse[] | undefined>;

type LooseHandler<TIdentity extends RpcIdentity> = (
  params: unknown,
  ctx: RpcContext<unknown, TIdentity>,
) => Promise<unknown>;

/** Builds the dispatcher shared by the HTTP and WebSocket transports. */
export function createDispatcher<C extends AnyContract, TIdentity extends RpcIdentity>(
  options: DispatcherOptions<C, TIdentity>,
): Dispatch<TIdentity> {
  const { contract, handlers, maxBatch } = options;
  const onCallEnd = options.onCallEnd ?? noop;

  /** Tells the hook how a call ended; a method the contract lacks is `unknown`, so callers cannot add labels. */
  function callEnded(
    method: string | undefined,
    outcome: RpcCallOutcome,
    started: number,
    session: DispatchSession<TIdentity>,
  ): void {
    onCallEnd({
      method: method !== undefined && Object.hasOwn(contract, method) ? method : UNKNOWN_METHOD,
      outcome,
      durationSeconds: (performance.now() - started) / 1000,
      transport: session.transport,
    });
  }

  function errorResponse(id: RpcId, error: unknown, info: InternalErrorInfo): RpcResponse {
    const wire = toWireError(error, {
      correlationId: info.correlationId,
      onInternal: (cause) => options.reportInternal(cause, info),
    });
    return { jsonrpc: '2.0', id, error: wire };
  }

  function lookup(method: string): { def: MethodDef; handler: LooseHandler<TIdentity> } | undefined {
    // hasOwn, not `in`: `toString` or `__proto__` must not resolve to Object.prototype members.
    if (!Object.hasOwn(contract, method) || !Object.hasOwn(handlers, method)) return undefined;
    const def = contract[method];
    const handler = (handlers as Record<string, LooseHandler<TIdentity> | undefined>)[method];
    if (def === undefined || typeof handler !== 'function') return undefined;
    return { def, handler };
  }

  async function authorize(
    def: MethodDef,
    session: DispatchSession<TIdentity>,
  ): Promise<TIdentity | undefined> {
    const outcome = await session.identity();
    if (def.access === 'public') {
      // Public methods (login, refresh, health) must work even with stale credentials attached.
      return outcome.error === undefined ? outcome.identity : undefined;
    }
    if (outcome.error !== undefined) throw outcome.error;
    if (outcome.identity === undefined) throw new RpcError('unauthenticated');
    if (!roleSatisfies(outcome.identity.role, def.access)) throw new RpcError('forbidden');
    return outcome.identity;
  }

  async function execute(
    envelope: RpcRequestEnvelope,
    session: DispatchSession<TIdentity>,
  ): Promise<unknown> {
    const found = lookup(envelope.method);
    if (found === undefined) throw new RpcError('method_not_found');
    const { def, handler } = found;
    const tracker = session.inFlight;
    if (tracker !== undefined && !tracker.tryAdmit()) {
      throw new RpcError('rate_limited', {
        message: 'Too many requests in flight on this connection',
        data: { limit: tracker.limit },
      });
    }
    const controller = new RequestAbort();
    let running: Promise<unknown> | undefined;
    let finished = false;
    let registered = false;
    const onSessionAbort = (): void => controller.abort(new RpcError('cancelled'));
    try {
      if (tracker !== undefined && envelope.id !== undefined) {
        registered = tracker.register(envelope.id, controller);
        if (!registered) {
          throw new RpcError('invalid_request', {
            data: { reason: 'a request with this id is still in flight' },
          });
        }
      }
      const identity = await authorize(def, session);
      const parsed =
        parseSync(def.params, envelope.params) ?? (await def.params.safeParseAsync(envelope.params));
      if (!parsed.success) {
        throw new RpcError('invalid_params', {
          data: {
            issues: parsed.error.issues.map((issue) => ({
              path: issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key)),
              message: issue.message,
              code: issue.code,
            })),
          },
        });
      }
      if (session.signal.aborted) onSessionAbort();
      else session.signal.addEventListener('abort', onSessionAbort, { once: true });

      const ctx: RpcContext<unknown, TIdentity> = {
        identity,
        get signal() {
          return controller.signal;
        },
        correlationId: session.correlationId,
        requestId: envelope.id,
        transport: session.transport,
        request: session.request,
        notify: async (notification) => {
          const stream = def.stream;
          if (stream === undefined) throw new Error(`${envelope.method} is not a streaming method`);
          const checked = await stream.params.safeParseAsync(notification);
          if (!checked.success || !isPlainObject(checked.data)) {
            throw new Error(`invalid ${stream.method} notification from ${envelope.method}`, {
              cause: checked.error,
            });
          }
          const send = session.sendNotification;
          if (finished || controller.aborted || envelope.id === undefined || send === undefined) return;
          // requestId first for readability, and last so a notification field of that name cannot override it.
          const params = Object.assign({ requestId: envelope.id }, checked.data, { requestId: envelope.id });
          await send({ jsonrpc: '2.0', method: stream.method, params });
        },
      };
      // Promise.resolve().then turns a synchronous throw into a rejection.
      running = Promise.resolve().then(() => handler(parsed.data, ctx));
      const result = await controller.race(running);
      if (!options.validateResults) return result;
      const checked = parseSync(def.result, result) ?? (await def.result.safeParseAsync(result));
      if (!checked.success) {
        throw new Error(`result of ${envelope.method} does not match the contract`, { cause: checked.error });
      }
      return checked.data;
    } finally {
      finished = true;
      session.signal.removeEventListener('abort', onSessionAbort);
      if (registered && envelope.id !== undefined) tracker?.unregister(envelope.id, controller);
      if (tracker !== undefined) {
        // A cancelled handler still holds its slot until it actually stops: the cap bounds real work.
        if (running === undefined) tracker.release();
        else void running.then(noop, noop).finally(() => tracker.release());
      }
    }
  }

  async function handleOne(
    value: unknown,
    session: DispatchSession<TIdentity>,
  ): Promise<RpcResponse | undefined> {
    const started = performance.now();
    const envelope = readEnvelope(value);
    const info: InternalErrorInfo = {
      correlationId: session.correlationId,
      method: envelope.kind === 'request' ? envelope.method : undefined,
      requestId: envelope.id,
      transport: session.transport,
    };
    if (envelope.kind === 'invalid') {
      callEnded(undefined, 'invalid_request', started, session);
      return errorResponse(
        envelope.id,
        new RpcError('invalid_request', { data: { reason: envelope.reason } }),
        info,
      );
    }
    if (envelope.method === CANCEL_NOTIFICATION) {
      if (envelope.id !== undefined) {
        callEnded(undefined, 'invalid_request', started, session);
        return errorResponse(
          envelope.id,
          new RpcError('invalid_request', {
            data: { reason: `${CANCEL_NOTIFICATION} must be a notification` },
          }),
          info,
        );
      }
      if (isPlainObject(envelope.params)) session.inFlight?.cancel(envelope.params.id);
      return undefined;
    }
    try {
      const result = await execute(envelope, session);
      callEnded(envelope.method, 'ok', started, session);
      return envelope.id === undefined ? undefined : { jsonrpc: '2.0', id: envelope.id, result };
    } catch (error) {
      callEnded(envelope.method, outcomeOf(error), started, session);
      // Notifications never get a response, but an internal error is still logged once.
      const response = errorResponse(envelope.id ?? null, error, info);
      return envelope.id === undefined ? undefined : response;
    }
  }

  return async (text, session) => {
    const started = performance.now();
    const info: InternalErrorInfo = {
      correlationId: session.correlationId,
      method: undefined,
      requestId: null,
      transport: session.transport,
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      callEnded(undefined, 'parse_error', started, session);
      return errorResponse(null, new RpcError('parse_error'), info);
    }
    if (!Array.isArray(parsed)) return handleOne(parsed, session);
    if (parsed.length === 0) {
      callEnded(undefined, 'invalid_request', started, session);
      return errorResponse(null, new RpcError('invalid_request', { data: { reason: 'empty batch' } }), info);
    }
    if (parsed.length > maxBatch) {
      // One refusal for the whole batch: no member was read, so it counts as one call.
      callEnded(undefined, 'invalid_request', started, session);
      return errorResponse(
        null,
        new RpcError('invalid_request', { data: { reason: 'batch too long', limit: maxBatch } }),
        info,
      );
    }
    const responses = await Promise.all(parsed.map((element) => handleOne(element, session)));
    const present = responses.filter((response) => response !== undefined);
    // The spec: a batch answers with an array, even of one; nothing at all when it held only notifications.
    return present.length > 0 ? present : undefined;
  };
}

function noop(): void {}

/** The `method` of calls to a name the contract does not have, or of messages with no readable method. */
export const UNKNOWN_METHOD = 'unknown';

/** The outcome a caller saw for a thrown value: its RpcError key, or `internal_error` for anything else. */
export function outcomeOf(error: unknown): RpcCallOutcome {
  return error instanceof RpcError ? error.key : 'internal_error';
}

/**
 * zod's synchronous safeParse, or undefined when the schema has async parts (zod then throws $ZodAsyncError and
 * the caller uses safeParseAsync). Same answer as safeParseAsync, without its promises on every request; the
 * contract's schemas are pure, so a schema parsed twice this way has no side effect to repeat.
 */
function parseSync<T extends z.ZodType>(
  schema: T,
  value: unknown,
): z.ZodSafeParseResult<z.output<T>> | undefined {
  try {
    return schema.safeParse(value);
  } catch (error) {
    if (error instanceof z.core.$ZodAsyncError) return undefined;
    throw error;
  }
}

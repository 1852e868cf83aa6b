import { RpcError, type Contract } from '@cyber/contract';
import type { AnyContract, MethodOf, ParamsArgs, ParamsInputOf, ResultOf } from './contract-types.js';
import { credentialHeaders, resolveCredentials, type CredentialsSource } from './credentials.js';
import { isWireResponse, unwrap, type Settled, type WireResponse } from './wire.js';

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions<C extends AnyContract = Contract> {
  /** The JSON-RPC endpoint, e.g. `http://localhost:7401/rpc` (or `/rpc` in the browser). */
  url: string;
  /** Extra headers on every request (e.g. `x-correlation-id` when forwarding). */
  headers?: Record<string, string>;
  /** Credentials, or a function asked before each request. */
  credentials?: CredentialsSource;
  /** fetch implementation; defaults to the global one (browsers, Node 20). */
  fetch?: typeof fetch;
  /** The contract, only to infer types; never read at run time. */
  contract?: C;
}

/** Per-call options. */
export interface HttpCallOptions {
  /** Aborts the HTTP request; the server then aborts the handler's signal. */
  signal?: AbortSignal;
}

/** One entry of {@link HttpClient.batch}. */
export type BatchEntry<C extends AnyContract> = {
  [M in MethodOf<C>]: { method: M; params?: ParamsInputOf<C, M> };
}[MethodOf<C>];

/** The settled results of a batch, position by position. */
export type BatchResults<C extends AnyContract, T extends readonly BatchEntry<C>[]> = {
  -readonly [K in keyof T]: T[K] extends { method: infer M extends MethodOf<C> }
    ? Settled<ResultOf<C, M>>
    : never;
};

/** A typed JSON-RPC client over HTTP POST. */
export interface HttpClient<C extends AnyContract = Contract> {
  /** Calls a method; resolves to its result or throws the server's error as an RpcError. */
  call<M extends MethodOf<C>>(method: M, ...args: ParamsArgs<C, M, HttpCallOptions>): Promise<ResultOf<C, M>>;
  /** Sends a notification (no response; the server answers HTTP 204). */
  notify<M extends MethodOf<C>>(method: M, ...args: ParamsArgs<C, M, HttpCallOptions>): Promise<void>;
  /** Sends several calls in one request; each settles on its own, in the order given. */
  batch<const T extends readonly BatchEntry<C>[]>(
    entries: T,
    options?: HttpCallOptions,
  ): Promise<BatchResults<C, T>>;
}

/** Creates a typed HTTP client. Errors from the server or the network are thrown as RpcError. */
export function createHttpClient<C extends AnyContract = Contract>(
  options: HttpClientOptions<C>,
): HttpClient<C> {
  let nextId = 1;

  async function post(body: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    const doFetch = options.fetch ?? globalThis.fetch;
    const headers = {
      'content-type': 'application/json',
      ...options.headers,
      ...credentialHeaders(await resolveCredentials(options.credentials)),
    };
    let response: Response;
    try {
      response = await doFetch(options.url, { method: 'POST', headers, body: JSON.stringify(body), signal });
    } catch (error) {
      if (signal?.aborted === true) throw new RpcError('cancelled', { cause: error });
      throw new RpcError('service_unavailable', { message: 'RPC endpoint unreachable', cause: error });
    }
    if (response.status === 204) return undefined;
    const text = await response.text();
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      // A proxy error page or similar: not a JSON-RPC answer.
      throw new RpcError('service_unavailable', {
        message: `RPC endpoint answered HTTP ${response.status} without JSON`,
        data: { status: response.status },
        cause: error,
      });
    }
  }

  function expectResponse(payload: unknown): WireResponse {
    if (isWireResponse(payload)) return payload;
    throw new RpcError('internal_error', { message: 'Malformed JSON-RPC response' });
  }

  return {
    async call(method, ...[params, callOptions]) {
      const id = nextId++;
      const payload = await post({ jsonrpc: '2.0', id, method, params }, callOptions?.signal);
      return unwrap(expectResponse(payload)) as ResultOf<C, typeof method>;
    },

    async notify(method, ...[params, callOptions]) {
      const payload = await post({ jsonrpc: '2.0', method, params }, callOptions?.signal);
      // A notification gets no answer unless the whole request was rejected (parse error, too large).
      if (payload !== undefined) unwrap(expectResponse(payload));
    },

    async batch(entries, callOptions) {
      if (entries.length === 0) return [] as BatchResults<C, typeof entries>;
      const first = nextId;
      nextId += entries.length;
      const requests = entries.map((entry, index) => ({
        jsonrpc: '2.0',
        id: first + index,
        method: entry.method,
        params: entry.params,
      }));
      const payload = await post(requests, callOptions?.signal);
      // The whole batch was refused (too long, too large): one error object, not an array.
      if (!Array.isArray(payload)) {
        unwrap(expectResponse(payload));
        throw new RpcError('internal_error', { message: 'Malformed JSON-RPC batch response' });
      }
      const byId = new Map<unknown, WireResponse>();
      for (const item of payload as unknown[]) {
        const response = expectResponse(item);
        byId.set(response.id, response);
      }
      return requests.map((request): Settled<unknown> => {
        const response = byId.get(request.id);
        if (response === undefined) {
          return {
            ok: false,
            error: new RpcError('internal_error', { message: 'No response for batch entry' }),
          };
        }
        try {
          return { ok: true, result: unwrap(response) };
        } catch (error) {
          return { ok: false, error: error as RpcError };
        }
      }) as BatchResults<C, typeof entries>;
    },
  };
}

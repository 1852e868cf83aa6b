// One JSON-RPC call on an in-process auth app, as the llm and gateway harnesses make them to set up users.
import type { FastifyInstance } from 'fastify';

/** What {@link callAuthRpc} sends. */
export interface AuthRpcCall {
  method: string;
  params: unknown;
  /** An access token sent as `Authorization: Bearer`; none calls anonymously. */
  token?: string | undefined;
}

/** POSTs the call to `authApp`'s /rpc through `inject`; returns the result, or throws with the error in its text. */
export async function callAuthRpc<T>(
  authApp: FastifyInstance,
  { method, params, token }: AuthRpcCall,
): Promise<T> {
  const response = await authApp.inject({
    method: 'POST',
    url: '/rpc',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = response.json<{ result?: unknown; error?: unknown }>();
  if (body.error !== undefined) throw new Error(`auth ${method} failed: ${JSON.stringify(body.error)}`);
  return body.result as T;
}

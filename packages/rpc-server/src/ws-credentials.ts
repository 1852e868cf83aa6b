// Browsers cannot set headers on a WebSocket, so credentials travel as subprotocols (the approach Kubernetes
// uses for bearer tokens): the client offers `cyber-rpc.v1` first and one credential protocol
// `cyber-rpc.bearer.<base64url token>` or `cyber-rpc.api-key.<base64url key>`. The server selects
// `cyber-rpc.v1`, so the credential is never echoed back, and turns the credential into the header the
// `authenticate` hook already understands. Authentication then runs once, for the connection.
// Non-browser clients (ws in Node) may send the ordinary headers instead; both paths reach the same hook.
import type { IncomingHttpHeaders } from 'node:http';

/** The subprotocol the server selects; clients must offer it (first, so a default ws server also picks it). */
export const RPC_SUBPROTOCOL = 'cyber-rpc.v1';
/** Prefix of the subprotocol carrying a bearer token (JWT), base64url-encoded. */
export const BEARER_SUBPROTOCOL_PREFIX = 'cyber-rpc.bearer.';
/** Prefix of the subprotocol carrying an API key (`X-Cyber-Token`), base64url-encoded. */
export const API_KEY_SUBPROTOCOL_PREFIX = 'cyber-rpc.api-key.';

/** Picks the protocol the server answers with: ours when offered, else none (browsers then refuse). */
export function selectSubprotocol(offered: Set<string>): string | false {
  return offered.has(RPC_SUBPROTOCOL) ? RPC_SUBPROTOCOL : false;
}

/**
 * Headers for `authenticate` on a WebSocket upgrade: the request headers, with credentials carried as
 * subprotocols turned into `authorization: Bearer …` or `x-cyber-token: …` (they win over headers, being explicit).
 */
export function headersWithSubprotocolCredentials(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const offered = (headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((protocol) => protocol.trim())
    .filter((protocol) => protocol.length > 0);
  const result: IncomingHttpHeaders = { ...headers };
  // The raw protocol list holds the encoded credential; authenticate needs only the decoded header.
  delete result['sec-websocket-protocol'];
  for (const protocol of offered) {
    if (protocol.startsWith(BEARER_SUBPROTOCOL_PREFIX)) {
      result.authorization = `Bearer ${decode(protocol.slice(BEARER_SUBPROTOCOL_PREFIX.length))}`;
    } else if (protocol.startsWith(API_KEY_SUBPROTOCOL_PREFIX)) {
      result['x-cyber-token'] = decode(protocol.slice(API_KEY_SUBPROTOCOL_PREFIX.length));
    }
  }
  return result;
}

function decode(value: string): string {
  return Buffer.from(value, 'base64url').toString('utf8');
}

/**
 * How a client proves who it is: a session JWT (`Authorization: Bearer`) or a script's API key
 * (`X-Cyber-Token`). Over WebSocket both travel as subprotocols, since browsers cannot set headers there.
 */
export type RpcCredentials = { bearer: string } | { apiKey: string };

/** Fixed credentials, or a function asked before each HTTP request / WebSocket connection (token refresh). */
export type CredentialsSource =
  RpcCredentials | (() => RpcCredentials | undefined | Promise<RpcCredentials | undefined>);

/** The subprotocol the server selects; offered first so the credential protocol is never echoed back. */
export const RPC_SUBPROTOCOL = 'cyber-rpc.v1';
/** Prefix of the subprotocol carrying a bearer token, base64url-encoded. */
export const BEARER_SUBPROTOCOL_PREFIX = 'cyber-rpc.bearer.';
/** Prefix of the subprotocol carrying an API key, base64url-encoded. */
export const API_KEY_SUBPROTOCOL_PREFIX = 'cyber-rpc.api-key.';

/** Resolves a credentials source to credentials, or undefined for anonymous. */
export async function resolveCredentials(
  source: CredentialsSource | undefined,
): Promise<RpcCredentials | undefined> {
  return typeof source === 'function' ? await source() : source;
}

/** HTTP headers carrying the credentials. */
export function credentialHeaders(credentials: RpcCredentials | undefined): Record<string, string> {
  if (credentials === undefined) return {};
  if ('bearer' in credentials) return { authorization: `Bearer ${credentials.bearer}` };
  return { 'x-cyber-token': credentials.apiKey };
}

/** WebSocket subprotocols carrying the credentials (RPC_SUBPROTOCOL first). */
export function credentialSubprotocols(credentials: RpcCredentials | undefined): string[] {
  if (credentials === undefined) return [RPC_SUBPROTOCOL];
  const credential =
    'bearer' in credentials
      ? BEARER_SUBPROTOCOL_PREFIX + base64Url(credentials.bearer)
      : API_KEY_SUBPROTOCOL_PREFIX + base64Url(credentials.apiKey);
  return [RPC_SUBPROTOCOL, credential];
}

/** base64url without padding: only characters a subprotocol token may hold. btoa/TextEncoder run everywhere. */
function base64Url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

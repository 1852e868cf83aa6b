// OpenAI clients send every credential as `Authorization: Bearer <key>`. The product's verifier reads a bearer
// token as a session JWT and an API key only from `X-Cyber-Token`, so a bearer that is not JWT-shaped is moved
// to `x-cyber-token` before the verifier sees the headers.
import type { IncomingHttpHeaders } from 'node:http';
import type { VerifiedIdentity } from '@cyber/auth-client';
import { RpcError } from '@cyber/contract';

/** What the transport knows about the connection besides its headers. */
export interface AuthenticateMeta {
  /** The client's address as Fastify sees it; for per-address limits on failed keys. */
  ip: string;
}

/** Resolves the caller from request headers: undefined without credentials; throws RpcError for bad ones. */
export type OpenAiAuthenticate = (
  headers: IncomingHttpHeaders,
  meta: AuthenticateMeta,
) => Promise<VerifiedIdentity | undefined>;

// A compact JWS: header.payload.signature, each base64url.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The headers to authenticate with: `Authorization: Bearer <jwt>` stays a session; `Authorization: Bearer
 * <anything else>` becomes `x-cyber-token: <it>` (an API key); `X-Cyber-Token` passes as sent. Other
 * headers are kept; a malformed Authorization header is left for the verifier to refuse.
 */
export function credentialHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const authorization = headers.authorization;
  if (authorization === undefined) return headers;
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined || JWT_SHAPE.test(token)) return headers;
  const { authorization: _dropped, ...rest } = headers;
  return { ...rest, 'x-cyber-token': token };
}

/**
 * Authenticates an OpenAI-style request; a request without credentials is `unauthenticated`, with the
 * message OpenAI gives, since every /v1 route needs a caller.
 */
export async function authenticateOpenAi(
  authenticate: OpenAiAuthenticate,
  headers: IncomingHttpHeaders,
  meta: AuthenticateMeta,
): Promise<VerifiedIdentity> {
  const identity = await authenticate(credentialHeaders(headers), meta);
  if (identity === undefined) {
    throw new RpcError('unauthenticated', {
      message:
        "You didn't provide an API key. Provide it as 'Authorization: Bearer <key>' or 'X-Cyber-Token: <key>'.",
    });
  }
  return identity;
}

// Words a user understands for the errors the gateway returns. The server's own message is kept only where it
// is written for people (validation details), never for internal errors.
import { RpcError } from '@cyber/contract';

/** Seconds to wait, from `data.retryAfterMs` / `data.retryAfter` of a rate-limited error. */
function retryAfterSeconds(error: RpcError): number | undefined {
  const data = error.data ?? {};
  const ms = typeof data.retryAfterMs === 'number' ? data.retryAfterMs : undefined;
  const seconds = typeof data.retryAfter === 'number' ? data.retryAfter : undefined;
  if (ms !== undefined) return Math.max(1, Math.ceil(ms / 1000));
  return seconds === undefined ? undefined : Math.max(1, Math.ceil(seconds));
}

/** What the sign-in form shows for a failed auth.login. */
export function signInErrorText(error: unknown): string {
  if (!(error instanceof RpcError)) return 'Sign-in failed. Check your connection and try again.';
  switch (error.key) {
    case 'unauthenticated':
      return 'Wrong username or password.';
    case 'forbidden':
      return 'This account is disabled. Ask an administrator to enable it.';
    case 'rate_limited': {
      const wait = retryAfterSeconds(error);
      return wait === undefined
        ? 'Too many sign-in attempts. Wait a moment and try again.'
        : `Too many sign-in attempts. Try again in ${wait} s.`;
    }
    case 'invalid_params':
      return 'Enter a username and a password.';
    case 'service_unavailable':
      return 'The studio cannot reach its server right now. Try again shortly.';
    default:
      return errorText(error);
  }
}

/** A one-line message for any failed call, for the place where it happened. */
export function errorText(error: unknown): string {
  if (!(error instanceof RpcError)) {
    return error instanceof Error ? error.message : 'Something went wrong.';
  }
  switch (error.key) {
    case 'unauthenticated':
      return 'Your session ended. Please sign in again.';
    case 'forbidden':
      return 'You do not have permission to do that.';
    case 'not_found':
      return error.message === 'Not found'
        ? 'It no longer exists (deleted or renamed elsewhere?).'
        : error.message;
    case 'conflict':
      return error.message === 'Conflict' ? 'It changed on the server meanwhile.' : error.message;
    case 'rate_limited':
      return 'Too many requests. Wait a moment and try again.';
    case 'payload_too_large':
      return 'That is too large for the server.';
    case 'sandbox_unavailable':
      return 'The sandbox is not available right now.';
    case 'service_unavailable':
      return 'The server cannot be reached right now.';
    case 'cancelled':
      return 'Cancelled.';
    case 'internal_error': {
      const id =
        typeof error.data?.correlationId === 'string' ? ` (reference ${error.data.correlationId})` : '';
      return `The server hit an internal error${id}.`;
    }
    default:
      return error.message;
  }
}

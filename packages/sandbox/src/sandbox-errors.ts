// Engine failures reach callers as RpcError('sandbox_unavailable') with a message an operator can act on.
import { RpcError } from '@cyber/contract';

/** The script that builds the images, named in every "image missing" message. */
export const BUILD_SCRIPT = 'sandbox-images/build.sh';

interface DockerishError {
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
}

/** True for errors that mean "could not talk to the engine at all". */
function isConnectionError(error: DockerishError): boolean {
  return (
    typeof error.code === 'string' &&
    ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(
      error.code,
    )
  );
}

/**
 * Maps a dockerode error to an RpcError. `image` names the image the call needed, so a 404 on create becomes
 * "image X is missing, run sandbox-images/build.sh".
 */
export function toSandboxError(error: unknown, context: { image?: string; socket: string }): RpcError {
  if (error instanceof RpcError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as DockerishError;
  if (isConnectionError(e)) {
    return new RpcError('sandbox_unavailable', {
      message: `Docker engine unreachable at ${context.socket} (${String(e.code)}); start it (scripts/infra.sh up)`,
      cause: error,
    });
  }
  const text = typeof e.message === 'string' ? e.message : '';
  if (context.image !== undefined && e.statusCode === 404 && /image|No such/i.test(text)) {
    return new RpcError('sandbox_unavailable', {
      message: `sandbox image ${context.image} is missing; build it with ${BUILD_SCRIPT}`,
      data: { image: context.image },
      cause: error,
    });
  }
  return new RpcError('sandbox_unavailable', {
    message: `Docker engine error${typeof e.statusCode === 'number' ? ` (HTTP ${e.statusCode})` : ''}`,
    cause: error,
  });
}

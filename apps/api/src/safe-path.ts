// Lexical rules for project-relative paths, applied before anything touches the disk. They refuse every
// spelling that could name something outside the project or that different layers could read differently
// (a proxy decoding %2f, Windows tools splitting on backslashes). Symlinks cannot be judged lexically: see
// project-files.ts, which walks the returned segments one directory file descriptor at a time.
import { RpcError } from '@cyber/contract';

/** Longest path accepted, in UTF-8 bytes (Linux PATH_MAX is 4096; this leaves room for the project root). */
export const MAX_PATH_BYTES = 1024;
/** Longest single name, in UTF-8 bytes (Linux NAME_MAX). */
export const MAX_NAME_BYTES = 255;
/** Deepest nesting accepted. */
export const MAX_PATH_DEPTH = 64;

/** Prefix of the temporary files an atomic write creates beside its target; users cannot address them. */
export const TEMP_PREFIX = '.cyber-tmp-';

// %2e, %2f, %5c and friends: the server never URL-decodes paths, so an encoded sequence is either an attack on
// some other layer that does, or a mistake; both are refused rather than stored as a literal name.
const PERCENT_ENCODED = /%[0-9a-f]{2}/i;
// eslint's no-control-regex would flag a literal class; build it from code points instead.
const CONTROL = new RegExp(
  `[${String.fromCharCode(0)}-${String.fromCharCode(0x1f)}${String.fromCharCode(0x7f)}]`,
);

/** Why a path was refused; sent to the client as `data.reason` of `invalid_params`. */
export type PathRefusal =
  | 'absolute'
  | 'backslash'
  | 'control_character'
  | 'dot_segment'
  | 'empty_segment'
  | 'encoded_sequence'
  | 'reserved_name'
  | 'too_deep'
  | 'too_long';

const MESSAGES: Record<PathRefusal, string> = {
  absolute: 'path must be relative to the project root',
  backslash: 'path must use / as separator, never \\',
  control_character: 'path must not contain NUL or control characters',
  dot_segment: 'path must not contain . or .. segments',
  empty_segment: 'path must not contain empty segments (//, leading or trailing /)',
  encoded_sequence: 'path must not contain percent-encoded sequences such as %2f',
  reserved_name: 'path names a file reserved for the server',
  too_deep: `path must not be nested deeper than ${MAX_PATH_DEPTH} levels`,
  too_long: `path must be at most ${MAX_PATH_BYTES} bytes, each name at most ${MAX_NAME_BYTES}`,
};

/** The refusal for `path`, or undefined when it is acceptable. */
export function checkProjectPath(path: string): PathRefusal | undefined {
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) return 'too_long';
  if (CONTROL.test(path)) return 'control_character';
  if (path.includes('\\')) return 'backslash';
  if (PERCENT_ENCODED.test(path)) return 'encoded_sequence';
  if (path.startsWith('/')) return 'absolute';
  const segments = path.split('/');
  if (segments.length > MAX_PATH_DEPTH) return 'too_deep';
  for (const segment of segments) {
    if (segment === '') return 'empty_segment';
    if (segment === '.' || segment === '..') return 'dot_segment';
    if (Buffer.byteLength(segment, 'utf8') > MAX_NAME_BYTES) return 'too_long';
    if (segment.startsWith(TEMP_PREFIX)) return 'reserved_name';
  }
  return undefined;
}

/**
 * Splits a project-relative path into its names, or throws `invalid_params` with `data.reason` naming the
 * rule it broke (and `data.path`, the caller's own input, never a host path).
 */
export function parseProjectPath(path: string, field = 'path'): string[] {
  const refusal = checkProjectPath(path);
  if (refusal !== undefined) {
    throw new RpcError('invalid_params', {
      message: `Invalid ${field}: ${MESSAGES[refusal]}`,
      data: { reason: refusal, field },
    });
  }
  return path.split('/');
}

// openat(2) for Node. Node has no *at() calls, but on Linux `/proc/self/fd/<dirfd>/<name>` is resolved by the
// kernel from the directory the descriptor holds (a magic link, not a path string), and only `<name>` is then
// looked up in it, so open/mkdir/rename/unlink/lstat on that path behave like their *at() forms relative to
// the held directory. With O_NOFOLLOW on every open, a walk from the project root one name at a time never
// follows a symlink at any depth, and a directory swapped for a symlink while we walk (the sandbox writes into
// the bind-mounted project concurrently) is seen as a symlink instead of being followed: the realpath-then-open
// race is closed because no step re-resolves a path from the root.
import { constants, lstatSync, openSync, type BigIntStats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { RpcError } from '@cyber/contract';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;

/** Flags of every directory open: a directory, never through a symlink. */
export const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** A held directory: a FileHandle, or a leased project root (project-roots.ts). */
export interface DirRef {
  readonly fd: number;
}

/** The path that names `name` inside the directory `dir` holds, resolved by the kernel from the descriptor. */
export function at(dir: DirRef, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

/** The path naming the directory `dir` holds itself (for readdir). */
export function self(dir: DirRef): string {
  return `/proc/self/fd/${dir.fd}`;
}

/** The errno code of a Node fs error, if it is one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

/** lstat relative to a held directory, with nanosecond times; undefined when the name does not exist. */
export async function lstatAt(dir: DirRef, name: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(at(dir, name), { bigint: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** The `invalid_params` error for a path that goes through or names a symlink. */
export function symlinkRefused(path: string): RpcError {
  return new RpcError('invalid_params', {
    message: `Refused: ${path} is or goes through a symbolic link; fs.* never follows links`,
    data: { reason: 'symlink', path },
  });
}

/** The `not_found` error for a missing path. */
export function notFound(path: string): RpcError {
  return new RpcError('not_found', { message: `No such file or directory: ${path}`, data: { path } });
}

/**
 * Opens the child directory `name` of `dir` without following a symlink. A symlink is refused with
 * {@link symlinkRefused}, a file with `invalid_params` (`not_a_directory`), a missing name with `not_found`.
 * `shown` is the caller's path up to this name, used in messages (never a host path).
 */
export async function openChildDir(dir: DirRef, name: string, shown: string): Promise<FileHandle> {
  try {
    return await open(at(dir, name), DIR_FLAGS);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOTDIR' || code === 'ELOOP') {
      throw childDirError({ code, stats: await lstatAt(dir, name), shown, cause: error });
    }
    throw childDirError({ code, stats: undefined, shown, cause: error });
  }
}

/**
 * {@link openChildDir} as a synchronous open(2) returning the raw descriptor (the caller closes it). Used by
 * the fs.read/fs.stat fast path, where a thread-pool round trip per step costs more than the syscall.
 */
export function openChildDirSync(dir: DirRef, name: string, shown: string): number {
  try {
    return openSync(at(dir, name), DIR_FLAGS);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOTDIR' || code === 'ELOOP') {
      throw childDirError({ code, stats: lstatAtSync(dir, name), shown, cause: error });
    }
    throw childDirError({ code, stats: undefined, shown, cause: error });
  }
}

/** The error for a failed directory open; `stats` is the entry's lstat after ENOTDIR/ELOOP. */
function childDirError(input: {
  code: string | undefined;
  stats: BigIntStats | undefined;
  shown: string;
  cause: unknown;
}): unknown {
  const { code, stats, shown } = input;
  if (code === 'ENOENT') return notFound(shown);
  // O_DIRECTORY|O_NOFOLLOW answers ENOTDIR (or ELOOP) for a symlink and ENOTDIR for a file: tell them apart.
  if (code === 'ENOTDIR' || code === 'ELOOP') {
    // Only a plain file is reported as such; anything else (a link now, or an entry that changed since the
    // open, which is what a sandbox swapping links looks like) is refused as a link.
    if (code === 'ELOOP' || stats?.isFile() !== true) return symlinkRefused(shown);
    return new RpcError('invalid_params', {
      message: `Not a directory: ${shown}`,
      data: { reason: 'not_a_directory', path: shown },
    });
  }
  return input.cause;
}

/** {@link lstatAt}, synchronously. */
export function lstatAtSync(dir: DirRef, name: string): BigIntStats | undefined {
  return lstatSync(at(dir, name), { bigint: true, throwIfNoEntry: false });
}

/** Closes handles, ignoring errors (used in finally blocks, where the first error is the one that matters). */
export async function closeAll(handles: readonly (FileHandle | undefined)[]): Promise<void> {
  await Promise.all(
    handles.map((handle) =>
      handle === undefined ? Promise.resolve() : handle.close().catch(() => undefined),
    ),
  );
}

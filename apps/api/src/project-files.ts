// Project files on the host: one folder per project, `<projectsDir>/<project id>`. Every operation starts from a
// descriptor of the project root and walks one name at a time with O_NOFOLLOW (fd-walk.ts), so nothing here
// can read, write, list or delete outside the project, whatever symlinks the sandbox leaves in it:
// - a symlink anywhere on the path is refused (`invalid_params`, reason `symlink`); listings show symlinks as
//   entries but never descend into them; only fs.stat (lstat) and fs.delete (unlink of the link itself) act
//   on a symlink, neither follows it;
// - files are opened only after lstat says "regular file", and the descriptor is checked against that lstat
//   (same inode), so a FIFO or device swapped in cannot block or trigger a read;
// - writes go to a temporary file in the same held directory and are renamed over the target (atomic), and
//   mutations of one project are serialised so a version check and its write cannot interleave with another.
// Project roots stay open between requests (project-roots.ts: leased, bounded, dropped on delete). fs.read and
// fs.stat, the editor's hot path, walk with synchronous syscalls: each step is a few microseconds in the kernel,
// while a libuv thread-pool round trip costs tens (queueing, two thread switches, a wake-up of the loop), and on
// a small machine the pool's threads compete with the loop for the same cores. Only the content read of a file
// over SYNC_READ_MAX_BYTES goes to the pool, so a large (or uncached) file cannot stall the loop for long.
// What this cannot close: the sandbox may change a file between our version check and our rename (it writes the
// same folder with no lock we could share); such a change is overwritten, never followed outside.
import { isUtf8 } from 'node:buffer';
import { hash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  read as readCallback,
  readSync,
  type BigIntStats,
} from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { RpcError, type FsEntry, type Params, type Result } from '@cyber/contract';
import {
  DIR_FLAGS,
  at,
  closeAll,
  errorCode,
  lstatAt,
  lstatAtSync,
  notFound,
  openChildDir,
  openChildDirSync,
  self,
  symlinkRefused,
  type DirRef,
} from './fd-walk.js';
import { ProjectRoots, type RootLease } from './project-roots.js';
import { ProjectUsage } from './project-usage.js';
import { TEMP_PREFIX, parseProjectPath } from './safe-path.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Options of {@link ProjectFiles}. */
export interface ProjectFilesOptions {
  /** Directory holding one folder per project (created when missing). */
  projectsDir: string;
  /** Largest file written or read, in bytes. */
  maxFileBytes: number;
  /** Most bytes one project's files may take. */
  maxProjectBytes: number;
  /** Most project root descriptors kept open between requests. Default 256. */
  maxOpenRoots?: number;
}

/** Files up to this size are read on the event loop (see the header); larger ones through the thread pool. */
export const SYNC_READ_MAX_BYTES = 64 * 1024;

const readAsync = promisify(readCallback);

/** A file to create with a new project. */
export interface StarterFile {
  path: string;
  content: string;
}

// Sandbox runs use the project as /workspace under uid 65534, so they must be able to change what the gateway
// wrote. Modes are set with fchmod on an O_NOFOLLOW descriptor (never chmod by path, which follows links) and
// bypass the umask; the projects folder itself is 0700, so no other host user reaches these files.
const DIR_MODE = 0o777;
const FILE_MODE = 0o666;

/**
 * The version of a file: a digest of (device, inode, size, mtime in ns). An atomic write makes a new inode, and
 * any in-place change moves mtime, so a stale version never matches; and it needs no read of the content, so
 * listings can return versions for every file. Opaque to clients.
 */
export function versionOf(stats: BigIntStats): string {
  // One-shot hash: about twice as fast as a createHash object, and fs.read computes one per request.
  return hash('sha256', `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}`, 'hex').slice(0, 32);
}

function entryOf(path: string, name: string, stats: BigIntStats): FsEntry {
  const type = stats.isSymbolicLink() ? 'symlink' : stats.isDirectory() ? 'directory' : 'file';
  return {
    path,
    name,
    type,
    size: type === 'file' ? Number(stats.size) : 0,
    modifiedAt: new Date(Number(stats.mtimeMs)).toISOString(),
    version: stats.isFile() ? versionOf(stats) : null,
  };
}

function conflict(message: string, data: Record<string, unknown>): RpcError {
  return new RpcError('conflict', { message, data });
}

function tooLarge(message: string, data: Record<string, unknown>): RpcError {
  return new RpcError('payload_too_large', { message, data });
}

/** Directories first, then by name (code point order, the same on every machine). */
function compareEntries(a: { name: string; dir: boolean }, b: { name: string; dir: boolean }): number {
  if (a.dir !== b.dir) return a.dir ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A walk to the parent directory of a path: the held parent, the last name, and the path for messages. */
interface Located {
  parent: DirRef;
  name: string;
  path: string;
}

/** Files of every project, confined to each project's folder. */
export class ProjectFiles {
  readonly #options: ProjectFilesOptions;
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #usage = new ProjectUsage();
  readonly #roots: ProjectRoots;

  constructor(options: ProjectFilesOptions) {
    this.#options = options;
    this.#roots = new ProjectRoots({
      pathOf: (projectId) => this.hostPath(projectId),
      maxOpen: options.maxOpenRoots ?? 256,
    });
  }

  /** Closes the held project roots (app shutdown); operations still running keep theirs until they finish. */
  close(): void {
    this.#roots.dropAll();
  }

  /** Project roots held open now (for tests). */
  get openRoots(): number {
    return this.#roots.size;
  }

  /** Host folder of a project, for the sandbox's bind mount only; never sent to a client. */
  hostPath(projectId: string): string {
    return join(this.#options.projectsDir, projectId);
  }

  /** Creates the project's folder with its starter files. */
  async create(projectId: string, files: readonly StarterFile[]): Promise<void> {
    await mkdir(this.#options.projectsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.hostPath(projectId));
    const root = await open(this.hostPath(projectId), DIR_FLAGS);
    try {
      await root.chmod(DIR_MODE);
    } finally {
      await root.close();
    }
    this.#usage.set(projectId, 0);
    for (const file of files) {
      await this.write({
        projectId,
        path: file.path,
        content: file.content,
        encoding: 'utf8',
        createParents: true,
      });
    }
  }

  /** Deletes a project's folder and everything in it, without following any symlink inside. */
  async remove(projectId: string): Promise<void> {
    await this.#locked(projectId, async () => {
      // Before: no new operation starts at the old root. After: a read that raced the removal and opened
      // the half-removed folder again does not keep it open.
      this.#roots.drop(projectId);
      const parent = await open(this.#options.projectsDir, DIR_FLAGS);
      try {
        if ((await lstatAt(parent, projectId)) !== undefined) await removeTree(parent, projectId);
      } finally {
        await parent.close();
        this.#roots.drop(projectId);
      }
      this.#usage.forget(projectId);
    });
  }

  /** Forgets the cached size of a project (after a sandbox run changed its files). */
  invalidateUsage(projectId: string): void {
    this.#usage.forget(projectId);
  }

  /** Bytes the project's regular files take (cached; measured by one shared walk when unknown). */
  usage(projectId: string): Promise<number> {
    return this.#usage.measure(projectId, async () => {
      const root = this.#openRoot(projectId);
      try {
        return await sizeOfTree(root);
      } finally {
        root.release();
      }
    });
  }

  /** `fs.list`. */
  async list(params: Params<'fs.list'>): Promise<Result<'fs.list'>> {
    const root = this.#openRoot(params.projectId);
    const handles: FileHandle[] = [];
    try {
      let dir: DirRef = root;
      let shown = '';
      if (params.path !== undefined) {
        for (const name of parseProjectPath(params.path)) {
          shown = shown === '' ? name : `${shown}/${name}`;
          const child = await openChildDir(dir, name, shown);
          handles.push(child);
          dir = child;
        }
      }
      const entries: FsEntry[] = [];
      const truncated = await listInto({
        dir,
        prefix: shown,
        out: entries,
        max: params.maxEntries,
        recursive: params.recursive,
      });
      return { entries, truncated };
    } finally {
      await closeAll(handles);
      root.release();
    }
  }

  /** `fs.stat`: metadata of the named entry itself (a symlink is reported as one, never followed). */
  async stat(params: Params<'fs.stat'>): Promise<Result<'fs.stat'>> {
    const segments = parseProjectPath(params.path);
    const root = this.#openRoot(params.projectId);
    const fds: number[] = [];
    try {
      const { parent, name, path } = walkToParentSync(root, segments, fds);
      const stats = lstatAtSync(parent, name);
      if (stats === undefined) throw notFound(path);
      return Promise.resolve(entryOf(path, name, stats));
    } finally {
      closeFds(fds);
      root.release();
    }
  }

  /** `fs.read`. */
  async read(params: Params<'fs.read'>): Promise<Result<'fs.read'>> {
    const segments = parseProjectPath(params.path);
    const root = this.#openRoot(params.projectId);
    const fds: number[] = [];
    try {
      const { parent, name, path } = walkToParentSync(root, segments, fds);
      // O_NOFOLLOW refuses a link; O_NONBLOCK keeps a FIFO from hanging the open; the fstat then refuses
      // anything but a regular file before a byte is read. (Device nodes need CAP_MKNOD, which sandboxes lack.)
      const fd = openFileSync(parent, name, path);
      fds.push(fd);
      const stats = fstatSync(fd, { bigint: true });
      refuseNonFile(stats, path);
      if (stats.size > BigInt(this.#options.maxFileBytes)) {
        throw tooLarge(`File is larger than the ${this.#options.maxFileBytes}-byte limit`, {
          limit: this.#options.maxFileBytes,
          size: Number(stats.size),
        });
      }
      const size = Number(stats.size);
      const bytes = size <= SYNC_READ_MAX_BYTES ? readExactlySync(fd, size) : await readExactly(fd, size);
      const encoding = params.encoding === 'auto' ? (isText(bytes) ? 'utf8' : 'base64') : params.encoding;
      return {
        path,
        content: bytes.toString(encoding),
        encoding,
        size: bytes.length,
        version: versionOf(stats),
        modifiedAt: new Date(Number(stats.mtimeMs)).toISOString(),
      };
    } finally {
      closeFds(fds);
      root.release();
    }
  }

  /** `fs.write`: atomic replace, with optional optimistic concurrency on `expectedVersion`. */
  async write(
    params: Omit<Params<'fs.write'>, 'expectedVersion'> & { expectedVersion?: string | null },
  ): Promise<Result<'fs.write'>> {
    const bytes = Buffer.from(params.content, params.encoding);
    if (bytes.length > this.#options.maxFileBytes) {
      throw tooLarge(`File is larger than the ${this.#options.maxFileBytes}-byte limit`, {
        limit: this.#options.maxFileBytes,
        size: bytes.length,
      });
    }
    return this.#locked(params.projectId, () =>
      this.#withParent(
        params.projectId,
        params.path,
        async ({ parent, name, path }) => {
          const current = await lstatAt(parent, name);
          if (current !== undefined) refuseNonFile(current, path);
          const currentVersion = current === undefined ? null : versionOf(current);
          if (params.expectedVersion !== undefined && params.expectedVersion !== currentVersion) {
            throw conflict(`File changed since version ${params.expectedVersion ?? 'null'}: ${path}`, {
              path,
              currentVersion,
            });
          }
          const oldSize = current === undefined ? 0 : Number(current.size);
          const used = await this.usage(params.projectId);
          if (used - oldSize + bytes.length > this.#options.maxProjectBytes) {
            throw tooLarge(`Project would exceed its ${this.#options.maxProjectBytes}-byte limit`, {
              limit: this.#options.maxProjectBytes,
              used,
            });
          }
          const written = await writeAtomically({
            parent,
            name,
            bytes,
            mode: current === undefined ? FILE_MODE : Number(current.mode & 0o777n),
          });
          this.#usage.set(params.projectId, used - oldSize + bytes.length);
          return { path, version: versionOf(written), size: bytes.length, created: current === undefined };
        },
        { createParents: params.createParents },
      ),
    );
  }

  /** `fs.delete`: a file, an empty directory, a whole tree with `recursive`, or a symlink itself. */
  async delete(params: Params<'fs.delete'>): Promise<Result<'fs.delete'>> {
    return this.#locked(params.projectId, () =>
      this.#withParent(params.projectId, params.path, async ({ parent, name, path }) => {
        const stats = await lstatAt(parent, name);
        if (stats === undefined) throw notFound(path);
        if (params.expectedVersion !== undefined) {
          const currentVersion = stats.isFile() ? versionOf(stats) : null;
          if (currentVersion !== params.expectedVersion) {
            throw conflict(`File changed since version ${params.expectedVersion}: ${path}`, {
              path,
              currentVersion,
            });
          }
        }
        if (stats.isDirectory()) {
          if (params.recursive) {
            await removeTree(parent, name);
          } else {
            try {
              await rmdir(at(parent, name));
            } catch (error) {
              if (errorCode(error) === 'ENOTEMPTY' || errorCode(error) === 'EEXIST') {
                throw conflict(`Directory is not empty (use recursive): ${path}`, {
                  path,
                  reason: 'directory_not_empty',
                });
              }
              throw error;
            }
          }
          this.#usage.forget(params.projectId);
        } else {
          // unlink removes a symlink itself, never its target.
          await unlink(at(parent, name));
          if (stats.isFile()) {
            const cached = this.#usage.get(params.projectId);
            if (cached === undefined) this.#usage.forget(params.projectId);
            else this.#usage.set(params.projectId, cached - Number(stats.size));
          }
        }
        return { deleted: true as const };
      }),
    );
  }

  /** `fs.rename`: moves a file or directory within the project; never moves or replaces a symlink. */
  async rename(params: Params<'fs.rename'>): Promise<Result<'fs.rename'>> {
    const fromSegments = parseProjectPath(params.from, 'from');
    const toSegments = parseProjectPath(params.to, 'to');
    if (params.from === params.to) {
      throw new RpcError('invalid_params', {
        message: 'from and to are the same path',
        data: { reason: 'same_path' },
      });
    }
    if (params.to.startsWith(`${params.from}/`)) {
      throw new RpcError('invalid_params', {
        message: 'Cannot move a directory into itself',
        data: { reason: 'into_itself' },
      });
    }
    return this.#locked(params.projectId, async () => {
      const root = this.#openRoot(params.projectId);
      const handles: FileHandle[] = [];
      try {
        const from = await walkToParent(root, fromSegments, handles, false);
        const to = await walkToParent(root, toSegments, handles, false);
        const source = await lstatAt(from.parent, from.name);
        if (source === undefined) throw notFound(params.from);
        if (source.isSymbolicLink()) throw symlinkRefused(params.from);
        const target = await lstatAt(to.parent, to.name);
        if (target !== undefined) {
          if (target.isSymbolicLink()) throw symlinkRefused(params.to);
          if (!params.overwrite) throw conflict(`Already exists: ${params.to}`, { path: params.to });
          if (target.isDirectory() || source.isDirectory()) {
            throw conflict(`Only a file can replace a file: ${params.to}`, { path: params.to });
          }
        }
        await rename(at(from.parent, from.name), at(to.parent, to.name));
        const moved = await lstatAt(to.parent, to.name);
        if (moved === undefined) throw notFound(params.to);
        if (target !== undefined) this.#usage.forget(params.projectId);
        return { entry: entryOf(params.to, to.name, moved) };
      } finally {
        await closeAll(handles);
        root.release();
      }
    });
  }

  /** `fs.mkdir`: creates a directory and its parents; succeeds when it exists. */
  async mkdir(params: Params<'fs.mkdir'>): Promise<Result<'fs.mkdir'>> {
    return this.#locked(params.projectId, () =>
      this.#withParent(
        params.projectId,
        params.path,
        async ({ parent, name, path }) => {
          let created = true;
          try {
            await mkdir(at(parent, name));
          } catch (error) {
            if (errorCode(error) !== 'EEXIST') throw error;
            created = false;
          }
          if (created) {
            const dir = await openChildDir(parent, name, path);
            try {
              await dir.chmod(DIR_MODE);
            } finally {
              await dir.close();
            }
          }
          const stats = await lstatAt(parent, name);
          if (stats === undefined) throw notFound(path);
          if (stats.isSymbolicLink()) throw symlinkRefused(path);
          if (!stats.isDirectory()) throw conflict(`Exists and is not a directory: ${path}`, { path });
          return { entry: entryOf(path, name, stats), created };
        },
        { createParents: true },
      ),
    );
  }

  /** Runs `fn` after every earlier mutation of the project finished; mutations of one project never overlap. */
  async #locked<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(projectId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(projectId, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(projectId) === tail) this.#locks.delete(projectId);
    }
  }

  /** Leases the project's root descriptor (held open between requests; see project-roots.ts). */
  #openRoot(projectId: string): RootLease {
    try {
      return this.#roots.acquire(projectId);
    } catch (error) {
      // The row exists but the folder is gone (deleted by hand): the project has no files to offer.
      if (errorCode(error) === 'ENOENT')
        throw new RpcError('not_found', { message: 'Project folder is missing' });
      throw error;
    }
  }

  async #withParent<T>(
    projectId: string,
    rawPath: string,
    fn: (located: Located) => Promise<T>,
    options: { createParents?: boolean } = {},
  ): Promise<T> {
    const segments = parseProjectPath(rawPath);
    const root = this.#openRoot(projectId);
    const handles: FileHandle[] = [];
    try {
      return await fn(await walkToParent(root, segments, handles, options.createParents ?? false));
    } finally {
      await closeAll(handles);
      root.release();
    }
  }
}

/**
 * Opens each directory of `segments` but the last, from `root`, refusing symlinks; with `createParents`,
 * missing directories are made first (mkdir does not follow a symlink either: an existing link gives EEXIST,
 * then the O_NOFOLLOW open refuses it). Opened handles are pushed to `handles` for the caller to close.
 */
async function walkToParent(
  root: DirRef,
  segments: readonly string[],
  handles: FileHandle[],
  createParents: boolean,
): Promise<Located> {
  let dir: DirRef = root;
  let shown = '';
  for (const name of segments.slice(0, -1)) {
    shown = shown === '' ? name : `${shown}/${name}`;
    let created = false;
    if (createParents) {
      try {
        await mkdir(at(dir, name));
        created = true;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
    }
    const child = await openChildDir(dir, name, shown);
    handles.push(child);
    dir = child;
    if (created) await child.chmod(DIR_MODE);
  }
  const name = segments.at(-1) ?? '';
  return { parent: dir, name, path: shown === '' ? name : `${shown}/${name}` };
}

/**
 * {@link walkToParent} without createParents, synchronously: raw descriptors, pushed to `fds` for the caller to
 * close (each parent stays open until then, so the walk never re-resolves a name it already passed).
 */
function walkToParentSync(root: DirRef, segments: readonly string[], fds: number[]): Located {
  let dir: DirRef = root;
  let shown = '';
  for (const name of segments.slice(0, -1)) {
    shown = shown === '' ? name : `${shown}/${name}`;
    const fd = openChildDirSync(dir, name, shown);
    fds.push(fd);
    dir = { fd };
  }
  const name = segments.at(-1) ?? '';
  return { parent: dir, name, path: shown === '' ? name : `${shown}/${name}` };
}

/** Closes raw descriptors, innermost first, ignoring errors (as {@link closeAll}). */
function closeFds(fds: readonly number[]): void {
  for (let i = fds.length - 1; i >= 0; i -= 1) {
    try {
      closeSync(fds[i] ?? -1);
    } catch {
      // Nothing to do: the descriptor is gone either way, and the operation's own error matters more.
    }
  }
}

function refuseNonFile(stats: BigIntStats, path: string): void {
  if (stats.isSymbolicLink()) throw symlinkRefused(path);
  if (stats.isDirectory()) {
    throw new RpcError('invalid_params', {
      message: `Is a directory: ${path}`,
      data: { reason: 'is_a_directory', path },
    });
  }
  if (!stats.isFile()) {
    throw new RpcError('invalid_params', {
      message: `Not a regular file: ${path}`,
      data: { reason: 'not_a_regular_file', path },
    });
  }
}

function openFileSync(parent: DirRef, name: string, path: string): number {
  try {
    // O_NONBLOCK: should a FIFO be swapped in after the lstat, opening it must not hang the request.
    return openSync(at(parent, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ELOOP') throw symlinkRefused(path);
    if (errorCode(error) === 'ENOENT') throw notFound(path);
    throw error;
  }
}

/**
 * Reads up to `size` bytes (the size fstat gave; a file that shrank meanwhile gives fewer). The version is that
 * of the fstat, so a write racing the read makes the version stale, never the content newer than it.
 */
async function readExactly(fd: number, size: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  while (offset < size) {
    const { bytesRead } = await readAsync(fd, buffer, offset, size - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return buffer.subarray(0, offset);
}

/** {@link readExactly} on the event loop, for files up to {@link SYNC_READ_MAX_BYTES}. */
function readExactlySync(fd: number, size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  while (offset < size) {
    const bytesRead = readSync(fd, buffer, offset, size - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return buffer.subarray(0, offset);
}

/**
 * UTF-8 text without NUL bytes is sent as text; anything else as base64. `isUtf8` validates without decoding, so
 * the read allocates its content string once (in `toString`) instead of twice.
 */
function isText(bytes: Buffer): boolean {
  return !bytes.includes(0) && isUtf8(bytes);
}

/** Writes `bytes` to a fresh temporary file beside `name`, flushes it, and renames it over `name`. */
async function writeAtomically(options: {
  parent: DirRef;
  name: string;
  bytes: Buffer;
  mode: number;
}): Promise<BigIntStats> {
  const { parent, name, bytes, mode } = options;
  const temp = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
  // O_EXCL|O_NOFOLLOW: the name is new and ours; nothing planted under it can redirect the write.
  const handle = await open(at(parent, temp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  let renamed = false;
  try {
    await handle.writeFile(bytes);
    await handle.chmod(mode);
    await handle.datasync();
    const stats = await handle.stat({ bigint: true });
    await rename(at(parent, temp), at(parent, name));
    renamed = true;
    return stats;
  } finally {
    await handle.close();
    if (!renamed) await unlink(at(parent, temp)).catch(() => undefined);
  }
}

/** Options of {@link listInto}. */
interface ListOptions {
  dir: DirRef;
  prefix: string;
  out: FsEntry[];
  max: number;
  recursive: boolean;
}

/** Appends the entries of `dir` (and below, when recursive); true when `max` cut the listing short. */
async function listInto(options: ListOptions): Promise<boolean> {
  const { dir, prefix, out, max, recursive } = options;
  const items: { name: string; dir: boolean; stats: BigIntStats }[] = [];
  for (const name of await readdir(self(dir))) {
    if (name.startsWith(TEMP_PREFIX)) continue;
    const stats = await lstatAt(dir, name);
    if (stats !== undefined) items.push({ name, dir: stats.isDirectory(), stats });
  }
  items.sort(compareEntries);
  for (const item of items) {
    if (out.length >= max) return true;
    const path = prefix === '' ? item.name : `${prefix}/${item.name}`;
    out.push(entryOf(path, item.name, item.stats));
    if (!recursive || !item.dir) continue;
    let child: FileHandle;
    try {
      child = await openChildDir(dir, item.name, path);
    } catch (error) {
      // Swapped for a symlink or removed since readdir: list it as it was, do not descend.
      if (error instanceof RpcError) continue;
      throw error;
    }
    try {
      if (await listInto({ dir: child, prefix: path, out, max, recursive })) return true;
    } finally {
      await child.close();
    }
  }
  return false;
}

/** Sum of the sizes of the regular files under `dir`, never following a symlink. */
async function sizeOfTree(dir: DirRef): Promise<number> {
  let total = 0;
  for (const name of await readdir(self(dir))) {
    const stats = await lstatAt(dir, name);
    if (stats === undefined) continue;
    if (stats.isFile()) total += Number(stats.size);
    else if (stats.isDirectory()) {
      let child: FileHandle;
      try {
        child = await openChildDir(dir, name, name);
      } catch (error) {
        if (error instanceof RpcError) continue;
        throw error;
      }
      try {
        total += await sizeOfTree(child);
      } finally {
        await child.close();
      }
    }
  }
  return total;
}

/**
 * Removes `name` in `parent` and everything below it. Each directory is opened with O_NOFOLLOW before its
 * entries are unlinked relative to it, so a directory swapped for a symlink mid-walk is unlinked as a link
 * and its target is never touched (Node's fs.rm re-resolves paths from the top, which a swap could redirect).
 */
async function removeTree(parent: DirRef, name: string): Promise<void> {
  let dir: FileHandle;
  try {
    dir = await open(at(parent, name), DIR_FLAGS);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOTDIR' || code === 'ELOOP') {
      await unlink(at(parent, name));
      return;
    }
    if (code === 'ENOENT') return;
    throw error;
  }
  try {
    for (const entry of await readdir(self(dir), { withFileTypes: true })) {
      if (entry.isDirectory()) await removeTree(dir, entry.name);
      else
        await unlink(at(dir, entry.name)).catch((error: unknown) => {
          if (errorCode(error) !== 'ENOENT') throw error;
        });
    }
  } finally {
    await dir.close();
  }
  await rmdir(at(parent, name));
}

// Open descriptors of project root folders, kept between requests so a file operation starts its O_NOFOLLOW
// walk at a held root instead of opening (and closing) `<projectsDir>/<id>` every time: two syscalls fewer per
// fs.read. Bounded (least recently used first out) and dropped when a project is deleted.
//
// Why leases: every walk names paths as `/proc/self/fd/<root>/<name>`. Were a root closed while a walk still
// used it, the kernel could hand the same number to the next open (another project's root), and that walk would
// continue in the wrong project. So a descriptor is closed only when it is out of the map and no lease holds it.
import { closeSync, openSync } from 'node:fs';
import { DIR_FLAGS, errorCode } from './fd-walk.js';

/** A held root descriptor; call `release` exactly once when the operation is done with it. */
export interface RootLease {
  readonly fd: number;
  release(): void;
}

interface Entry {
  fd: number;
  leases: number;
  /** Out of the map (evicted or dropped): closed when the last lease goes. */
  retired: boolean;
}

/** Options of {@link ProjectRoots}. */
export interface ProjectRootsOptions {
  /** Host folder of a project. */
  pathOf: (projectId: string) => string;
  /** Most roots kept open when no operation holds them. */
  maxOpen: number;
}

/** Cache of project root descriptors, one per project id, shared by every operation on that project. */
export class ProjectRoots {
  readonly #options: ProjectRootsOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: ProjectRootsOptions) {
    this.#options = options;
  }

  /**
   * Leases the project's root descriptor, opening it (O_DIRECTORY|O_NOFOLLOW) when not held. Throws the open's
   * error (ENOENT when the folder is missing). Synchronous: one open(2) on a miss, nothing on a hit.
   */
  acquire(projectId: string): RootLease {
    let entry = this.#entries.get(projectId);
    if (entry === undefined) {
      entry = { fd: openSync(this.#options.pathOf(projectId), DIR_FLAGS), leases: 0, retired: false };
      this.#evictFor(1);
    } else {
      // Re-inserting moves it to the end: the map's order is least recently used first.
      this.#entries.delete(projectId);
    }
    this.#entries.set(projectId, entry);
    entry.leases += 1;
    const held = entry;
    let released = false;
    return {
      fd: held.fd,
      release: () => {
        if (released) return;
        released = true;
        held.leases -= 1;
        if (held.retired && held.leases === 0) closeQuietly(held.fd);
      },
    };
  }

  /** Forgets a project's root (deleted, or its folder replaced); closed once no operation holds it. */
  drop(projectId: string): void {
    const entry = this.#entries.get(projectId);
    if (entry === undefined) return;
    this.#entries.delete(projectId);
    this.#retire(entry);
  }

  /** Drops every root (shutdown). */
  dropAll(): void {
    for (const projectId of [...this.#entries.keys()]) this.drop(projectId);
  }

  /** Roots in the cache (held or idle). */
  get size(): number {
    return this.#entries.size;
  }

  #evictFor(room: number): void {
    while (this.#entries.size + room > this.#options.maxOpen) {
      const oldest = this.#entries.entries().next();
      if (oldest.done === true) return;
      const [projectId, entry] = oldest.value;
      this.#entries.delete(projectId);
      this.#retire(entry);
    }
  }

  #retire(entry: Entry): void {
    entry.retired = true;
    if (entry.leases === 0) closeQuietly(entry.fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch (error) {
    // EBADF would mean a double close, a bug that must not pass silently; EINTR/EIO leave nothing to do.
    if (errorCode(error) === 'EBADF') throw error;
  }
}

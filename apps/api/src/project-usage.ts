// The bytes each project's files take, cached so quota checks do not walk the tree on every write. A walk is
// slow (an lstat per entry: about 0.3 s for 5,000 files here), so concurrent callers share one, and any change
// recorded while it runs (a write, a delete, a sandbox run) makes its result stale: it is handed to the callers
// that were waiting for it, never cached.

/** Cached project sizes; see the header. */
export class ProjectUsage {
  readonly #bytes = new Map<string, number>();
  /** Bumped by every change of a project's size; a walk's result is cached only if it is unchanged. */
  readonly #generation = new Map<string, number>();
  readonly #walks = new Map<string, { generation: number; bytes: Promise<number> }>();
  #nextGeneration = 1;

  /** The cached size, if known. */
  get(projectId: string): number | undefined {
    return this.#bytes.get(projectId);
  }

  /** Records a size the caller knows exactly (after its own write). */
  set(projectId: string, bytes: number): void {
    this.#bump(projectId);
    this.#bytes.set(projectId, bytes);
  }

  /** Forgets the size (files changed in ways only a walk can tell). */
  forget(projectId: string): void {
    this.#bump(projectId);
    this.#bytes.delete(projectId);
  }

  /** The cached size, else the result of `walk`, shared with every caller asking while it runs. */
  async measure(projectId: string, walk: () => Promise<number>): Promise<number> {
    const cached = this.#bytes.get(projectId);
    if (cached !== undefined) return cached;
    const generation = this.#generation.get(projectId) ?? 0;
    const inFlight = this.#walks.get(projectId);
    if (inFlight?.generation === generation) return inFlight.bytes;
    const entry = { generation, bytes: walk() };
    this.#walks.set(projectId, entry);
    try {
      const bytes = await entry.bytes;
      if ((this.#generation.get(projectId) ?? 0) === generation) this.#bytes.set(projectId, bytes);
      return bytes;
    } finally {
      if (this.#walks.get(projectId) === entry) this.#walks.delete(projectId);
    }
  }

  #bump(projectId: string): void {
    this.#generation.set(projectId, this.#nextGeneration);
    this.#nextGeneration += 1;
  }
}

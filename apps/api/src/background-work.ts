// Work a handler starts but does not answer after (bookkeeping the caller need not wait for). Failures are
// logged, since no caller is left to tell; shutdown waits for what is still running before the database closes.

/** Tracks background tasks; see the header. */
export class BackgroundWork {
  readonly #running = new Set<Promise<void>>();
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Starts `task` now without waiting for it. */
  start(task: () => Promise<unknown>): void {
    const running = (async () => {
      try {
        await task();
      } catch (error) {
        this.#onError(error);
      }
    })().finally(() => this.#running.delete(running));
    this.#running.add(running);
  }

  /** Resolves once nothing is running, including tasks started meanwhile. */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}

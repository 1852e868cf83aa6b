// Started, idle containers that cut a run's latency from a container start (~0.7 s) to an exec (~0.2 s).
//
// Each container is bound at creation to one workspace (its /workspace bind mount cannot change once it runs),
// to one set of container-level limits and to one owner (the user it was started for), and serves exactly one
// run: after it the runner removes it, and
// the pool creates a fresh one in the background. Nothing (files in /tmp, background processes, users)
// carries over between runs. Per language the pool keeps at most `size` idle containers, evicting the least
// recently used workspace's first.
import type Docker from 'dockerode';
import type { RunLanguage } from '@cyber/contract';

/** Identifies what a pooled container can serve. */
export interface WarmKey {
  language: RunLanguage;
  workspaceDir: string;
  /** See containerLimitsKey: limits baked in at creation. */
  limitsKey: string;
  /**
   * Who the container was started for (the api passes the user id). A pooled container has never run anything,
   * so nothing of its owner is in it; binding it anyway keeps that true if anything per-user is ever baked in at
   * creation (environment, mounts), and keeps one member's prewarm from being consumed by another's run.
   */
  owner: string;
}

/** An idle container handed to exactly one run. */
export interface WarmContainer {
  readonly key: WarmKey;
  readonly container: Docker.Container;
}

/** Options for {@link WarmPool}. */
export interface WarmPoolOptions {
  /** Idle containers kept per language; 0 disables the pool. */
  size: number;
  /** Creates and starts a container for `key`. */
  create: (key: WarmKey) => Promise<Docker.Container>;
  /** Force-removes a container (also used for evictions and drain). */
  remove: (container: Docker.Container) => Promise<void>;
  /** Background failures (engine down, image missing) land here instead of rejecting anything. */
  onError: (error: unknown) => void;
}

function sameKey(a: WarmKey, b: WarmKey): boolean {
  return (
    a.language === b.language &&
    a.workspaceDir === b.workspaceDir &&
    a.limitsKey === b.limitsKey &&
    a.owner === b.owner
  );
}

/** Per-language pools of single-use warm containers. */
export class WarmPool {
  readonly #options: WarmPoolOptions;
  /** Idle containers, oldest first. */
  #idle: WarmContainer[] = [];
  readonly #creating = new Set<Promise<void>>();
  #pending: { key: WarmKey; job: Promise<void> }[] = [];
  #closed = false;

  constructor(options: WarmPoolOptions) {
    this.#options = options;
  }

  /** Idle containers right now (for tests and readiness reports). */
  get idleCount(): number {
    return this.#idle.length;
  }

  /** Takes an idle container for `key`, or undefined (the caller runs cold). */
  take(key: WarmKey): WarmContainer | undefined {
    const index = this.#idle.findIndex((entry) => sameKey(entry.key, key));
    if (index < 0) return undefined;
    const [entry] = this.#idle.splice(index, 1);
    return entry;
  }

  /**
   * Makes sure one idle container for `key` exists or is being created; returns when it is ready (or failed,
   * reported through onError). Evicts the language's least recently used container when at capacity.
   */
  fill(key: WarmKey): Promise<void> {
    if (this.#closed || this.#options.size <= 0) return Promise.resolve();
    if (this.#idle.some((entry) => sameKey(entry.key, key))) return Promise.resolve();
    const inFlight = this.#pending.find((pending) => sameKey(pending.key, key));
    if (inFlight) return inFlight.job;
    const sameLanguage = this.#idle.filter((entry) => entry.key.language === key.language);
    const pendingSameLanguage = this.#pending.filter((pending) => pending.key.language === key.language);
    if (pendingSameLanguage.length >= this.#options.size) return Promise.resolve();
    const overflow = sameLanguage.length + pendingSameLanguage.length + 1 - this.#options.size;
    for (const victim of sameLanguage.slice(0, Math.max(0, overflow))) {
      this.#idle.splice(this.#idle.indexOf(victim), 1);
      void this.#background(this.#options.remove(victim.container));
    }
    const job = this.#options
      .create(key)
      .then(async (container) => {
        if (this.#closed) {
          await this.#options.remove(container);
          return;
        }
        this.#idle.push({ key, container });
      })
      .catch(this.#options.onError)
      .finally(() => {
        this.#pending = this.#pending.filter((pending) => pending.key !== key);
      });
    const tracked = this.#background(job);
    this.#pending.push({ key, job: tracked });
    return tracked;
  }

  /** Resolves once no creation or eviction is in flight (benchmarks and tests wait for a quiet engine). */
  async settled(): Promise<void> {
    while (this.#creating.size > 0) await Promise.all([...this.#creating]);
  }

  #background(job: Promise<void>): Promise<void> {
    const tracked = job.catch(this.#options.onError).finally(() => this.#creating.delete(tracked));
    this.#creating.add(tracked);
    return tracked;
  }

  /** Stops refilling, waits for creations in flight and removes every idle container. */
  async drain(): Promise<void> {
    this.#closed = true;
    while (this.#creating.size > 0) await Promise.all([...this.#creating]);
    const idle = this.#idle;
    this.#idle = [];
    await Promise.all(
      idle.map((entry) => this.#options.remove(entry.container).catch(this.#options.onError)),
    );
  }
}

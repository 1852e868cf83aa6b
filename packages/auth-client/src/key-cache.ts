// A bounded TTL cache of introspection answers, keyed by a hash of the key (the raw secret is never a map
// key), with indexes by key id and user id so a revocation broadcast can drop the right entries at once.
import type { VerifiedIdentity } from './identity.js';

/** A cached answer: the identity, or `undefined` for a refused key. */
interface Entry {
  identity: VerifiedIdentity | undefined;
  expiresAt: number;
  keyId: string | undefined;
  userId: string | undefined;
}

/** Options of {@link KeyCache}. */
export interface KeyCacheOptions {
  /** Most entries; the oldest go first beyond it. */
  maxEntries: number;
  /** Current time in ms. */
  now: () => number;
}

/** Introspection cache. */
export class KeyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #byKeyId = new Map<string, Set<string>>();
  readonly #byUserId = new Map<string, Set<string>>();
  readonly #options: KeyCacheOptions;

  constructor(options: KeyCacheOptions) {
    this.#options = options;
  }

  /** The live entry for this token hash, if any: `{ identity }` (identity undefined = refused). */
  get(tokenHash: string): { identity: VerifiedIdentity | undefined } | undefined {
    const entry = this.#entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#options.now()) {
      this.#delete(tokenHash);
      return undefined;
    }
    return entry;
  }

  /** Stores an answer for `ttlMs` (nothing when ttlMs <= 0). */
  set(tokenHash: string, identity: VerifiedIdentity | undefined, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.#delete(tokenHash);
    while (this.#entries.size >= this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#delete(oldest.value);
    }
    const entry: Entry = {
      identity,
      expiresAt: this.#options.now() + ttlMs,
      keyId: identity?.keyId,
      userId: identity?.userId,
    };
    this.#entries.set(tokenHash, entry);
    if (entry.keyId !== undefined) addTo(this.#byKeyId, entry.keyId, tokenHash);
    if (entry.userId !== undefined) addTo(this.#byUserId, entry.userId, tokenHash);
  }

  /** Drops the entries of one key. */
  dropKey(keyId: string): void {
    for (const hash of [...(this.#byKeyId.get(keyId) ?? [])]) this.#delete(hash);
  }

  /** Drops every entry of one user's keys. */
  dropUser(userId: string): void {
    for (const hash of [...(this.#byUserId.get(userId) ?? [])]) this.#delete(hash);
  }

  /** Drops everything (the revocation feed was interrupted: some message may have been missed). */
  clear(): void {
    this.#entries.clear();
    this.#byKeyId.clear();
    this.#byUserId.clear();
  }

  /** Number of entries, live or not yet swept. */
  get size(): number {
    return this.#entries.size;
  }

  #delete(tokenHash: string): void {
    const entry = this.#entries.get(tokenHash);
    if (entry === undefined) return;
    this.#entries.delete(tokenHash);
    if (entry.keyId !== undefined) removeFrom(this.#byKeyId, entry.keyId, tokenHash);
    if (entry.userId !== undefined) removeFrom(this.#byUserId, entry.userId, tokenHash);
  }
}

function addTo(index: Map<string, Set<string>>, key: string, hash: string): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(hash);
}

function removeFrom(index: Map<string, Set<string>>, key: string, hash: string): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(hash);
  if (set.size === 0) index.delete(key);
}

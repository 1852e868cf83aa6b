// A bounded cache of verified session JWTs, keyed by a hash of the token (the raw token is never a map key), so
// a busy client does not pay an Ed25519 verification on every request. An entry never outlives the token's
// `exp`, and is indexed by user so a "user" revocation broadcast drops that user's sessions at once; the
// verifier also re-checks the user's revocation time against the entry's `iat` on every hit.
import type { VerifiedIdentity } from './identity.js';

/** A verified session: who it is, and when the token was issued (for the revocation check on each hit). */
export interface CachedSession {
  identity: VerifiedIdentity;
  /** The token's `iat`, in epoch ms. */
  issuedAtMs: number;
}

interface Entry extends CachedSession {
  expiresAt: number;
}

/** Options of {@link SessionCache}. */
export interface SessionCacheOptions {
  /** Most entries; the oldest go first beyond it. */
  maxEntries: number;
  /** Current time in ms. */
  now: () => number;
}

/** Verified-session cache. */
export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #byUserId = new Map<string, Set<string>>();
  readonly #options: SessionCacheOptions;

  constructor(options: SessionCacheOptions) {
    this.#options = options;
  }

  /** The live session for this token hash, if any. */
  get(tokenHash: string): CachedSession | undefined {
    const entry = this.#entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#options.now()) {
      this.delete(tokenHash);
      return undefined;
    }
    return entry;
  }

  /** Stores a verified session for `ttlMs` (nothing when ttlMs <= 0). */
  set(tokenHash: string, session: CachedSession, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.delete(tokenHash);
    while (this.#entries.size >= this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
    this.#entries.set(tokenHash, { ...session, expiresAt: this.#options.now() + ttlMs });
    let hashes = this.#byUserId.get(session.identity.userId);
    if (hashes === undefined) this.#byUserId.set(session.identity.userId, (hashes = new Set()));
    hashes.add(tokenHash);
  }

  /** Drops every cached session of one user (disabled, deleted, role changed). */
  dropUser(userId: string): void {
    for (const hash of [...(this.#byUserId.get(userId) ?? [])]) this.delete(hash);
  }

  /** Drops one entry. */
  delete(tokenHash: string): void {
    const entry = this.#entries.get(tokenHash);
    if (entry === undefined) return;
    this.#entries.delete(tokenHash);
    const hashes = this.#byUserId.get(entry.identity.userId);
    if (hashes === undefined) return;
    hashes.delete(tokenHash);
    if (hashes.size === 0) this.#byUserId.delete(entry.identity.userId);
  }

  /** Drops everything (the revocation feed was interrupted: some message may have been missed). */
  clear(): void {
    this.#entries.clear();
    this.#byUserId.clear();
  }

  /** Number of entries, live or not yet swept. */
  get size(): number {
    return this.#entries.size;
  }
}

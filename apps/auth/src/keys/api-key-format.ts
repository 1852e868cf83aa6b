// The API key format: `cds_<12 hex>_<43 base64url>`. The first part (`cds_` plus 48 random bits) is the prefix:
// public, unique, indexed, shown in listings, used to find the row. The rest is a 256-bit random secret of
// which only a hash is stored.
//
// Why sha256 and not argon2: password hashing is slow on purpose because passwords are guessable; a 256-bit
// random secret is not, so a fast hash already makes a leaked hash useless (2^256 preimage search), and a slow
// one would only cost every API request hundreds of milliseconds. The comparison is constant-time anyway.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PATTERN = /^(cds_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A freshly generated key: the full value (shown once) and what is stored. */
export interface GeneratedApiKey {
  /** The whole key, sent as `X-Cyber-Token`. Never stored or logged. */
  token: string;
  /** Public prefix stored in `api_keys.prefix`. */
  prefix: string;
  /** Hash of the secret part, stored in `api_keys.secret_hash`. */
  secretHash: string;
}

/** Makes a new random key. */
export function generateApiKey(): GeneratedApiKey {
  const prefix = `cds_${randomBytes(6).toString('hex')}`;
  const secret = randomBytes(32).toString('base64url');
  return { token: `${prefix}_${secret}`, prefix, secretHash: hashSecret(secret) };
}

/** Splits a presented key; undefined when it does not have the format (a legacy key, or garbage). */
export function parseApiKey(token: string): { prefix: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(token);
  if (!match?.[1] || !match[2]) return undefined;
  return { prefix: match[1], secret: match[2] };
}

/** sha256, base64url: the stored form of a secret (and of a whole legacy key in `users.api_key_hash`). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'utf8');
  const stored = Buffer.from(storedHash, 'utf8');
  // Both are 43-character sha256 digests; a length mismatch means a corrupt row, never a match.
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

// argon2id password hashing with the configured cost. The only file that imports argon2.
import type { Argon2Config } from '@cyber/config';
import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';

/** Hashes and verifies passwords. */
export class PasswordHasher {
  readonly #options: argon2.Options & { type: typeof argon2.argon2id };
  #dummyHash: Promise<string> | undefined;

  constructor(config: Argon2Config) {
    this.#options = {
      type: argon2.argon2id,
      memoryCost: config.memoryKiB,
      timeCost: config.timeCost,
      parallelism: config.parallelism,
    };
  }

  /** An argon2id PHC string for `password`. */
  async hash(password: string): Promise<string> {
    return argon2.hash(password, this.#options);
  }

  /** True when `password` matches `hash`. A malformed stored hash counts as a mismatch, never as a crash. */
  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }

  /**
   * Spends the same time as {@link verify} against a hash nobody has, so a login for an unknown user takes as
   * long as one with a wrong password and response timing does not reveal which usernames exist.
   */
  async verifyDummy(password: string): Promise<false> {
    this.#dummyHash ??= this.hash(randomBytes(32).toString('base64url'));
    await this.verify(await this.#dummyHash, password);
    return false;
  }

  /** True when `hash` was made with other parameters than the configured ones (rehash after a good login). */
  needsRehash(hash: string): boolean {
    try {
      return argon2.needsRehash(hash, this.#options);
    } catch {
      return true;
    }
  }
}

/** A random password for generated accounts: 24 characters of base64url (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

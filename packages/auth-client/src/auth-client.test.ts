import { isRpcError } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import type { VerifiedIdentity } from './identity.js';
import { requireRole } from './identity.js';
import { KeyCache } from './key-cache.js';
import { createVerifier } from './verifier.js';
import { decodeRevocation, encodeRevocation, revocationChannel } from './revocation.js';

const identity = (overrides: Partial<VerifiedIdentity> = {}): VerifiedIdentity => ({
  userId: '7',
  id: 7,
  role: 'developer',
  via: 'api_key',
  keyId: '3f1c2a4e-8b7d-4c6e-9a5f-1e2d3c4b5a69',
  ...overrides,
});

describe('requireRole', () => {
  it('refuses anonymous callers with unauthenticated and low roles with forbidden', () => {
    expect(() => requireRole(undefined, 'viewer')).toThrow(
      expect.objectContaining({ key: 'unauthenticated' }),
    );
    let error: unknown;
    try {
      requireRole(identity({ role: 'viewer' }), 'developer');
    } catch (caught) {
      error = caught;
    }
    expect(isRpcError(error, 'forbidden')).toBe(true);
    expect(requireRole(identity(), 'developer').userId).toBe('7');
    expect(requireRole(undefined, 'public')).toBeUndefined();
  });
});

describe('revocation messages', () => {
  it('round-trip and ignore garbage without throwing', () => {
    expect(revocationChannel('cyber:')).toBe('cyber:keys:revoked');
    const message = { type: 'user' as const, userId: 3, at: 1_700_000_000_000 };
    expect(decodeRevocation(encodeRevocation(message))).toEqual(message);
    expect(decodeRevocation('{nope')).toBeUndefined();
    expect(decodeRevocation('{"type":"key","keyId":"x","userId":1}')).toBeUndefined();
  });
});

describe('KeyCache', () => {
  it('expires entries, drops them by key id and by user, and stays within its bound', () => {
    let now = 0;
    const cache = new KeyCache({ maxEntries: 2, now: () => now });
    cache.set('a', identity(), 1_000);
    cache.set('b', identity({ keyId: 'other', userId: '8', id: 8 }), 1_000);
    expect(cache.get('a')?.identity?.userId).toBe('7');
    cache.dropKey('3f1c2a4e-8b7d-4c6e-9a5f-1e2d3c4b5a69');
    expect(cache.get('a')).toBeUndefined();
    cache.dropUser('8');
    expect(cache.get('b')).toBeUndefined();
    cache.set('c', undefined, 500);
    cache.set('d', identity(), 1_000);
    cache.set('e', identity(), 1_000);
    expect(cache.size).toBe(2);
    expect(cache.get('c')).toBeUndefined();
    now = 1_000;
    expect(cache.get('d')).toBeUndefined();
    cache.set('f', identity(), 0);
    expect(cache.get('f')).toBeUndefined();
  });
});

describe('createVerifier with malformed keys', () => {
  it('answers unauthenticated without asking auth, like any other wrong key', async () => {
    let calls = 0;
    const verifier = createVerifier({
      authUrl: 'http://127.0.0.1:9',
      issuer: 'cyberdevstudio',
      fetch: () => {
        calls += 1;
        return Promise.reject(new Error('auth must not be asked'));
      },
    });
    for (const key of ['', 'short', 'x'.repeat(257)]) {
      await expect(verifier.authenticate({ 'x-cyber-token': key })).rejects.toMatchObject({
        key: 'unauthenticated',
      });
    }
    expect(calls).toBe(0);
    await verifier.close();
  });
});

// The verified-session cache: a session JWT is verified once and then served from the cache, never past its
// `exp`, and a "user" revocation on the real Redis feed refuses that user's cached sessions at once.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isRpcError } from '@cyber/contract';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createVerifier, encodeRevocation, revocationChannel, type Verifier } from '../src/index.js';
import { SessionCache } from '../src/session-cache.js';

const ISSUER = 'cyberdevstudio';
const KID = 'session-cache-test';
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'EdDSA', use: 'sig' }] };
const jwksFetch = (): Promise<Response> =>
  Promise.resolve(new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } }));

/** An EdDSA access JWT as auth issues them. */
function signJwt(key: KeyObject, claims: { sub: string; iat: number; exp: number; role?: string }): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = part({ alg: 'EdDSA', typ: 'JWT', kid: KID });
  const payload = part({ role: 'developer', iss: ISSUER, aud: ISSUER, ...claims });
  const signature = sign(null, Buffer.from(`${header}.${payload}`), key);
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

const verifiers: Verifier[] = [];
function verifierWith(options: {
  clock?: () => number;
  redisUrl?: string;
  createRedis?: () => Redis;
  redisKeyPrefix?: string;
}): Verifier {
  const verifier = createVerifier({
    authUrl: 'http://auth.test.invalid',
    issuer: ISSUER,
    audience: ISSUER,
    fetch: jwksFetch,
    ...options,
  });
  verifiers.push(verifier);
  return verifier;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(verifiers.splice(0).map((verifier) => verifier.close()));
});

describe('SessionCache', () => {
  it('expires entries, drops them by user, and stays within its bound', () => {
    let now = 0;
    const cache = new SessionCache({ maxEntries: 2, now: () => now });
    const session = (userId: string) => ({
      identity: { userId, id: Number(userId), role: 'developer' as const, via: 'session' as const },
      issuedAtMs: 0,
    });
    cache.set('a', session('7'), 1_000);
    cache.set('b', session('8'), 2_000);
    cache.dropUser('7');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')?.identity.userId).toBe('8');
    cache.set('c', session('9'), 1_000);
    cache.set('d', session('9'), 1_000);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    now = 1_000;
    expect(cache.get('c')).toBeUndefined();
    cache.set('e', session('9'), 0);
    expect(cache.get('e')).toBeUndefined();
  });
});

describe('verifier session cache', () => {
  it('verifies a session JWT once and answers repeats from the cache until its TTL', async () => {
    let now = 1_800_000_000_000;
    const verifier = verifierWith({ clock: () => now });
    const verify = vi.spyOn(globalThis.crypto.subtle, 'verify');
    const token = signJwt(privateKey, { sub: '41', iat: now / 1000, exp: now / 1000 + 3600 });
    for (let i = 0; i < 3; i += 1) {
      expect((await verifier.authenticate(bearer(token)))?.userId).toBe('41');
    }
    expect(verify).toHaveBeenCalledTimes(1);
    now += 60_000;
    expect((await verifier.authenticate(bearer(token)))?.userId).toBe('41');
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('never answers from the cache past the token exp', async () => {
    let now = 1_800_000_000_000;
    const verifier = verifierWith({ clock: () => now });
    const token = signJwt(privateKey, { sub: '42', iat: now / 1000, exp: now / 1000 + 5 });
    expect((await verifier.authenticate(bearer(token)))?.userId).toBe('42');
    now += 5_000;
    const refused = await verifier.authenticate(bearer(token)).catch((error: unknown) => error);
    expect(isRpcError(refused, 'unauthenticated')).toBe(true);
  });

  it('does not cache a token with a bad signature', async () => {
    const now = Math.floor(Date.now() / 1000);
    const verifier = verifierWith({});
    const { privateKey: otherKey } = generateKeyPairSync('ed25519');
    const forged = signJwt(otherKey, { sub: '43', iat: now, exp: now + 3600 });
    for (let i = 0; i < 2; i += 1) {
      const refused = await verifier.authenticate(bearer(forged)).catch((error: unknown) => error);
      expect(isRpcError(refused, 'unauthenticated')).toBe(true);
    }
  });

  describe('with the Redis revocation feed', () => {
    const redisUrl = process.env.CYBER_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const prefix = `test-${randomBytes(4).toString('hex')}:`;
    const publisher = new Redis(redisUrl, { lazyConnect: true });
    afterAll(() => {
      publisher.disconnect();
    });

    it("drops a user's cached sessions the moment a user revocation is broadcast", async () => {
      const verifier = verifierWith({ redisUrl, redisKeyPrefix: prefix });
      await verifier.ready();
      const issued = Math.floor(Date.now() / 1000) - 5;
      const revoked = signJwt(privateKey, { sub: '44', iat: issued, exp: issued + 3600 });
      const bystander = signJwt(privateKey, { sub: '45', iat: issued, exp: issued + 3600 });
      expect((await verifier.authenticate(bearer(revoked)))?.userId).toBe('44');
      expect((await verifier.authenticate(bearer(bystander)))?.userId).toBe('45');

      const receivers = await publisher.publish(
        revocationChannel(prefix),
        encodeRevocation({ type: 'user', userId: 44, at: Date.now() }),
      );
      expect(receivers).toBe(1);
      const since = Date.now();
      let outcome: unknown = 'accepted';
      while (outcome === 'accepted' && Date.now() - since < 2_000) {
        outcome = await verifier.authenticate(bearer(revoked)).then(
          () => 'accepted',
          (error: unknown) => error,
        );
        if (outcome === 'accepted') await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(isRpcError(outcome, 'unauthenticated')).toBe(true);
      expect(Date.now() - since).toBeLessThan(1_000);
      // The other user's session is still served from the cache, without a new verification.
      const verify = vi.spyOn(globalThis.crypto.subtle, 'verify');
      expect((await verifier.authenticate(bearer(bystander)))?.userId).toBe('45');
      expect(verify).not.toHaveBeenCalled();

      // A token issued after the revocation (the user logged in again) is accepted.
      const fresh = Math.floor(Date.now() / 1000) + 1;
      const renewed = signJwt(privateKey, { sub: '44', iat: fresh, exp: fresh + 3600 });
      expect((await verifier.authenticate(bearer(renewed)))?.userId).toBe('44');
    });

    it('subscribes on a client from createRedis (already connecting, as an embedded one may be) and ends it on close', async () => {
      const subscriber = new Redis(redisUrl);
      const verifier = verifierWith({ createRedis: () => subscriber, redisKeyPrefix: prefix });
      await verifier.ready();
      const issued = Math.floor(Date.now() / 1000) - 5;
      const token = signJwt(privateKey, { sub: '46', iat: issued, exp: issued + 3600 });
      expect((await verifier.authenticate(bearer(token)))?.userId).toBe('46');
      const receivers = await publisher.publish(
        revocationChannel(prefix),
        encodeRevocation({ type: 'user', userId: 46, at: Date.now() }),
      );
      expect(receivers).toBe(1);
      await expect
        .poll(() => verifier.authenticate(bearer(token)).catch((error: unknown) => error), { timeout: 1_000 })
        .toSatisfy((outcome) => isRpcError(outcome, 'unauthenticated'));
      await verifier.close();
      await expect.poll(() => subscriber.status).toBe('end');
    });
  });
});

// Brute-force protection: failed logins are counted per account and per client address in Redis; over the
// limit the answer is rate_limited (-32007) with retryAfter, before any password is checked.
import { randomBytes } from 'node:crypto';
import { RPC_ERROR_CODES } from '@cyber/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, TestAuth, USER_PASSWORD, type Session } from './auth-harness.js';

const MAX_PER_ACCOUNT = 3;
const MAX_PER_ADDRESS = 5;
const WINDOW_SECONDS = 60;

let t: TestAuth;
let admin: Session;
let addressCounter = 0;
/** A client address no other test uses, so address counters never leak between tests. */
const freshAddress = (): string => `10.0.${Math.floor(++addressCounter / 250)}.${(addressCounter % 250) + 1}`;

beforeAll(async () => {
  t = await TestAuth.create();
  await t.start({
    CYBER_LOGIN_MAX_FAILURES: String(MAX_PER_ACCOUNT),
    CYBER_LOGIN_MAX_FAILURES_PER_ADDRESS: String(MAX_PER_ADDRESS),
    CYBER_LOGIN_WINDOW_SECONDS: String(WINDOW_SECONDS),
  });
  admin = await t.login('admin', ADMIN_PASSWORD);
});

afterAll(async () => {
  await t.close();
});

async function newUser(): Promise<string> {
  return (await t.userWithRole('viewer', admin.accessToken)).user.username;
}

function attempt(username: string, password: string, remoteAddress: string) {
  return t.call('auth.login', { username, password }, { remoteAddress });
}

describe('login rate limit', () => {
  it(`refuses an account after ${MAX_PER_ACCOUNT} failures with rate_limited and retryAfter, even with the right password`, async () => {
    const alice = await newUser();
    for (let i = 0; i < MAX_PER_ACCOUNT; i += 1) {
      const failed = await attempt(alice, 'wrong-password', freshAddress());
      expect(failed.error?.code).toBe(RPC_ERROR_CODES.unauthenticated);
    }
    const limited = await attempt(alice, USER_PASSWORD, freshAddress());
    expect(limited.error?.code).toBe(RPC_ERROR_CODES.rate_limited);
    const retryAfter = limited.error?.data?.retryAfter;
    expect(typeof retryAfter).toBe('number');
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);

    // Another account is unaffected.
    const bob = await newUser();
    expect((await attempt(bob, USER_PASSWORD, freshAddress())).error).toBeUndefined();
  });

  it('counts username and email of one account together, and unknown usernames too', async () => {
    const carol = await newUser();
    const carolRow = await t.ok<{ items: { id: number }[] }>(
      'users.list',
      { query: carol },
      { token: admin.accessToken },
    );
    const carolId = carolRow.items[0]?.id;
    await t.ok(
      'users.update',
      { userId: carolId, email: `${carol}@example.test` },
      { token: admin.accessToken },
    );
    await attempt(carol, 'wrong', freshAddress());
    await attempt(`${carol.toUpperCase()}@EXAMPLE.TEST`, 'wrong', freshAddress());
    await attempt(carol, 'wrong', freshAddress());
    expect((await attempt(`${carol}@example.test`, USER_PASSWORD, freshAddress())).error?.code).toBe(
      RPC_ERROR_CODES.rate_limited,
    );
    for (let i = 0; i < MAX_PER_ACCOUNT; i += 1) await attempt('nobody-here', 'x', freshAddress());
    expect((await attempt('nobody-here', 'x', freshAddress())).error?.code).toBe(
      RPC_ERROR_CODES.rate_limited,
    );
  });

  it('a successful login resets the account counter', async () => {
    const dave = await newUser();
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < MAX_PER_ACCOUNT - 1; i += 1) await attempt(dave, 'wrong', freshAddress());
      expect((await attempt(dave, USER_PASSWORD, freshAddress())).error).toBeUndefined();
    }
  });

  it(`refuses an address after ${MAX_PER_ADDRESS} failures across accounts; other addresses still log in`, async () => {
    const address = freshAddress();
    for (let i = 0; i < MAX_PER_ADDRESS; i += 1) {
      expect((await attempt(`stranger-${i}`, 'wrong', address)).error?.code).toBe(
        RPC_ERROR_CODES.unauthenticated,
      );
    }
    const erin = await newUser();
    const limited = await attempt(erin, USER_PASSWORD, address);
    expect(limited.error?.code).toBe(RPC_ERROR_CODES.rate_limited);
    expect(limited.error?.data?.retryAfter).toBeGreaterThan(0);
    expect((await attempt(erin, USER_PASSWORD, freshAddress())).error).toBeUndefined();
  });

  it('counts logins relayed by the gateway on loopback per forwarded client, not per gateway', async () => {
    const viaGateway = (username: string, password: string, client: string) =>
      t.call(
        'auth.login',
        { username, password },
        { remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': client } },
      );
    const noisy = freshAddress();
    for (let i = 0; i < MAX_PER_ADDRESS; i += 1) await viaGateway(`nobody-${i}`, 'wrong', noisy);
    const grace = await newUser();
    expect((await viaGateway(grace, USER_PASSWORD, noisy)).error?.code).toBe(RPC_ERROR_CODES.rate_limited);
    expect((await viaGateway(grace, USER_PASSWORD, freshAddress())).error).toBeUndefined();
  });

  it('gives unknown users and wrong passwords the same answer', async () => {
    const frank = await newUser();
    const wrongPassword = await attempt(frank, 'wrong', freshAddress());
    const unknownUser = await attempt('no-such-user-at-all', 'wrong', freshAddress());
    expect(unknownUser.error?.code).toBe(wrongPassword.error?.code);
    expect(unknownUser.error?.message).toBe(wrongPassword.error?.message);
  });
});

describe('API key resolution limits', () => {
  const createKey = async (session: Session) =>
    (await t.ok<{ secret: string }>('keys.create', { label: 'limits' }, { token: session.accessToken }))
      .secret;
  const me = (apiKey: string, remoteAddress: string) =>
    t.call('auth.me', undefined, { headers: { 'x-cyber-token': apiKey }, remoteAddress });
  /** A well-formed key that does not exist, under a fresh prefix, so only the address counter grows. */
  const unknownKey = (): string => `cds_${randomBytes(6).toString('hex')}_${'B'.repeat(43)}`;
  /** The same key with another, well-formed secret: finds the key's row, fails the compare. */
  // `cds_` + 12 hex digits + `_`: the secret itself may contain `_`.
  const wrongSecretOf = (apiKey: string): string => `${apiKey.slice(0, 17)}${'A'.repeat(43)}`;

  it(`refuses X-Cyber-Token from an address after ${MAX_PER_ADDRESS} failed keys, with retryAfter; other addresses still pass`, async () => {
    const owner = await t.userWithRole('developer', admin.accessToken);
    const apiKey = await createKey(owner);
    const address = freshAddress();
    for (let i = 0; i < MAX_PER_ADDRESS; i += 1) {
      expect((await me(unknownKey(), address)).error?.code).toBe(RPC_ERROR_CODES.unauthenticated);
    }
    const limited = await me(apiKey, address);
    expect(limited.error?.code).toBe(RPC_ERROR_CODES.rate_limited);
    expect(limited.error?.data?.retryAfter).toBeGreaterThan(0);
    expect((await me(apiKey, freshAddress())).error).toBeUndefined();
  });

  it(`refuses a key after ${MAX_PER_ACCOUNT} wrong secrets for it from any addresses; other keys still pass`, async () => {
    const owner = await t.userWithRole('developer', admin.accessToken);
    const target = await createKey(owner);
    const other = await createKey(owner);
    for (let i = 0; i < MAX_PER_ACCOUNT; i += 1) {
      expect((await me(wrongSecretOf(target), freshAddress())).error?.code).toBe(
        RPC_ERROR_CODES.unauthenticated,
      );
    }
    expect((await me(target, freshAddress())).error?.code).toBe(RPC_ERROR_CODES.rate_limited);
    expect((await me(other, freshAddress())).error).toBeUndefined();
  });

  it('limits auth.introspect per end client address named by the calling service', async () => {
    const owner = await t.userWithRole('developer', admin.accessToken);
    const apiKey = await createKey(owner);
    const client = freshAddress();
    const introspect = (token: string, clientAddress: string) =>
      t.call('auth.introspect', { token, clientAddress }, { remoteAddress: '127.0.0.1' });
    for (let i = 0; i < MAX_PER_ADDRESS; i += 1) {
      expect((await introspect(unknownKey(), client)).result).toEqual({
        active: false,
      });
    }
    expect((await introspect(apiKey, client)).error?.code).toBe(RPC_ERROR_CODES.rate_limited);
    expect((await introspect(apiKey, freshAddress())).result).toMatchObject({ active: true });
  });
});

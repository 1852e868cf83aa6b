// Access tokens and refresh tokens under attack: forged, expired, tampered, or belonging to a gone or disabled
// user are all refused; rotation keeps sessions; a reused refresh token ends its whole family.
import { RPC_ERROR_CODES } from '@cyber/contract';
import { exportSPKI, generateKeyPair, importPKCS8, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, TestAuth, USER_PASSWORD, type Session } from './auth-harness.js';

let t: TestAuth;
let admin: Session;

beforeAll(async () => {
  t = await TestAuth.create();
  await t.start();
  admin = await t.login('admin', ADMIN_PASSWORD);
});

afterAll(async () => {
  await t.close();
});

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function partsOf(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header = '', payload = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

async function meWith(token: string): Promise<number | undefined> {
  const answer = await t.call('auth.me', {}, { token });
  return answer.error?.code;
}

async function activeKey(): Promise<{ kid: string; privatePem: string; publicJwk: JWK }> {
  const row = await t.database.db
    .selectFrom('signing_keys')
    .selectAll()
    .where('retired_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { kid: row.kid, privatePem: row.private_key_pem, publicJwk: row.public_jwk };
}

/** A token signed with the real active key, with claims of our choosing. */
async function signWithRealKey(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const key = await activeKey();
  const now = Math.floor(t.clock.now().getTime() / 1000);
  const { payload } = partsOf(admin.accessToken);
  return new SignJWT({ ...payload, iat: now, nbf: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT', ...header })
    .sign(await importPKCS8(key.privatePem, 'EdDSA'));
}

const UNAUTHENTICATED = RPC_ERROR_CODES.unauthenticated;

describe('access tokens', () => {
  it('accept a fresh token with sub, role, sid, jti, iat, nbf, exp, iss, aud and the kid of the active key', async () => {
    expect(await meWith(admin.accessToken)).toBeUndefined();
    const { header, payload } = partsOf(admin.accessToken);
    expect(header).toMatchObject({ alg: 'EdDSA', kid: (await activeKey()).kid });
    expect(payload).toMatchObject({
      sub: String(admin.user.id),
      role: 'admin',
      iss: 'cyberdevstudio',
      aud: 'cyberdevstudio',
    });
    for (const claim of ['sid', 'jti', 'iat', 'nbf', 'exp']) expect(payload[claim]).toBeDefined();
  });

  it('refuse alg none', async () => {
    const { header, payload } = partsOf(admin.accessToken);
    const forged = `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`;
    expect(await meWith(forged)).toBe(UNAUTHENTICATED);
  });

  it('refuse HS256 signed with the public key (as SPKI PEM, JWK x and JWK JSON)', async () => {
    const key = await activeKey();
    const { payload } = partsOf(admin.accessToken);
    const pem = await exportSPKI((await importJWK(key.publicJwk, 'EdDSA')) as CryptoKey);
    const secrets = [pem, Buffer.from(String(key.publicJwk.x), 'base64url'), JSON.stringify(key.publicJwk)];
    for (const secret of secrets) {
      const signingInput = `${b64({ alg: 'HS256', kid: key.kid, typ: 'JWT' })}.${b64(payload)}`;
      const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
      expect(await meWith(`${signingInput}.${signature}`)).toBe(UNAUTHENTICATED);
    }
  });

  it('refuse an expired token, and say it expired', async () => {
    const token = await signWithRealKey({
      exp: Math.floor(Date.now() / 1000) - 5,
      iat: Math.floor(Date.now() / 1000) - 100,
      nbf: Math.floor(Date.now() / 1000) - 100,
    });
    const answer = await t.call('auth.me', {}, { token });
    expect(answer.error?.code).toBe(UNAUTHENTICATED);
    expect(answer.error?.data?.reason).toBe('expired');
  });

  it('refuse a token once the clock passes its exp', async () => {
    const session = await t.userWithRole('viewer', admin.accessToken);
    expect(await meWith(session.accessToken)).toBeUndefined();
    t.clock.advance(t.config.jwt.accessTtlSeconds * 1000 + 1000);
    try {
      expect(await meWith(session.accessToken)).toBe(UNAUTHENTICATED);
    } finally {
      t.clock.advance(-(t.config.jwt.accessTtlSeconds * 1000 + 1000));
    }
  });

  it('refuse a not-yet-valid token', async () => {
    const later = Math.floor(Date.now() / 1000) + 3600;
    expect(await meWith(await signWithRealKey({ nbf: later, iat: later, exp: later + 300 }))).toBe(
      UNAUTHENTICATED,
    );
  });

  it('refuse a wrong issuer or audience even with a real signature', async () => {
    expect(await meWith(await signWithRealKey({ iss: 'someone-else' }))).toBe(UNAUTHENTICATED);
    expect(await meWith(await signWithRealKey({ aud: 'another-service' }))).toBe(UNAUTHENTICATED);
  });

  it('refuse an unknown kid, and a real kid on a token signed by another key', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const { payload } = partsOf(admin.accessToken);
    const unknown = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid: 'no-such-kid' })
      .sign(privateKey);
    expect(await meWith(unknown)).toBe(UNAUTHENTICATED);
    const impostor = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid: (await activeKey()).kid })
      .sign(privateKey);
    expect(await meWith(impostor)).toBe(UNAUTHENTICATED);
  });

  it('refuse a tampered payload', async () => {
    const viewer = await t.userWithRole('viewer', admin.accessToken);
    const [header, payload, signature] = viewer.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const tampered = `${header}.${b64({ ...claims, role: 'admin', sub: String(admin.user.id) })}.${signature}`;
    expect(await meWith(tampered)).toBe(UNAUTHENTICATED);
    expect((await t.call('users.list', {}, { token: tampered })).error?.code).toBe(UNAUTHENTICATED);
  });

  it('refuse the token of a deleted user', async () => {
    const session = await t.userWithRole('developer', admin.accessToken);
    await t.ok('users.delete', { userId: session.user.id }, { token: admin.accessToken });
    expect(await meWith(session.accessToken)).toBe(UNAUTHENTICATED);
  });

  it('refuse the token and refresh token of a disabled user, and its login', async () => {
    const session = await t.userWithRole('developer', admin.accessToken);
    await t.ok('users.update', { userId: session.user.id, disabled: true }, { token: admin.accessToken });
    expect(await meWith(session.accessToken)).toBe(UNAUTHENTICATED);
    expect((await t.call('auth.refresh', { refreshToken: session.refreshToken })).error?.code).toBe(
      UNAUTHENTICATED,
    );
    const login = await t.call('auth.login', { username: session.user.username, password: USER_PASSWORD });
    expect(login.error).toMatchObject({ code: UNAUTHENTICATED, message: 'Invalid username or password' });
  });

  it('take the role from the database: a demoted admin loses admin methods at once', async () => {
    const other = await t.userWithRole('admin', admin.accessToken);
    expect((await t.call('users.list', {}, { token: other.accessToken })).error).toBeUndefined();
    await t.ok('users.update', { userId: other.user.id, role: 'viewer' }, { token: admin.accessToken });
    expect((await t.call('users.list', {}, { token: other.accessToken })).error?.code).toBe(
      RPC_ERROR_CODES.forbidden,
    );
  });
});

describe('signing key rotation', () => {
  it('signs new tokens with the new key and keeps old tokens valid until the old key leaves the JWKS', async () => {
    const before = await t.userWithRole('viewer', admin.accessToken);
    const oldKid = partsOf(before.accessToken).header.kid;
    await t.app.rotateSigningKey();
    const after = await t.login(before.user.username, USER_PASSWORD);
    const newKid = partsOf(after.accessToken).header.kid;
    expect(newKid).not.toBe(oldKid);
    expect(await meWith(before.accessToken)).toBeUndefined();
    expect(await meWith(after.accessToken)).toBeUndefined();

    const jwks = JSON.parse((await t.app.inject({ url: '/.well-known/jwks.json' })).body) as { keys: JWK[] };
    expect(jwks.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(key.d).toBeUndefined();
    }

    // Past the access TTL plus the reload slack, the old key is gone from the JWKS.
    const skip = t.config.jwt.accessTtlSeconds * 1000 + 120_000;
    t.clock.advance(skip);
    try {
      const later = JSON.parse((await t.app.inject({ url: '/.well-known/jwks.json' })).body) as {
        keys: JWK[];
      };
      expect(later.keys.map((key) => key.kid)).not.toContain(oldKid);
      expect(later.keys.map((key) => key.kid)).toContain(newKid);
    } finally {
      t.clock.advance(-skip);
    }
  });
});

describe('refresh tokens', () => {
  it('rotate: each refresh returns a new token and retires the old one', async () => {
    const session = await t.userWithRole('viewer', admin.accessToken);
    const next = await t.ok<Session>('auth.refresh', { refreshToken: session.refreshToken });
    expect(next.refreshToken).not.toBe(session.refreshToken);
    expect(await meWith(next.accessToken)).toBeUndefined();
    const stored = await t.database.db.selectFrom('refresh_tokens').select('token_hash').execute();
    expect(stored.map((row) => row.token_hash)).not.toContain(next.refreshToken);
  });

  it('reuse of a rotated token revokes the whole family, the newest token and its access token included', async () => {
    const session = await t.userWithRole('viewer', admin.accessToken);
    const second = await t.ok<Session>('auth.refresh', { refreshToken: session.refreshToken });
    const third = await t.ok<Session>('auth.refresh', { refreshToken: second.refreshToken });
    const reuse = await t.call('auth.refresh', { refreshToken: session.refreshToken });
    expect(reuse.error).toMatchObject({ code: UNAUTHENTICATED, data: { reason: 'reused' } });
    expect((await t.call('auth.refresh', { refreshToken: third.refreshToken })).error?.code).toBe(
      UNAUTHENTICATED,
    );
    expect(await meWith(third.accessToken)).toBe(UNAUTHENTICATED);
    // Another session of the same user is untouched.
    const other = await t.login(session.user.username, USER_PASSWORD);
    expect(await meWith(other.accessToken)).toBeUndefined();
  });

  it('logout revokes the session; everywhere revokes every session of the user', async () => {
    const first = await t.userWithRole('viewer', admin.accessToken);
    const second = await t.login(first.user.username, USER_PASSWORD);
    const third = await t.login(first.user.username, USER_PASSWORD);
    expect(await t.ok('auth.logout', { refreshToken: first.refreshToken })).toEqual({ revokedSessions: 1 });
    expect((await t.call('auth.refresh', { refreshToken: first.refreshToken })).error?.code).toBe(
      UNAUTHENTICATED,
    );
    expect(await meWith(first.accessToken)).toBe(UNAUTHENTICATED);
    expect(await meWith(second.accessToken)).toBeUndefined();
    expect(await t.ok('auth.logout', { refreshToken: second.refreshToken, everywhere: true })).toEqual({
      revokedSessions: 2,
    });
    expect(await meWith(third.accessToken)).toBe(UNAUTHENTICATED);
    expect(await t.ok('auth.logout', { refreshToken: 'not-a-token' })).toEqual({ revokedSessions: 0 });
  });

  it('changePassword keeps the current session and revokes the others; the old password stops working', async () => {
    const current = await t.userWithRole('developer', admin.accessToken);
    const other = await t.login(current.user.username, USER_PASSWORD);
    const wrong = await t.call(
      'auth.changePassword',
      { currentPassword: 'not-the-password', newPassword: 'a-brand-new-password' },
      { token: current.accessToken },
    );
    expect(wrong.error?.code).toBe(RPC_ERROR_CODES.forbidden);
    await t.ok(
      'auth.changePassword',
      { currentPassword: USER_PASSWORD, newPassword: 'a-brand-new-password' },
      { token: current.accessToken },
    );
    expect(await meWith(current.accessToken)).toBeUndefined();
    expect(await meWith(other.accessToken)).toBe(UNAUTHENTICATED);
    expect(
      (await t.call('auth.login', { username: current.user.username, password: USER_PASSWORD })).error?.code,
    ).toBe(UNAUTHENTICATED);
    await t.login(current.user.username.toUpperCase(), 'a-brand-new-password');
  });
});

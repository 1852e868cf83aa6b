// Access-token signing and verification with Ed25519 (EdDSA) keys kept in `signing_keys`. The only file that
// imports jose. Verification pins the algorithm and key type, so `alg: none` and HS256 tokens "signed" with the
// public key are refused before any signature check, and checks iss, aud, exp, nbf and the kid.
import { RpcError, type Role } from '@cyber/contract';
import type { JwtConfig } from '@cyber/config';
import type { DB, SigningKey } from '@cyber/db';
import {
  calculateJwkThumbprint,
  errors as joseErrors,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
} from 'jose';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../auth-types.js';
import { ActiveKeyExistsError, SigningKeysRepository } from './signing-keys.repository.js';

const ALG = 'EdDSA';
const CURVE = 'Ed25519';

/**
 * Extra lifetime of a retired key in the JWKS beyond the access TTL. Other auth instances reload the active key
 * at most this often, so a token one of them signs just before noticing a rotation still verifies.
 */
const RELOAD_INTERVAL_MS = 60_000;

/** Claims of an access token, as verified. */
export interface AccessClaims {
  /** User id. */
  userId: number;
  /** Role when the token was issued; informational (the auth service reads the current role from the DB). */
  role: Role;
  /** Refresh-token family (session) the token belongs to. */
  sessionId: string;
  /** Token id. */
  jti: string;
  /** Expiry. */
  expiresAt: Date;
}

/** What {@link SigningKeyStore.sign} needs. */
export interface AccessTokenInput {
  userId: number;
  role: Role;
  sessionId: string;
}

/** A signed access token and when it expires. */
export interface SignedAccessToken {
  token: string;
  expiresAt: Date;
}

/** The public JWK set served at `/.well-known/jwks.json`. */
export interface JwkSet {
  keys: JWK[];
}

interface ActiveKey {
  kid: string;
  privateKey: CryptoKey;
}

interface VerifyKey {
  key: CryptoKey;
  notAfter: Date | null;
}

/** Options of {@link SigningKeyStore}. */
export interface SigningKeyStoreOptions {
  db: Kysely<DB>;
  config: JwtConfig;
  clock: Clock;
}

/** Keeps the signing keys: creates the first, rotates, signs access tokens, verifies them, serves the JWKS. */
export class SigningKeyStore {
  readonly #repository: SigningKeysRepository;
  readonly #config: JwtConfig;
  readonly #clock: Clock;
  #active: ActiveKey | undefined;
  #verifyKeys = new Map<string, VerifyKey>();
  #loadedAt = 0;
  #loading: Promise<void> | undefined;

  constructor(options: SigningKeyStoreOptions) {
    this.#repository = new SigningKeysRepository(options.db);
    this.#config = options.config;
    this.#clock = options.clock;
  }

  /**
   * Makes sure a key is active: creates the first one on an empty table and rotates one older than
   * `signingKeyMaxAgeSeconds`. Called once at start-up.
   */
  async init(): Promise<void> {
    const active = await this.#repository.findActive();
    if (active === undefined) {
      await this.#createActive();
    } else if (
      this.#clock().getTime() - active.created_at.getTime() >
      this.#config.signingKeyMaxAgeSeconds * 1000
    ) {
      await this.rotate();
      return;
    }
    await this.#reload();
  }

  /**
   * Retires the active key and makes a new one sign from now on. Tokens signed with the old key stay valid
   * until they expire: it stays in the JWKS for the access TTL (plus the reload interval).
   */
  async rotate(): Promise<void> {
    const now = this.#clock();
    await this.#repository.retireActive({
      at: now,
      notAfter: new Date(now.getTime() + this.#config.accessTtlSeconds * 1000 + RELOAD_INTERVAL_MS),
    });
    await this.#createActive();
    await this.#reload();
  }

  /** The kid of the key that signs now. */
  async activeKid(): Promise<string> {
    return (await this.#activeKey()).kid;
  }

  /** Signs an access token for `input` with the active key. */
  async sign(input: AccessTokenInput): Promise<SignedAccessToken> {
    const active = await this.#activeKey();
    const now = this.#clock();
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.#config.accessTtlSeconds;
    const token = await new SignJWT({ role: input.role, sid: input.sessionId })
      .setProtectedHeader({ alg: ALG, kid: active.kid, typ: 'JWT' })
      .setSubject(String(input.userId))
      .setIssuer(this.#config.issuer)
      .setAudience(this.#config.audience)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(active.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies an access token; every failure is `unauthenticated` without saying which check failed. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.#keyFor(header), {
        algorithms: [ALG],
        issuer: this.#config.issuer,
        audience: this.#config.audience,
        currentDate: this.#clock(),
        requiredClaims: ['sub', 'exp', 'nbf', 'iat', 'jti', 'sid', 'role'],
      });
      const userId = Number(payload.sub);
      const { role, sid, jti, exp } = payload;
      if (
        !Number.isSafeInteger(userId) ||
        userId <= 0 ||
        String(userId) !== payload.sub ||
        (role !== 'admin' && role !== 'developer' && role !== 'viewer') ||
        typeof sid !== 'string' ||
        typeof jti !== 'string' ||
        exp === undefined
      ) {
        throw new RpcError('unauthenticated', { message: 'Invalid access token' });
      }
      return { userId, role, sessionId: sid, jti, expiresAt: new Date(exp * 1000) };
    } catch (error) {
      if (error instanceof RpcError) throw error;
      if (error instanceof joseErrors.JWTExpired) {
        throw new RpcError('unauthenticated', {
          message: 'Access token expired',
          data: { reason: 'expired' },
        });
      }
      throw new RpcError('unauthenticated', { message: 'Invalid access token' });
    }
  }

  /** Public keys whose tokens may still be valid, each with its kid, alg and `use: sig`. */
  async jwks(): Promise<JwkSet> {
    const rows = await this.#repository.findVerifiable(this.#clock());
    return { keys: rows.map((row) => publicJwkOf(row)) };
  }

  async #keyFor(header: JWTHeaderParameters): Promise<CryptoKey> {
    const kid = header.kid;
    if (typeof kid !== 'string' || header.alg !== ALG) throw new RpcError('unauthenticated');
    let entry = this.#verifyKeys.get(kid);
    // A kid we do not know may come from a rotation by another instance: reload, but at most once a second so
    // a stream of forged kids cannot turn into a stream of queries.
    if (entry === undefined && this.#clock().getTime() - this.#loadedAt > 1000) {
      await this.#reload();
      entry = this.#verifyKeys.get(kid);
    }
    if (entry === undefined) throw new RpcError('unauthenticated');
    if (entry.notAfter !== null && entry.notAfter.getTime() <= this.#clock().getTime()) {
      throw new RpcError('unauthenticated');
    }
    return entry.key;
  }

  async #activeKey(): Promise<ActiveKey> {
    if (this.#active === undefined || this.#clock().getTime() - this.#loadedAt > RELOAD_INTERVAL_MS) {
      await this.#reload();
    }
    if (this.#active === undefined)
      throw new Error('No active signing key: SigningKeyStore.init() was not run');
    return this.#active;
  }

  async #createActive(): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: CURVE, extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    try {
      await this.#repository.insertActive({
        kid,
        alg: ALG,
        public_jwk: JSON.stringify(jwk),
        private_key_pem: await exportPKCS8(privateKey),
      });
    } catch (error) {
      // Another instance started at the same moment and won; use its key.
      if (!(error instanceof ActiveKeyExistsError)) throw error;
    }
  }

  #reload(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const rows = await this.#repository.findVerifiable(this.#clock());
        const verifyKeys = new Map<string, VerifyKey>();
        let active: ActiveKey | undefined;
        for (const row of rows) {
          verifyKeys.set(row.kid, {
            key: (await importJWK(publicJwkOf(row), ALG)) as CryptoKey,
            notAfter: row.not_after,
          });
          if (row.retired_at === null) {
            active = { kid: row.kid, privateKey: await importPKCS8(row.private_key_pem, ALG) };
          }
        }
        this.#verifyKeys = verifyKeys;
        this.#active = active;
        this.#loadedAt = this.#clock().getTime();
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }
}

/** The public JWK of a row, with only public members and its kid, alg and use. */
function publicJwkOf(row: SigningKey): JWK {
  const { kty, crv, x } = row.public_jwk as { kty?: unknown; crv?: unknown; x?: unknown };
  if (typeof kty !== 'string' || typeof crv !== 'string' || typeof x !== 'string') {
    throw new Error(`signing key ${row.kid} has a malformed public JWK`);
  }
  return { kty, crv, x, kid: row.kid, alg: row.alg, use: 'sig' };
}

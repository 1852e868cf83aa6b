// API key lifecycle and resolution. Resolution is on every scripted request, so it is one indexed query by
// prefix plus a constant-time hash compare; the `last_used_at` write is throttled to once a minute per key and
// never awaited by the request.
import { ROLES, RpcError, type ApiKey, type Role } from '@cyber/contract';
import { encodeRevocation, revocationChannel } from '@cyber/auth-client';
import type { ApiKeyRow, DB } from '@cyber/db';
import type { Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import { recordAudit, type AuditActor } from '../audit/index.js';
import type { Clock } from '../auth-types.js';
import { ApiKeyPrefixTakenError, ApiKeyRepository, type KeyOwner } from './api-key.repository.js';
import { generateApiKey, hashSecret, parseApiKey, secretMatches } from './api-key-format.js';

/** How often `last_used_at` is written per key at most. */
export const LAST_USED_INTERVAL_MS = 60_000;

/** What the keys module needs from the app. */
export interface KeysDeps {
  /** The database (repositories only). */
  db: Kysely<DB>;
  /** Redis: the revocation broadcast is published here. */
  redis: Redis;
  /** The installation's Redis key prefix (`cyber:`); the channel is `<prefix>keys:revoked`. */
  redisKeyPrefix: string;
  /** Current time. */
  clock: Clock;
  /** Where background failures (last-used writes, publishes) are reported. */
  logger: { error(obj: object, msg: string): void };
}

/** A key that resolved: its owner and the role it acts with. */
export interface ResolvedApiKey {
  /** The key's id (legacy keys get a stable id derived from the user). */
  keyId: string;
  owner: KeyOwner;
  /** The owner's role lowered to the key's cap. */
  role: Role;
  expiresAt: Date | null;
}

/** The lower of two roles. */
export function minRole(a: Role, b: Role): Role {
  return ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b;
}

/** Maps a row to the contract's ApiKey. */
export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    userId: row.user_id,
    label: row.label,
    prefix: row.prefix,
    roleCap: row.role_cap,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

// Hashed when the prefix is unknown, so an unknown key costs the same work as a wrong secret.
const DUMMY_HASH = hashSecret('cyber-dummy-secret');

/** Options of {@link ApiKeyService.create}. */
export interface CreateKeyOptions {
  owner: KeyOwner;
  label: string;
  roleCap: Role | undefined;
  expiresAt: Date | undefined;
  /** Set when an admin creates a key for someone else: the audit row's actor. */
  auditActor: AuditActor | undefined;
}

/** Options of {@link ApiKeyService.revoke}. */
export interface RevokeKeyOptions {
  keyId: string;
  /** Only a key of this user (non-admin callers); any key when undefined. */
  ownerId: number | undefined;
  /** Set for admins: the revoke is audited. */
  auditActor: AuditActor | undefined;
}

/** API key operations. */
export class ApiKeyService {
  readonly #deps: KeysDeps;
  // keyId -> when this instance last wrote last_used_at; bounded by clearing (a missed throttle costs one write).
  readonly #lastTouched = new Map<string, number>();

  constructor(deps: KeysDeps) {
    this.#deps = deps;
  }

  /** Creates a key; returns the row and the full key, which is shown once and never stored. */
  async create(options: CreateKeyOptions): Promise<{ row: ApiKeyRow; token: string }> {
    const { owner, roleCap } = options;
    if (roleCap !== undefined && minRole(roleCap, owner.role) !== roleCap) {
      throw new RpcError('invalid_params', {
        message: 'roleCap may not be above the owner’s role',
        data: { field: 'roleCap', ownerRole: owner.role },
      });
    }
    const now = this.#deps.clock();
    if (options.expiresAt !== undefined && options.expiresAt <= now) {
      throw new RpcError('invalid_params', {
        message: 'expiresAt must be in the future',
        data: { field: 'expiresAt' },
      });
    }
    for (let attempt = 0; ; attempt++) {
      const generated = generateApiKey();
      try {
        const row = await this.#deps.db.transaction().execute(async (trx) => {
          const keys = new ApiKeyRepository(trx);
          const inserted = await keys.insert({
            user_id: owner.id,
            label: options.label,
            prefix: generated.prefix,
            secret_hash: generated.secretHash,
            role_cap: roleCap ?? null,
            expires_at: options.expiresAt ?? null,
          });
          await keys.syncUserKeyHash(owner.id, now);
          if (options.auditActor) {
            await recordAudit(trx, {
              actor: options.auditActor,
              action: 'key.create',
              targetType: 'key',
              targetId: inserted.id,
              details: { ownerId: owner.id, label: options.label, roleCap: roleCap ?? null },
            });
          }
          return inserted;
        });
        return { row, token: generated.token };
      } catch (error) {
        // 48 random bits: a collision is rare enough that one retry settles it.
        if (error instanceof ApiKeyPrefixTakenError && attempt < 3) continue;
        throw error;
      }
    }
  }

  /** Revokes a key and broadcasts it; `not_found` for an unknown key or someone else's (non-admins). */
  async revoke(options: RevokeKeyOptions): Promise<ApiKeyRow> {
    const now = this.#deps.clock();
    const row = await this.#deps.db.transaction().execute(async (trx) => {
      const keys = new ApiKeyRepository(trx);
      const existing = await keys.findById(options.keyId);
      if (existing === undefined || (options.ownerId !== undefined && existing.user_id !== options.ownerId)) {
        throw new RpcError('not_found', { message: 'No such API key' });
      }
      const revoked = await keys.revoke(existing.id, now);
      if (revoked === undefined) throw new RpcError('not_found', { message: 'No such API key' });
      await keys.syncUserKeyHash(existing.user_id, now);
      if (options.auditActor) {
        await recordAudit(trx, {
          actor: options.auditActor,
          action: 'key.revoke',
          targetType: 'key',
          targetId: existing.id,
          details: { ownerId: existing.user_id, label: existing.label, prefix: existing.prefix },
        });
      }
      return revoked;
    });
    // After the commit: a verifier that refetches on this message must already see the key revoked.
    await this.#publish(encodeRevocation({ type: 'key', keyId: row.id, userId: row.user_id }));
    return row;
  }

  /**
   * Broadcasts that everything cached for a user is stale (disabled, deleted, role changed). For the users
   * module to call after such a change commits.
   */
  async publishUserChanged(userId: number): Promise<void> {
    await this.#publish(encodeRevocation({ type: 'user', userId, at: this.#deps.clock().getTime() }));
  }

  /** Resolves a presented key, or undefined for every kind of refusal alike. */
  async resolve(token: string): Promise<ResolvedApiKey | undefined> {
    const now = this.#deps.clock();
    const keys = new ApiKeyRepository(this.#deps.db);
    const parsed = parseApiKey(token);
    if (parsed === undefined) return this.#resolveLegacy(keys, token);
    const found = await keys.findByPrefixWithOwner(parsed.prefix);
    const matches = secretMatches(parsed.secret, found?.key.secret_hash ?? DUMMY_HASH);
    if (found === undefined || !matches) return undefined;
    const { key, owner } = found;
    if (key.revoked_at !== null || owner.disabled) return undefined;
    if (key.expires_at !== null && key.expires_at <= now) return undefined;
    this.#touch(key.id, now);
    return {
      keyId: key.id,
      owner,
      role: key.role_cap === null ? owner.role : minRole(key.role_cap, owner.role),
      expiresAt: key.expires_at,
    };
  }

  async #resolveLegacy(keys: ApiKeyRepository, token: string): Promise<ResolvedApiKey | undefined> {
    const owner = await keys.findLegacyOwner(hashSecret(token));
    if (owner === undefined || owner.disabled) return undefined;
    return { keyId: legacyKeyId(owner.id), owner, role: owner.role, expiresAt: null };
  }

  #touch(keyId: string, now: Date): void {
    const last = this.#lastTouched.get(keyId);
    if (last !== undefined && now.getTime() - last < LAST_USED_INTERVAL_MS) return;
    if (this.#lastTouched.size > 10_000) this.#lastTouched.clear();
    this.#lastTouched.set(keyId, now.getTime());
    new ApiKeyRepository(this.#deps.db)
      .touchLastUsed(keyId, now, LAST_USED_INTERVAL_MS)
      .catch((error: unknown) =>
        this.#deps.logger.error({ err: error, keyId }, 'keys: last_used_at update failed'),
      );
  }

  async #publish(message: string): Promise<void> {
    const channel = revocationChannel(this.#deps.redisKeyPrefix);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#deps.redis.publish(channel, message);
        return;
      } catch (error) {
        // The change is committed; a lost broadcast only means callers keep it until their cache expires.
        if (attempt >= 3) {
          this.#deps.logger.error({ err: error, channel }, 'keys: revocation broadcast failed');
          return;
        }
      }
    }
  }
}

/** A stable UUID-shaped id for a user's legacy key (it has no api_keys row). */
function legacyKeyId(userId: number): string {
  const hex = hashSecret(`legacy-key:${userId}`);
  const bytes = Buffer.from(hex, 'base64url').subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

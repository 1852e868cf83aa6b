// The service objects buildApp creates once and hands to every module (identity, audit, keys, billing).
import type { AuthConfig } from '@cyber/config';
import type { DB } from '@cyber/db';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { AuthHandlers, AuthIdentity, Clock } from './auth-types.js';
import type { AccountService } from './identity/account.service.js';
import type { SigningKeyStore } from './identity/jwt-keys.js';
import type { FailureLimiter } from './identity/login-limiter.js';
import type { PasswordHasher } from './identity/password-hasher.js';
import type { SessionService } from './identity/session.service.js';

/** Everything a module of the auth service may use. Owned by buildApp; modules never close these. */
export interface AuthServices {
  config: AuthConfig;
  /** The query builder; pass it (or a transaction of it) to repositories only. */
  db: Kysely<DB>;
  redis: Redis;
  logger: FastifyBaseLogger;
  clock: Clock;
  passwords: PasswordHasher;
  signingKeys: SigningKeyStore;
  /** Failed-login counter (scope `login`); the keys module makes its own FailureLimiter with scope `apikey`. */
  loginLimiter: FailureLimiter;
  sessions: SessionService;
  accounts: AccountService;
}

/** What a feature folder (identity, audit, keys, billing) contributes to the app. */
export interface AuthModule {
  /** Handlers of the contract methods it serves. */
  handlers: AuthHandlers;
  /**
   * Resolves an `X-Cyber-Token` to the caller (keys module). Throws `unauthenticated`
   * for an unknown, wrong, expired or revoked key; throws `rate_limited` when resolutions are limited.
   */
  resolveApiKey?: (token: string, address: string) => Promise<AuthIdentity>;
  /** Started once the app is ready (e.g. the usage sink's Kafka consumer). */
  start?: () => Promise<void>;
  /** Stopped in the app's onClose, before the database and Redis close. */
  close?: () => Promise<void>;
}

// buildApp: the auth service as a Fastify instance, the same for the real stack, standalone mode and tests.
// It takes ready resources (database, Redis) and owns them from then on: onClose closes them.
import type { AuthConfig } from '@cyber/config';
import type { Database } from '@cyber/db';
import type { Contract } from '@cyber/contract';
import { rpcServer } from '@cyber/rpc-server';
import {
  createRpcServerMetrics,
  metricsPlugin,
  type Registry,
  type UsageSinkMetrics,
} from '@cyber/telemetry';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Redis } from 'ioredis';
import type { AuthHandlers, AuthIdentity, Clock } from './auth-types.js';
import { billingModule, type UsageConsumerFactory } from './billing/index.js';
import { registerHealthRoutes } from './health.routes.js';
import { AccountService } from './identity/account.service.js';
import { createAuthenticate } from './identity/authenticate.js';
import { bootstrapAdmin, type BootstrapResult } from './identity/bootstrap-admin.js';
import { identityModule } from './identity/index.js';
import { SigningKeyStore } from './identity/jwt-keys.js';
import { FailureLimiter } from './identity/login-limiter.js';
import { PasswordHasher } from './identity/password-hasher.js';
import { SessionService } from './identity/session.service.js';
import { AuthUsersRepository } from './identity/users.repository.js';
import { keysModule } from './keys/index.js';
import type { AuthModule, AuthServices } from './services.js';

/** What the auth service runs on. */
export interface AuthDeps {
  /** Parsed configuration (`loadAuthConfig`). */
  config: AuthConfig;
  /** An open, migrated database. The app closes it on shutdown. */
  database: Database;
  /** A Redis client (ioredis). The app closes it on shutdown. */
  redis: Redis;
  /** Fastify logger option: false (default) for none, or pino options such as `{ level: 'info' }`. */
  logger?: FastifyServerOptions['logger'];
  /**
   * Run the usage sink with the app: true reads Kafka (main.ts), `{ createConsumer }` another source of usage
   * events (standalone mode: the in-process bus). Default false so tests without Kafka need none.
   */
  usageSink?: boolean | { createConsumer: UsageConsumerFactory };
  /**
   * Prometheus metrics, served at GET /metrics: JSON-RPC calls per method, and the usage sink records into
   * `usageSink`. None when absent.
   */
  metrics?: { registry: Registry; usageSink?: UsageSinkMetrics };
  /** Source of the current time; tests pass a controllable clock. */
  clock?: Clock;
  /**
   * Told once when the first start created the bootstrap admin. Default: one log line, which includes the
   * generated password when there is one: the only time it is ever shown.
   */
  onBootstrapAdmin?: (result: Extract<BootstrapResult, { created: true }>) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Makes a new signing key active; the old one stays in the JWKS until its tokens have expired. */
    rotateSigningKey: () => Promise<void>;
  }
}

/** Builds the auth service. Call `ready()` (or `listen()`) to create the first signing key and bootstrap admin. */
export async function buildApp(deps: AuthDeps): Promise<FastifyInstance> {
  const { config, database, redis } = deps;
  const db = database.db;
  const clock = deps.clock ?? (() => new Date());
  const app = Fastify({
    logger: deps.logger ?? false,
    trustProxy: config.trustProxy,
    // /rpc has its own body limit; this only bounds the other routes.
    bodyLimit: 64 * 1024,
  });
  if (deps.metrics) await app.register(metricsPlugin, { registry: deps.metrics.registry });

  const passwords = new PasswordHasher(config.argon2);
  const signingKeys = new SigningKeyStore({ db, config: config.jwt, clock });
  const loginLimiter = new FailureLimiter({
    redis,
    keyPrefix: config.redis.keyPrefix,
    scope: 'login',
    windowSeconds: config.loginRateLimit.windowSeconds,
  });
  const services: AuthServices = {
    config,
    db,
    redis,
    logger: app.log,
    clock,
    passwords,
    signingKeys,
    loginLimiter,
    sessions: new SessionService({ db, config, clock, passwords, signingKeys, loginLimiter }),
    accounts: new AccountService({
      db,
      config,
      clock,
      passwords,
      loginLimiter,
      // Bound below: the keys module is built from these services and broadcasts user changes.
      onUserChanged: (userId) => keys.keys.publishUserChanged(userId),
    }),
  };

  // Modules: identity (auth.*, users.*, audit.*), keys (keys.*, auth.introspect, the API-key resolver, the
  // revocation broadcast) and billing (billing.*, usage.summary, the usage sink).
  const keys = keysModule(services);
  const modules: AuthModule[] = [
    identityModule(services),
    keys,
    billingModule(services, {
      usageSink: deps.usageSink ?? false,
      ...(deps.metrics?.usageSink ? { usageSinkMetrics: deps.metrics.usageSink } : {}),
    }),
  ];
  const handlers: AuthHandlers = Object.assign(
    {},
    ...modules.map((module) => module.handlers),
  ) as AuthHandlers;
  const resolveApiKey = modules.find((module) => module.resolveApiKey !== undefined)?.resolveApiKey;

  await app.register(rpcServer<Contract, AuthIdentity>, {
    handlers,
    authenticate: createAuthenticate({
      signingKeys,
      users: new AuthUsersRepository(db),
      resolveApiKey,
    }),
    ...(deps.metrics ? { onCallEnd: createRpcServerMetrics(deps.metrics.registry).onCallEnd } : {}),
  });
  registerHealthRoutes(app, { db, redis, signingKeys });
  app.decorate('rotateSigningKey', () => signingKeys.rotate());

  app.addHook('onReady', async () => {
    await signingKeys.init();
    const bootstrap = await bootstrapAdmin({ db, config: config.bootstrapAdmin, passwords });
    if (bootstrap.created) {
      if (deps.onBootstrapAdmin) deps.onBootstrapAdmin(bootstrap);
      else announceBootstrap(app, bootstrap);
    }
    for (const module of modules) await module.start?.();
  });

  app.addHook('onClose', async () => {
    // Modules first (they may still write), then the resources they use.
    for (const module of modules.toReversed()) await module.close?.();
    await redis.quit().catch(() => redis.disconnect());
    await database.close();
  });

  return app;
}

function announceBootstrap(app: FastifyInstance, result: Extract<BootstrapResult, { created: true }>): void {
  if (result.generatedPassword === undefined) {
    app.log.warn(
      { username: result.username },
      'bootstrap: created the first admin with the configured password',
    );
    return;
  }
  // The one deliberate exception to "no secrets in logs": nobody could log in otherwise. It is written once,
  // on the start that created the account, and never again.
  app.log.warn(
    { username: result.username },
    `bootstrap: created the first admin "${result.username}" with generated password ${result.generatedPassword} (shown once; change it with auth.changePassword)`,
  );
}

// Liveness, readiness and the JWKS. Plain HTTP routes beside /rpc: probes and JWKS fetchers are not JSON-RPC.
import type { DB } from '@cyber/db';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { HealthRepository } from './health.repository.js';
import type { SigningKeyStore } from './identity/jwt-keys.js';

/** Options of {@link registerHealthRoutes}. */
export interface HealthRoutesOptions {
  db: Kysely<DB>;
  redis: Redis;
  signingKeys: SigningKeyStore;
}

/** How long a readiness dependency may take before it counts as down. */
const READY_TIMEOUT_MS = 2000;

async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `GET /healthz`, `GET /readyz` (PostgreSQL and Redis answer) and `GET /.well-known/jwks.json`. */
export function registerHealthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  app.get('/healthz', () => ({ status: 'ok' }));

  const health = new HealthRepository(options.db);
  app.get('/readyz', async (_request, reply) => {
    const check = async (probe: () => Promise<unknown>): Promise<'ok' | 'down'> => {
      try {
        await within(probe(), READY_TIMEOUT_MS);
        return 'ok';
      } catch {
        return 'down';
      }
    };
    const [database, redis] = await Promise.all([
      check(() => health.ping()),
      check(() => options.redis.ping()),
    ]);
    const ready = database === 'ok' && redis === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', database, redis });
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    // Short cache: verifiers refetch on an unknown kid anyway, and a rotated-out key should leave soon.
    return reply.header('cache-control', 'public, max-age=60').send(await options.signingKeys.jwks());
  });
}

import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadApiConfig, loadAuthConfig, loadLlmConfig, loadStudioUiDevConfig } from './index.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('gives the api gateway the design default ports and loopback', () => {
    const config = loadApiConfig({});
    expect(config.http).toEqual({ host: '127.0.0.1', port: 7401 });
    expect(config.authUrl).toBe('http://127.0.0.1:7402');
    expect(config.llmUrl).toBe('http://127.0.0.1:7403');
    expect(config.prometheusUrl).toBeUndefined();
    expect(config.telemetryPanelsFile).toBeUndefined();
    expect(config.database).toEqual({
      driver: 'pg',
      url: 'postgres://cyber:cyber@127.0.0.1:7432/cyber',
      poolSize: 10,
    });
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:7379', keyPrefix: 'cyber:' });
    expect(config.telemetry).toEqual({
      logLevel: 'info',
      otelEnabled: false,
      otelEndpoint: 'http://127.0.0.1:7418',
    });
    expect(config.sandbox.network).toBe(false);
    expect(config.studioUiDir).toBeUndefined();
  });

  it('gives the agent no default model unless CYBER_AGENT_MODEL names one', () => {
    expect(loadApiConfig({}).agent).toEqual({ defaultModel: undefined, maxTokensPerStep: 512 });
    expect(loadApiConfig({ CYBER_AGENT_MODEL: 'gemma3-270m' }).agent.defaultModel).toBe('gemma3-270m');
  });

  it('gives auth its port, cheap-enough argon2 defaults and the usage topic on Kafka 7092', () => {
    const config = loadAuthConfig({});
    expect(config.http.port).toBe(7402);
    expect(config.argon2).toEqual({ memoryKiB: 19_456, timeCost: 2, parallelism: 1 });
    expect(config.kafka).toEqual({ brokers: ['127.0.0.1:7092'], usageTopic: 'llm.usage' });
    expect(config.bootstrapAdmin).toEqual({ username: 'admin', password: undefined });
  });

  it('gives auth a JWT audience, a key age for rotation, a per-address login limit and no trusted proxy', () => {
    const config = loadAuthConfig({});
    expect(config.jwt.audience).toBe('cyberdevstudio');
    expect(config.jwt.signingKeyMaxAgeSeconds).toBe(7_776_000);
    expect(config.loginRateLimit).toEqual({ maxFailures: 5, maxFailuresPerAddress: 50, windowSeconds: 900 });
    expect(config.trustProxy).toEqual(['127.0.0.1', '::1']);
    expect(loadAuthConfig({ CYBER_AUTH_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadAuthConfig({ CYBER_AUTH_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadAuthConfig({ CYBER_AUTH_TRUST_PROXY: '10.0.0.1, 172.16.0.0/12' }).trustProxy).toEqual([
      '10.0.0.1',
      '172.16.0.0/12',
    ]);
  });

  it('gives llmserver its port, all cores but one, and paths under the data dir', () => {
    const config = loadLlmConfig({});
    expect(config.http.port).toBe(7403);
    expect(config.inference.threads).toBe(Math.max(1, availableParallelism() - 1));
    expect(config.inference.gpu).toBe('auto');
    expect(config.modelsDir).toBe('./.studio/models');
    expect(config.outboxDir).toBe('./.studio/outbox');
  });

  it('gives the studio-ui dev server port 7420 and points it at the gateway', () => {
    expect(loadStudioUiDevConfig({})).toEqual({
      http: { host: '127.0.0.1', port: 7420 },
      apiUrl: 'http://127.0.0.1:7401',
    });
  });

  it('returns only what a service needs', () => {
    expect(Object.keys(loadApiConfig({}))).not.toContain('argon2');
    expect(Object.keys(loadLlmConfig({}))).not.toContain('sandbox');
    expect(Object.keys(loadAuthConfig({}))).not.toContain('inference');
  });

  it('treats an empty variable as unset', () => {
    expect(loadApiConfig({ CYBER_API_PORT: '' }).http.port).toBe(7401);
  });
});

describe('overrides', () => {
  it('reads ports, hosts, URLs and the pool size', () => {
    const config = loadApiConfig({
      CYBER_API_HOST: '0.0.0.0',
      CYBER_API_PORT: '8080',
      CYBER_AUTH_URL: 'https://auth.internal:9000',
      CYBER_DATABASE_URL: 'postgresql://u:p@db:5432/x',
      CYBER_DATABASE_POOL_SIZE: '3',
    });
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.authUrl).toBe('https://auth.internal:9000');
    expect(config.database).toEqual({ driver: 'pg', url: 'postgresql://u:p@db:5432/x', poolSize: 3 });
  });

  it('switches to PGlite under the data dir, or an explicit directory', () => {
    expect(loadAuthConfig({ CYBER_DATABASE_DRIVER: 'pglite' }).database).toEqual({
      driver: 'pglite',
      dataDir: './.studio/pglite',
    });
    expect(
      loadAuthConfig({ CYBER_DATABASE_DRIVER: 'pglite', CYBER_DATA_DIR: '/srv/studio' }).database,
    ).toEqual({ driver: 'pglite', dataDir: '/srv/studio/pglite' });
    expect(loadAuthConfig({ CYBER_DATABASE_DRIVER: 'pglite', CYBER_PGLITE_DIR: '/tmp/pg' }).database).toEqual(
      { driver: 'pglite', dataDir: '/tmp/pg' },
    );
  });

  it('parses the Kafka broker list, trimming spaces', () => {
    expect(loadAuthConfig({ CYBER_KAFKA_BROKERS: 'k1:9092, k2:9093' }).kafka.brokers).toEqual([
      'k1:9092',
      'k2:9093',
    ]);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('parses the boolean %s strictly as %s', (raw, expected) => {
    expect(loadApiConfig({ CYBER_SANDBOX_NETWORK: raw }).sandbox.network).toBe(expected);
  });

  it('names the sandboxes own network, and refuses a name Docker would not take', () => {
    expect(loadApiConfig({}).sandbox.networkName).toBe('cyber-sandbox');
    expect(loadApiConfig({ CYBER_SANDBOX_NETWORK_NAME: 'studio-runs' }).sandbox.networkName).toBe(
      'studio-runs',
    );
    expect(() => loadApiConfig({ CYBER_SANDBOX_NETWORK_NAME: 'bad name' })).toThrow(
      /CYBER_SANDBOX_NETWORK_NAME/,
    );
  });

  it('takes an explicit thread count and the argon2 cost', () => {
    expect(loadLlmConfig({ CYBER_LLM_THREADS: '3' }).inference.threads).toBe(3);
    expect(loadAuthConfig({ CYBER_ARGON2_MEMORY_KIB: '1024', CYBER_ARGON2_TIME_COST: '1' }).argon2).toEqual({
      memoryKiB: 1024,
      timeCost: 1,
      parallelism: 1,
    });
  });
});

describe('errors', () => {
  it('lists every bad variable in one error', () => {
    const error = configError(() =>
      loadAuthConfig({
        CYBER_AUTH_PORT: '70000',
        CYBER_DATABASE_URL: 'mysql://root@localhost/db',
        CYBER_REDIS_URL: 'not a url',
        CYBER_KAFKA_BROKERS: 'k1:9092,k2',
        CYBER_LOG_LEVEL: 'loud',
        CYBER_OTEL_ENABLED: 'yes',
        CYBER_ARGON2_TIME_COST: 'two',
        CYBER_DATABASE_DRIVER: 'sqlite',
      }),
    );
    expect(error.issues.map((issue) => issue.variable)).toEqual([
      'CYBER_ARGON2_TIME_COST',
      'CYBER_AUTH_PORT',
      'CYBER_DATABASE_DRIVER',
      'CYBER_DATABASE_URL',
      'CYBER_KAFKA_BROKERS',
      'CYBER_LOG_LEVEL',
      'CYBER_OTEL_ENABLED',
      'CYBER_REDIS_URL',
    ]);
    expect(error.message).toContain('CYBER_AUTH_PORT: must be a port number (1..65535)');
    expect(error.message).toContain("CYBER_OTEL_ENABLED: must be one of 'true', 'false', '1', '0'");
    expect(error.message).toContain(
      'CYBER_DATABASE_URL: must be an absolute URL (postgres:// or postgresql://)',
    );
  });

  it('never echoes a rejected value, which may be a secret', () => {
    const error = configError(() =>
      loadApiConfig({ CYBER_DATABASE_URL: 'ftp://admin:hunter2@db', CYBER_API_PORT: 's3cret-port' }),
    );
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('s3cret');
    expect(error.issues).toHaveLength(2);
  });

  it.each(['0', '65536', '-1', '80.5', ' 80'])('refuses the port %j', (raw) => {
    expect(configError(() => loadApiConfig({ CYBER_API_PORT: raw })).issues).toEqual([
      { variable: 'CYBER_API_PORT', problem: 'must be a port number (1..65535)' },
    ]);
  });

  it.each(['yes', 'TRUE', 'on', '2'])('refuses the boolean %j', (raw) => {
    expect(configError(() => loadApiConfig({ CYBER_SANDBOX_NETWORK: raw })).issues[0]?.variable).toBe(
      'CYBER_SANDBOX_NETWORK',
    );
  });
});

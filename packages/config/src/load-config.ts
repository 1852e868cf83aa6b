// One loader per service. Each feeds the same environment to every section of its schema in a single zod
// parse, so all problems across all sections come back together as one ConfigError.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { boolean, integer, oneOf, optionalText, text, url, type Env } from './env-values.js';
import {
  DEFAULT_PORTS,
  dataDirSchema,
  databaseSchema,
  httpSchema,
  kafkaSchema,
  redisSchema,
  serviceUrlSchema,
  telemetrySchema,
  type DatabaseConfig,
  type HttpConfig,
  type KafkaConfig,
  type RedisConfig,
  type TelemetryConfig,
} from './shared-config.js';

type Sections = Record<string, z.ZodType<unknown, Record<string, unknown>>>;

/** Parses `env` with every section of `sections` at once; throws one ConfigError listing every bad variable. */
function parseSections<S extends Sections>(
  service: string,
  sections: S,
  env: Env,
): { [K in keyof S]: z.output<S[K]> } {
  const schema = z.object(sections);
  const input = Object.fromEntries(Object.keys(sections).map((key) => [key, env]));
  const result = schema.safeParse(input);
  if (result.success) return result.data as { [K in keyof S]: z.output<S[K]> };
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const issue of result.error.issues) {
    // Paths are [section, VARIABLE, ...]; one line per variable keeps the report readable.
    const variable = String(issue.path[1] ?? issue.path[0] ?? '(environment)');
    if (seen.has(variable)) continue;
    seen.add(variable);
    issues.push({ variable, problem: issue.message });
  }
  throw new ConfigError(service, issues);
}

/** Limits of a sandboxed run (one container per `run.exec`). */
export interface SandboxConfig {
  /** Docker engine socket that dockerode talks to. */
  dockerSocket: string;
  /** Memory limit per run, in MiB. */
  memoryMb: number;
  /** CPU limit per run, in thousandths of a CPU (1000 = one full core). */
  cpuMillis: number;
  /** Most processes a run may have alive at once. */
  pidsLimit: number;
  /** Wall-clock limit per run, in milliseconds. */
  wallTimeMs: number;
  /** Most bytes of stdout plus stderr captured per run; the rest is dropped and flagged as truncated. */
  outputLimitBytes: number;
  /** Whether runs get a network; off by default so untrusted code cannot reach anything. */
  network: boolean;
  /**
   * The Docker network networked runs join: a bridge of the sandboxes' own (created when missing, inter-container
   * traffic off), never one the services or data stores are on.
   */
  networkName: string;
  /** Containers kept started and idle to cut the latency of the next run. */
  warmPoolSize: number;
}

/** Limits on project files (`fs.*`). */
export interface FilesConfig {
  /** Largest single file `fs.write` accepts and `fs.read` returns, in bytes. */
  maxFileBytes: number;
  /** Most bytes the files of one project may take; a write past it is refused with `payload_too_large`. */
  maxProjectBytes: number;
}

/** How the gateway verifies session JWTs that auth issued (same variables as auth's own `jwt` section). */
export interface SessionVerificationConfig {
  /** `iss` required in every access token (`CYBER_JWT_ISSUER`). */
  issuer: string;
  /** `aud` required in every access token (`CYBER_JWT_AUDIENCE`). */
  audience: string;
}

/** JSON-RPC transport limits. */
export interface RpcLimitsConfig {
  /** Largest request body accepted on `POST /rpc` and per WebSocket message, in bytes. */
  bodyLimitBytes: number;
  /** Most calls in one JSON-RPC batch. */
  maxBatchLength: number;
}

/** Everything the api gateway needs. */
export interface ApiConfig {
  /** Where the gateway listens. */
  http: HttpConfig;
  /** Base URL of the auth service, where `auth.*`, `users.*`, `keys.*`, `billing.*`, `audit.*` are forwarded. */
  authUrl: string;
  /** Base URL of llmserver, where `llm.*` and `models.*` are forwarded. */
  llmUrl: string;
  /**
   * Base URL of Prometheus (`CYBER_PROMETHEUS_URL`), queried for the admin dashboard's telemetry. Unset by
   * default: the api then scrapes the services' own `/metrics` instead.
   */
  prometheusUrl: string | undefined;
  /** The PromQL of the telemetry panels (`CYBER_TELEMETRY_PANELS_FILE`); `metrics/panels.json` by default. */
  telemetryPanelsFile: string | undefined;
  /** Root directory for everything stored on disk; projects live in `<dataDir>/projects`. */
  dataDir: string;
  /** Directory of the built studio-ui to serve; when absent the gateway serves only the API. */
  studioUiDir: string | undefined;
  /** The coding agent. */
  agent: AgentConfig;
  /** JSON-RPC limits. */
  rpc: RpcLimitsConfig;
  /** Project file limits. */
  files: FilesConfig;
  /** Session token verification. */
  sessions: SessionVerificationConfig;
  /** Sandbox limits. */
  sandbox: SandboxConfig;
  /** The database (projects and files metadata). */
  database: DatabaseConfig;
  /** Redis (introspection cache invalidation, rate limits). */
  redis: RedisConfig;
  /** Logging and telemetry. */
  telemetry: TelemetryConfig;
}

/** The coding agent's settings. */
export interface AgentConfig {
  /** Model of a new agent session that names none; without one, agent.chat needs `model`. */
  defaultModel: string | undefined;
  /** Most tokens the model generates per agent step. */
  maxTokensPerStep: number;
}

/** `CYBER_RPC_BODY_LIMIT_BYTES`, `CYBER_RPC_MAX_BATCH`: JSON-RPC transport limits of a service. */
const rpcLimitsSchema = z
  .object({
    CYBER_RPC_BODY_LIMIT_BYTES: integer({ default: 1_048_576, min: 1024, max: 104_857_600 }),
    CYBER_RPC_MAX_BATCH: integer({ default: 50, min: 1, max: 10_000 }),
  })
  .transform((env): RpcLimitsConfig => ({
    bodyLimitBytes: env.CYBER_RPC_BODY_LIMIT_BYTES,
    maxBatchLength: env.CYBER_RPC_MAX_BATCH,
  }));

/** `CYBER_JWT_ISSUER`, `CYBER_JWT_AUDIENCE`: what a service requires of session JWTs. */
const sessionsSchema = z
  .object({ CYBER_JWT_ISSUER: text('cyberdevstudio'), CYBER_JWT_AUDIENCE: text('cyberdevstudio') })
  .transform((env): SessionVerificationConfig => ({
    issuer: env.CYBER_JWT_ISSUER,
    audience: env.CYBER_JWT_AUDIENCE,
  }));

const apiSections = {
  http: httpSchema('API', DEFAULT_PORTS.api),
  authUrl: serviceUrlSchema('CYBER_AUTH_URL', DEFAULT_PORTS.auth),
  llmUrl: serviceUrlSchema('CYBER_LLM_URL', DEFAULT_PORTS.llmserver),
  prometheusUrl: z
    .object({ CYBER_PROMETHEUS_URL: url({ protocols: ['http', 'https'] }) })
    .transform((env): string | undefined => env.CYBER_PROMETHEUS_URL),
  telemetryPanelsFile: z
    .object({ CYBER_TELEMETRY_PANELS_FILE: optionalText() })
    .transform((env): string | undefined => env.CYBER_TELEMETRY_PANELS_FILE),
  dataDir: dataDirSchema,
  studioUiDir: z
    .object({ CYBER_STUDIO_UI_DIR: optionalText() })
    .transform((env): string | undefined => env.CYBER_STUDIO_UI_DIR),
  agent: z
    .object({
      CYBER_AGENT_MODEL: optionalText(),
      CYBER_AGENT_MAX_TOKENS_PER_STEP: integer({ default: 512, min: 16, max: 131_072 }),
    })
    .transform((env): AgentConfig => ({
      defaultModel: env.CYBER_AGENT_MODEL,
      maxTokensPerStep: env.CYBER_AGENT_MAX_TOKENS_PER_STEP,
    })),
  rpc: rpcLimitsSchema,
  files: z
    .object({
      CYBER_FS_MAX_FILE_BYTES: integer({ default: 10_485_760, min: 1024, max: 1_073_741_824 }),
      CYBER_FS_MAX_PROJECT_BYTES: integer({ default: 1_073_741_824, min: 1024, max: 1_099_511_627_776 }),
    })
    .transform((env): FilesConfig => ({
      maxFileBytes: env.CYBER_FS_MAX_FILE_BYTES,
      maxProjectBytes: env.CYBER_FS_MAX_PROJECT_BYTES,
    })),
  sessions: sessionsSchema,
  sandbox: z
    .object({
      CYBER_DOCKER_SOCKET: text('/var/run/docker.sock'),
      CYBER_SANDBOX_MEMORY_MB: integer({ default: 512, min: 16, max: 1_048_576 }),
      CYBER_SANDBOX_CPU_MILLIS: integer({ default: 1000, min: 10, max: 1_024_000 }),
      CYBER_SANDBOX_PIDS: integer({ default: 128, min: 1, max: 1_000_000 }),
      CYBER_SANDBOX_TIMEOUT_MS: integer({ default: 30_000, min: 100, max: 86_400_000 }),
      CYBER_SANDBOX_OUTPUT_LIMIT_BYTES: integer({ default: 1_048_576, min: 1024, max: 1_073_741_824 }),
      CYBER_SANDBOX_NETWORK: boolean(false),
      CYBER_SANDBOX_NETWORK_NAME: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a Docker network name')
        .default('cyber-sandbox'),
      CYBER_SANDBOX_WARM_POOL: integer({ default: 1, min: 0, max: 64 }),
    })
    .transform((env): SandboxConfig => ({
      dockerSocket: env.CYBER_DOCKER_SOCKET,
      memoryMb: env.CYBER_SANDBOX_MEMORY_MB,
      cpuMillis: env.CYBER_SANDBOX_CPU_MILLIS,
      pidsLimit: env.CYBER_SANDBOX_PIDS,
      wallTimeMs: env.CYBER_SANDBOX_TIMEOUT_MS,
      outputLimitBytes: env.CYBER_SANDBOX_OUTPUT_LIMIT_BYTES,
      network: env.CYBER_SANDBOX_NETWORK,
      networkName: env.CYBER_SANDBOX_NETWORK_NAME,
      warmPoolSize: env.CYBER_SANDBOX_WARM_POOL,
    })),
  database: databaseSchema,
  redis: redisSchema,
  telemetry: telemetrySchema,
};

/** Parses the api gateway's configuration from `env` (main.ts passes `process.env`). Throws ConfigError. */
export function loadApiConfig(env: Env): ApiConfig {
  return parseSections('api', apiSections, env);
}

/** argon2id cost parameters for password hashing. */
export interface Argon2Config {
  /** Memory cost in KiB (19456 = 19 MiB, OWASP's minimum for argon2id; about 0.2 s per hash here). */
  memoryKiB: number;
  /** Iterations. */
  timeCost: number;
  /** Lanes. */
  parallelism: number;
}

/** Session tokens. */
export interface JwtConfig {
  /** `iss` claim written into and required from every token. */
  issuer: string;
  /** Lifetime of an access JWT, in seconds. */
  accessTtlSeconds: number;
  /** Lifetime of a refresh token, in seconds. */
  refreshTtlSeconds: number;
  /** `aud` claim written into and required from every access token. */
  audience: string;
  /**
   * Age after which the signing key is rotated at start-up, in seconds. The old key stays in the JWKS until the
   * tokens it signed have expired, so nobody is logged out.
   */
  signingKeyMaxAgeSeconds: number;
}

/** The first admin, created on first start with an empty database. */
export interface BootstrapAdminConfig {
  /** Username of the first admin. */
  username: string;
  /** Its password; when absent one is generated and printed once. A secret: never log it. */
  password: string | undefined;
}

/** Brute-force protection. */
export interface LoginRateLimitConfig {
  /** Failed attempts allowed per account within the window. */
  maxFailures: number;
  /**
   * Failed attempts allowed per client address within the window, across all accounts. Higher than the
   * per-account limit because many users may share one address (an office NAT).
   */
  maxFailuresPerAddress: number;
  /** Window length, in seconds. */
  windowSeconds: number;
}

/** The usage sink that turns `llm.usage` events into `tokens_used` rows. */
export interface UsageSinkConfig {
  /** Kafka consumer group of the sink. */
  consumerGroup: string;
  /** Most events written in one database transaction. */
  maxBatchSize: number;
}

/** Everything the auth service needs. */
export interface AuthConfig {
  /** Where the auth service listens. */
  http: HttpConfig;
  /**
   * Which proxies may set `X-Forwarded-For` (Fastify's `trustProxy`): a list of addresses or CIDRs, true for
   * any, false for none. Default loopback (`127.0.0.1`, `::1`), where the api gateway runs by default: without it
   * every login through the gateway would share one address, and one client's failures would lock out all.
   */
  trustProxy: boolean | string[];
  /** Root directory for everything stored on disk; signing keys live in `<dataDir>/auth`. */
  dataDir: string;
  /** Password hashing cost. */
  argon2: Argon2Config;
  /** Session tokens. */
  jwt: JwtConfig;
  /** The first admin. */
  bootstrapAdmin: BootstrapAdminConfig;
  /** Failed-login limits. */
  loginRateLimit: LoginRateLimitConfig;
  /** Usage sink. */
  usageSink: UsageSinkConfig;
  /** The database (users, keys, ledger, audit). */
  database: DatabaseConfig;
  /** Redis (balance cache, rate limits, revocation broadcasts). */
  redis: RedisConfig;
  /** Kafka (the `llm.usage` topic). */
  kafka: KafkaConfig;
  /** Logging and telemetry. */
  telemetry: TelemetryConfig;
}

/** The default trusted proxies of auth: the gateway on the same host. */
const LOOPBACK_PROXIES = ['127.0.0.1', '::1'] as const;

const authSections = {
  http: httpSchema('AUTH', DEFAULT_PORTS.auth),
  trustProxy: z.object({ CYBER_AUTH_TRUST_PROXY: optionalText() }).transform((env): boolean | string[] => {
    const value = env.CYBER_AUTH_TRUST_PROXY?.trim();
    if (value === undefined) return [...LOOPBACK_PROXIES];
    if (value === 'false' || value === '0') return false;
    if (value === 'true' || value === '1') return true;
    return value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
  }),
  dataDir: dataDirSchema,
  argon2: z
    .object({
      CYBER_ARGON2_MEMORY_KIB: integer({ default: 19_456, min: 8, max: 4_194_304 }),
      CYBER_ARGON2_TIME_COST: integer({ default: 2, min: 1, max: 100 }),
      CYBER_ARGON2_PARALLELISM: integer({ default: 1, min: 1, max: 64 }),
    })
    .transform((env): Argon2Config => ({
      memoryKiB: env.CYBER_ARGON2_MEMORY_KIB,
      timeCost: env.CYBER_ARGON2_TIME_COST,
      parallelism: env.CYBER_ARGON2_PARALLELISM,
    })),
  jwt: z
    .object({
      CYBER_JWT_ISSUER: text('cyberdevstudio'),
      CYBER_JWT_ACCESS_TTL_SECONDS: integer({ default: 900, min: 10, max: 86_400 }),
      CYBER_JWT_REFRESH_TTL_SECONDS: integer({ default: 2_592_000, min: 60, max: 31_536_000 }),
      CYBER_JWT_AUDIENCE: text('cyberdevstudio'),
      CYBER_JWT_KEY_MAX_AGE_SECONDS: integer({ default: 7_776_000, min: 3600, max: 315_360_000 }),
    })
    .transform((env): JwtConfig => ({
      issuer: env.CYBER_JWT_ISSUER,
      accessTtlSeconds: env.CYBER_JWT_ACCESS_TTL_SECONDS,
      refreshTtlSeconds: env.CYBER_JWT_REFRESH_TTL_SECONDS,
      audience: env.CYBER_JWT_AUDIENCE,
      signingKeyMaxAgeSeconds: env.CYBER_JWT_KEY_MAX_AGE_SECONDS,
    })),
  bootstrapAdmin: z
    .object({
      CYBER_BOOTSTRAP_ADMIN_USERNAME: text('admin'),
      CYBER_BOOTSTRAP_ADMIN_PASSWORD: optionalText(),
    })
    .transform((env): BootstrapAdminConfig => ({
      username: env.CYBER_BOOTSTRAP_ADMIN_USERNAME,
      password: env.CYBER_BOOTSTRAP_ADMIN_PASSWORD,
    })),
  loginRateLimit: z
    .object({
      CYBER_LOGIN_MAX_FAILURES: integer({ default: 5, min: 1, max: 10_000 }),
      CYBER_LOGIN_WINDOW_SECONDS: integer({ default: 900, min: 1, max: 86_400 }),
      CYBER_LOGIN_MAX_FAILURES_PER_ADDRESS: integer({ default: 50, min: 1, max: 1_000_000 }),
    })
    .transform((env): LoginRateLimitConfig => ({
      maxFailures: env.CYBER_LOGIN_MAX_FAILURES,
      maxFailuresPerAddress: env.CYBER_LOGIN_MAX_FAILURES_PER_ADDRESS,
      windowSeconds: env.CYBER_LOGIN_WINDOW_SECONDS,
    })),
  usageSink: z
    .object({
      CYBER_USAGE_SINK_GROUP: text('cyber-auth-usage-sink'),
      // 5,000 events per transaction books ~14,500 events/s here, 1,000 only ~9,100 (docs/benchmarks.md).
      CYBER_USAGE_SINK_BATCH: integer({ default: 5000, min: 1, max: 100_000 }),
    })
    .transform((env): UsageSinkConfig => ({
      consumerGroup: env.CYBER_USAGE_SINK_GROUP,
      maxBatchSize: env.CYBER_USAGE_SINK_BATCH,
    })),
  database: databaseSchema,
  redis: redisSchema,
  kafka: kafkaSchema,
  telemetry: telemetrySchema,
};

/** Parses the auth service's configuration from `env` (main.ts passes `process.env`). Throws ConfigError. */
export function loadAuthConfig(env: Env): AuthConfig {
  return parseSections('auth', authSections, env);
}

/**
 * Threads per generation when `CYBER_LLM_THREADS` is unset: all cores but one (at least 1). node-llama-cpp's
 * own default (at least 4) oversubscribes small machines and generation collapses (~1 token/s on 2 cores).
 */
export function defaultLlmThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** GPU backends node-llama-cpp can use; `false` forces the CPU build. */
export const LLM_GPU_MODES = ['auto', 'cuda', 'vulkan', 'metal', 'false'] as const;

/** Inference settings. */
export interface InferenceConfig {
  /** CPU threads per generation. node-llama-cpp's own default oversubscribes small machines, so default to all cores but one. */
  threads: number;
  /** GPU backend, or `'false'` for CPU only. */
  gpu: (typeof LLM_GPU_MODES)[number];
  /** Concurrent generations one user may have; further requests wait in the fair queue. */
  maxConcurrentPerUser: number;
  /** Requests per minute one user may start. */
  requestsPerMinute: number;
  /** Tokens (prompt plus completion) per minute one user may consume. */
  tokensPerMinute: number;
}

/** Everything llmserver needs. */
export interface LlmConfig {
  /** Where llmserver listens. */
  http: HttpConfig;
  /** Base URL of the auth service, for API-key introspection and its JWKS. */
  authUrl: string;
  /** Root directory for everything stored on disk. */
  dataDir: string;
  /** Directory holding GGUF model files (`<dataDir>/models` by default). */
  modelsDir: string;
  /** Directory of the durable usage-event outbox used while Kafka is unreachable (`<dataDir>/outbox`). */
  outboxDir: string;
  /** Inference settings. */
  inference: InferenceConfig;
  /** The database (models registry). */
  database: DatabaseConfig;
  /** Redis (reservations, balance cache, rate limits). */
  redis: RedisConfig;
  /** Kafka (the `llm.usage` topic). */
  kafka: KafkaConfig;
  /** Logging and telemetry. */
  telemetry: TelemetryConfig;
  /** JSON-RPC transport limits. */
  rpc: RpcLimitsConfig;
  /** What session JWTs must carry. */
  sessions: SessionVerificationConfig;
}

const llmSections = {
  http: httpSchema('LLM', DEFAULT_PORTS.llmserver),
  authUrl: serviceUrlSchema('CYBER_AUTH_URL', DEFAULT_PORTS.auth),
  paths: z
    .object({
      CYBER_DATA_DIR: text('./.studio'),
      CYBER_MODELS_DIR: text(''),
      CYBER_OUTBOX_DIR: text(''),
    })
    .transform((env) => ({
      dataDir: env.CYBER_DATA_DIR,
      modelsDir: env.CYBER_MODELS_DIR || `${env.CYBER_DATA_DIR}/models`,
      outboxDir: env.CYBER_OUTBOX_DIR || `${env.CYBER_DATA_DIR}/outbox`,
    })),
  inference: z
    .object({
      CYBER_LLM_THREADS: integer({ default: 0, min: 0, max: 1024 }),
      CYBER_LLM_GPU: oneOf(LLM_GPU_MODES, 'auto'),
      CYBER_LLM_MAX_CONCURRENT_PER_USER: integer({ default: 2, min: 1, max: 1024 }),
      CYBER_LLM_REQUESTS_PER_MINUTE: integer({ default: 60, min: 1, max: 1_000_000 }),
      CYBER_LLM_TOKENS_PER_MINUTE: integer({ default: 100_000, min: 1, max: 1_000_000_000 }),
    })
    .transform((env): InferenceConfig => ({
      // 0 (the default) means "choose for this machine"; evaluated at parse time, never at import.
      threads: env.CYBER_LLM_THREADS || defaultLlmThreads(),
      gpu: env.CYBER_LLM_GPU,
      maxConcurrentPerUser: env.CYBER_LLM_MAX_CONCURRENT_PER_USER,
      requestsPerMinute: env.CYBER_LLM_REQUESTS_PER_MINUTE,
      tokensPerMinute: env.CYBER_LLM_TOKENS_PER_MINUTE,
    })),
  database: databaseSchema,
  redis: redisSchema,
  kafka: kafkaSchema,
  telemetry: telemetrySchema,
  rpc: rpcLimitsSchema,
  sessions: sessionsSchema,
};

/** Parses llmserver's configuration from `env` (main.ts passes `process.env`). Throws ConfigError. */
export function loadLlmConfig(env: Env): LlmConfig {
  const { paths, ...rest } = parseSections('llmserver', llmSections, env);
  return { ...rest, ...paths };
}

/** What the studio-ui dev server (Vite) needs. */
export interface StudioUiDevConfig {
  /** Where the dev server listens. */
  http: HttpConfig;
  /** The api gateway the dev server proxies `/rpc` to. */
  apiUrl: string;
}

const studioUiSections = {
  http: httpSchema('STUDIO_UI', DEFAULT_PORTS.studioUiDev),
  apiUrl: serviceUrlSchema('CYBER_API_URL', DEFAULT_PORTS.api),
};

/** Parses the studio-ui dev server's configuration from `env` (vite.config passes `process.env`). */
export function loadStudioUiDevConfig(env: Env): StudioUiDevConfig {
  return parseSections('studio-ui', studioUiSections, env);
}

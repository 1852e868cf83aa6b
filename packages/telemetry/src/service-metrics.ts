// The domain metrics of each service, created on the service's registry and handed to its buildApp, so tests
// get isolated registries and nothing is global. Names follow Prometheus conventions: units in the name,
// `_total` counters, and no user ids in labels (model names, verdicts and languages are bounded sets).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What llmserver records. */
export interface LlmMetrics {
  /** `llm_prompt_tokens_total{model}`: prompt tokens billed. */
  promptTokens: Counter<'model'>;
  /** `llm_completion_tokens_total{model}`: tokens generated. */
  completionTokens: Counter<'model'>;
  /** `llm_time_to_first_token_seconds{model}`: from the request to the first generated token. */
  timeToFirstToken: Histogram<'model'>;
  /** `llm_budget_denials_total{reason}`: requests refused for budget or rate (reason: the RpcError key). */
  budgetDenials: Counter<'reason'>;
  /** `llm_reservations_open`: reservations held right now. */
  reservationsOpen: Gauge;
  /** `llm_queue_waiting_requests`: requests waiting for a model sequence right now, all models together. */
  queueWaiting: Gauge;
  /** `llm_model_load_duration_seconds{model}`: time to load a model. */
  modelLoadDuration: Histogram<'model'>;
  /** `llm_model_memory_bytes{model}`: estimated memory of each loaded model. */
  modelMemory: Gauge<'model'>;
  /** `llm_models_disk_available_bytes`: free space where models are stored. */
  modelsDiskAvailable: Gauge;
  /** `usage_events_published_total`: usage events Kafka acknowledged. */
  usageEventsPublished: Counter;
  /** `usage_outbox_events{state}`: events in the outbox (pending: not yet published; unbooked: not yet booked). */
  outboxEvents: Gauge<'state'>;
}

/** Creates llmserver's metrics on `registry`. */
export function createLlmMetrics(registry: Registry): LlmMetrics {
  const registers = [registry];
  return {
    promptTokens: new Counter({
      name: 'llm_prompt_tokens_total',
      help: 'Prompt tokens billed, by model.',
      labelNames: ['model'] as const,
      registers,
    }),
    completionTokens: new Counter({
      name: 'llm_completion_tokens_total',
      help: 'Tokens generated, by model.',
      labelNames: ['model'] as const,
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: 'llm_time_to_first_token_seconds',
      help: 'Time from the request to its first generated token, by model.',
      labelNames: ['model'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    }),
    budgetDenials: new Counter({
      name: 'llm_budget_denials_total',
      help: 'Requests refused by the budget or a rate limit, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    reservationsOpen: new Gauge({
      name: 'llm_reservations_open',
      help: 'Budget reservations held right now (requests between reserve and settle).',
      registers,
    }),
    queueWaiting: new Gauge({
      name: 'llm_queue_waiting_requests',
      help: 'Requests waiting for a model sequence right now (the fair queue), all models together.',
      registers,
    }),
    modelLoadDuration: new Histogram({
      name: 'llm_model_load_duration_seconds',
      help: 'Time to load a model, by model.',
      labelNames: ['model'] as const,
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    modelMemory: new Gauge({
      name: 'llm_model_memory_bytes',
      help: 'Estimated memory of each loaded model.',
      labelNames: ['model'] as const,
      registers,
    }),
    modelsDiskAvailable: new Gauge({
      name: 'llm_models_disk_available_bytes',
      help: 'Free disk space in the models directory.',
      registers,
    }),
    usageEventsPublished: new Counter({
      name: 'usage_events_published_total',
      help: 'Usage events published to Kafka and acknowledged.',
      registers,
    }),
    outboxEvents: new Gauge({
      name: 'usage_outbox_events',
      help: 'Usage events in the durable outbox: pending (not yet published) and unbooked (not yet in tokens_used).',
      labelNames: ['state'] as const,
      registers,
    }),
  };
}

/** What the gateway's sandbox records. */
export interface SandboxMetrics {
  /** `sandbox_runs_total{verdict,language}`. */
  runs: Counter<'verdict' | 'language'>;
  /** `sandbox_run_duration_seconds{language,path}`: whole runs, cold or warm. */
  runDuration: Histogram<'language' | 'path'>;
  /** `sandbox_container_start_duration_seconds{language}`: create and start of one container. */
  containerStart: Histogram<'language'>;
  /** `sandbox_warm_pool_containers`: idle warm containers. */
  warmPool: Gauge;
}

/** Creates the sandbox metrics on `registry`. */
export function createSandboxMetrics(registry: Registry): SandboxMetrics {
  const registers = [registry];
  return {
    runs: new Counter({
      name: 'sandbox_runs_total',
      help: 'Sandbox runs finished, by verdict and language.',
      labelNames: ['verdict', 'language'] as const,
      registers,
    }),
    runDuration: new Histogram({
      name: 'sandbox_run_duration_seconds',
      help: 'Duration of sandbox runs, by language and path (cold or warm).',
      labelNames: ['language', 'path'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    containerStart: new Histogram({
      name: 'sandbox_container_start_duration_seconds',
      help: 'Time to create and start one sandbox container, by language.',
      labelNames: ['language'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    }),
    warmPool: new Gauge({
      name: 'sandbox_warm_pool_containers',
      help: 'Idle warm sandbox containers.',
      registers,
    }),
  };
}

/** What auth's usage sink records. */
export interface UsageSinkMetrics {
  /** `usage_events_consumed_total{outcome}`: booked, duplicate (already booked) or dead_letter. */
  consumed: Counter<'outcome'>;
  /** `usage_consumer_lag_seconds`: age of the newest event booked, at the time it was booked. */
  lag: Gauge;
  /**
   * `usage_consumer_lag_messages`: events on the topic the sink's group has not committed yet (sum over
   * partitions of high watermark minus committed offset). Unlike the age, it grows while the sink books nothing.
   */
  lagMessages: Gauge;
}

/** Creates the usage sink metrics on `registry`. */
export function createUsageSinkMetrics(registry: Registry): UsageSinkMetrics {
  const registers = [registry];
  return {
    consumed: new Counter({
      name: 'usage_events_consumed_total',
      help: 'Usage events consumed from Kafka, by outcome (booked, duplicate, dead_letter).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    lag: new Gauge({
      name: 'usage_consumer_lag_seconds',
      help: 'How old the newest usage event was when the sink booked it.',
      registers,
    }),
    lagMessages: new Gauge({
      name: 'usage_consumer_lag_messages',
      help: "Usage events not yet committed by the sink's consumer group (high watermark minus committed offset, summed over partitions).",
      registers,
    }),
  };
}

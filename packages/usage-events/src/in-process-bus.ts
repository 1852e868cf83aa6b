// The Kafka role of the standalone studio (`pnpm studio`): the same UsageProducer, UsageConsumer and UsageAdmin
// interfaces over an in-memory log, for services running in one process. Per topic one ordered log (one
// partition, 0); per consumer group a committed offset per topic. A group's consumers take turns as Kafka's
// would with one partition: the first started reads, the others wait and take over, from the last committed
// offset, when it stops. The consumer gives the same guarantees as the Kafka one: a chunk is committed only
// after its handler resolved, a failed chunk is offered again after a backoff (nothing skipped), a new group
// starts at the oldest event, invalid messages are reported in the batch (never retried on their own),
// stop() finishes and commits the chunk in hand, and `onLag` is told the group's lag as Kafka's is.
//
// The log lives in memory and is gone when the process exits; that is safe because of the usage outbox
// (usage-outbox.ts), which keeps every event on disk until the ledger (tokens_used) confirms it booked
// (`isBooked`). The outbox does NOT publish again on its own what it had published before a restart: with this
// bus, open it with `resendUnbookedOnOpen: true`, so the events the lost log still held go to the new one.
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '@cyber/contract';
import type { UsageAdmin } from './usage-admin.js';
import {
  retryBackoffMs,
  toUsageBatch,
  type LogMessage,
  type UsageBatch,
  type UsageBatchConsumerOptions,
  type UsageConsumer,
} from './usage-batch.js';
import { encodeUsageEvent, USAGE_TOPIC } from './usage-event.js';
import type { UsageProducer } from './usage-producer.js';

/** Options of {@link InProcessUsageBus.producer}. */
export interface InProcessProducerOptions {
  /** Topic to write to; {@link USAGE_TOPIC} when absent. */
  topic?: string;
}

/** An in-process stand-in for the Kafka cluster of the usage stream. */
export interface InProcessUsageBus {
  /** A producer of this bus; like Kafka's, `connect()` it before `send()`. */
  producer(options?: InProcessProducerOptions): UsageProducer;
  /**
   * A consumer of this bus, with the delivery guarantees of `createUsageConsumer`. Takes the Kafka consumer's
   * options too (a `UsageConsumerOptions` is a {@link UsageBatchConsumerOptions}); their connection and
   * group settings mean nothing here and are ignored.
   */
  consumer(options: UsageBatchConsumerOptions): UsageConsumer;
  /** Topic and group housekeeping on this bus (tests, tools); one partition per topic. */
  admin(): UsageAdmin;
  /** Stops every consumer (each finishes its chunk in hand), refuses further sends and drops the log. */
  close(): Promise<void>;
}

interface StoredMessage {
  key: string | null;
  value: string | null;
}

interface Member {
  topic: string;
}

interface Group {
  /** Per topic, the next offset the group reads (the committed offset). */
  committed: Map<string, number>;
  /** Per topic, the started consumers in start order; the first one reads. */
  members: Map<string, Member[]>;
}

const PARTITION = 0;
const DEFAULT_LAG_INTERVAL_MS = 5_000;

/** Creates an empty bus; create one per studio process and close it last. */
export function createInProcessUsageBus(): InProcessUsageBus {
  const topics = new Map<string, StoredMessage[]>();
  const groups = new Map<string, Group>();
  const running = new Set<UsageConsumer>();
  let closed = false;
  // Woken on every append, commit, start and stop: consumers waiting for work look again.
  let wake: { promise: Promise<void>; resolve: () => void } = signal();

  function notify(): void {
    const current = wake;
    wake = signal();
    current.resolve();
  }

  function assertOpen(): void {
    if (closed) throw new RpcError('service_unavailable', { message: 'The in-process usage bus is closed' });
  }

  function log(topic: string): StoredMessage[] {
    let messages = topics.get(topic);
    if (!messages) {
      messages = [];
      topics.set(topic, messages);
    }
    return messages;
  }

  function group(groupId: string): Group {
    let found = groups.get(groupId);
    if (!found) {
      found = { committed: new Map(), members: new Map() };
      groups.set(groupId, found);
    }
    return found;
  }

  /** Messages of `topic` the group has not committed yet (all of them for a group with no commit). */
  function lagOf(groupId: string, topic: string): number {
    return (topics.get(topic)?.length ?? 0) - (groups.get(groupId)?.committed.get(topic) ?? 0);
  }

  function append(topic: string, messages: readonly StoredMessage[]): void {
    assertOpen();
    log(topic).push(...messages);
    notify();
  }

  function producer(options: InProcessProducerOptions = {}): UsageProducer {
    const topic = options.topic ?? USAGE_TOPIC;
    let connected = false;
    return {
      connect() {
        assertOpen();
        connected = true;
        return Promise.resolve();
      },
      send: (events) =>
        settled(() => {
          if (!connected)
            throw new RpcError('service_unavailable', { message: 'The usage producer is not connected' });
          // Encode all first: an invalid event fails the call before anything is written.
          const encoded = events.map((event) => encodeUsageEvent(event));
          if (encoded.length > 0) append(topic, encoded);
        }),
      disconnect() {
        connected = false;
        return Promise.resolve();
      },
    };
  }

  function consumer(options: UsageBatchConsumerOptions): UsageConsumer {
    const topic = options.topic ?? USAGE_TOPIC;
    const maxBatchSize = options.maxBatchSize ?? 1000;
    let member: Member | null = null;
    let stopping = new AbortController();
    let loop: Promise<void> = Promise.resolve();
    let lagTimer: NodeJS.Timeout | undefined;

    function members(): Member[] {
      const byTopic = group(options.groupId).members;
      let list = byTopic.get(topic);
      if (!list) {
        list = [];
        byTopic.set(topic, list);
      }
      return list;
    }

    /** Runs the handler until it succeeds (true) or this consumer is stopped (false). */
    async function handleChunk(batch: UsageBatch): Promise<boolean> {
      for (let attempt = 1; ; attempt++) {
        if (stopping.signal.aborted) return false;
        try {
          await options.handleBatch(batch);
          return true;
        } catch (error) {
          options.logger?.error(
            { err: error, topic, partition: PARTITION, lastOffset: batch.lastOffset, attempt },
            'usage consumer: batch failed; retrying the same batch',
          );
          await sleep(retryBackoffMs(attempt), undefined, { signal: stopping.signal }).catch(() => undefined);
        }
      }
    }

    async function run(me: Member): Promise<void> {
      // Never call the handler from inside start(): Kafka's consumer delivers asynchronously too.
      await new Promise((resolve) => setImmediate(resolve));
      while (!stopping.signal.aborted) {
        const woken = wake.promise;
        const position = group(options.groupId).committed.get(topic) ?? 0;
        const pending = log(topic).slice(position, position + maxBatchSize);
        if (members()[0] !== me || pending.length === 0) {
          await woken;
          continue;
        }
        const messages: LogMessage[] = pending.map((message, i) => ({
          offset: String(position + i),
          key: message.key,
          value: message.value,
        }));
        if (!(await handleChunk(toUsageBatch({ topic, partition: PARTITION, messages })))) return;
        // The handler's transaction has committed: now, and only now, move the group's position past the chunk.
        group(options.groupId).committed.set(topic, position + messages.length);
      }
    }

    const self: UsageConsumer = {
      start: () =>
        settled(() => {
          assertOpen();
          if (member) return;
          stopping = new AbortController();
          member = { topic };
          log(topic);
          members().push(member);
          running.add(self);
          loop = run(member);
          const { onLag } = options;
          if (onLag !== undefined) {
            const report = (): void => {
              if (member) onLag(lagOf(options.groupId, topic));
            };
            setImmediate(report);
            lagTimer = setInterval(report, options.lagIntervalMs ?? DEFAULT_LAG_INTERVAL_MS);
            lagTimer.unref();
          }
        }),
      async stop() {
        const leaving = member;
        if (!leaving) return;
        stopping.abort();
        clearInterval(lagTimer);
        lagTimer = undefined;
        notify();
        await loop;
        const list = members();
        list.splice(list.indexOf(leaving), 1);
        member = null;
        running.delete(self);
        // The next consumer of the group, if any, takes over from the last commit.
        notify();
      },
    };
    return self;
  }

  function admin(): UsageAdmin {
    return {
      ensureTopic: ({ topic }) =>
        settled(() => {
          assertOpen();
          log(topic);
        }),
      deleteTopics(names) {
        for (const name of names) {
          topics.delete(name);
          for (const found of groups.values()) found.committed.delete(name);
        }
        return Promise.resolve();
      },
      deleteGroups(groupIds) {
        for (const groupId of groupIds) {
          const found = groups.get(groupId);
          if (found && [...found.members.values()].some((list) => list.length > 0))
            return Promise.reject(
              new RpcError('conflict', { message: `Consumer group ${groupId} has running consumers` }),
            );
        }
        for (const groupId of groupIds) groups.delete(groupId);
        return Promise.resolve();
      },
      sendRaw: (topic, messages) =>
        settled(() =>
          append(
            topic,
            messages.map(({ key, value }) => ({ key, value })),
          ),
        ),
      committedOffsets(groupId, topic) {
        const committed = groups.get(groupId)?.committed.get(topic);
        return Promise.resolve(new Map([[PARTITION, committed === undefined ? -1n : BigInt(committed)]]));
      },
      consumerLag: (groupId, topic) => Promise.resolve(lagOf(groupId, topic)),
      close: () => Promise.resolve(),
    };
  }

  return {
    producer,
    consumer,
    admin,
    async close() {
      if (closed) return;
      closed = true;
      for (const started of [...running]) await started.stop();
      topics.clear();
      groups.clear();
    },
  };
}

/** Runs `work` now; its result or what it threw becomes the promise's outcome. */
function settled<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

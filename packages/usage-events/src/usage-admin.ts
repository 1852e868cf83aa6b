import { Partitioners, type Admin, type Producer } from 'kafkajs';
import { createKafka, type KafkaConnectionOptions } from './kafka-client.js';

/** Options of {@link UsageAdmin.ensureTopic}. */
export interface EnsureTopicOptions {
  topic: string;
  /** Partitions of a new topic (an existing topic keeps its own). Default 3. */
  partitions?: number;
  /** Replicas of a new topic. Default 1 (a single broker). */
  replicationFactor?: number;
}

/** A raw Kafka message, bypassing the usage schema. */
export interface RawMessage {
  key: string | null;
  value: string | null;
}

/** Topic and group housekeeping for the usage stream, for provisioning, tests and replay tools. */
export interface UsageAdmin {
  /** Creates the topic when missing (waits for its leaders); an existing topic is left as it is. */
  ensureTopic(options: EnsureTopicOptions): Promise<void>;
  /** Deletes topics (tests clean up the unique topics they made). */
  deleteTopics(topics: string[]): Promise<void>;
  /** Deletes consumer groups that have no live members. */
  deleteGroups(groupIds: string[]): Promise<void>;
  /**
   * Writes messages exactly as given, without the schema: for tests of the dead-letter path and for an
   * operator replaying repaired dead letters. Products write through `createUsageProducer`.
   */
  sendRaw(topic: string, messages: readonly RawMessage[]): Promise<void>;
  /** The group's committed offset per partition of `topic` (the next offset it will read; -1 when none). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>>;
  /**
   * Messages of `topic` the group has not committed yet: per partition, the high watermark minus the committed
   * offset (minus the low watermark where the group has none, or where retention dropped what it had not read:
   * it starts at the oldest retained message), summed over partitions.
   */
  consumerLag(groupId: string, topic: string): Promise<number>;
  /** Disconnects. */
  close(): Promise<void>;
}

/** Creates an admin client; it connects on first use. */
export function createUsageAdmin(options: KafkaConnectionOptions): UsageAdmin {
  const kafka = createKafka({ ...options, clientId: options.clientId ?? 'cyber-usage-admin' });
  let admin: Promise<Admin> | undefined;
  let producer: Promise<Producer> | undefined;
  const connectedAdmin = (): Promise<Admin> =>
    (admin ??= (async () => {
      const client = kafka.admin();
      await client.connect();
      return client;
    })());
  const connectedProducer = (): Promise<Producer> =>
    (producer ??= (async () => {
      const client = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await client.connect();
      return client;
    })());

  async function committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
    const [entry] = await (await connectedAdmin()).fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  }

  return {
    async ensureTopic({ topic, partitions = 3, replicationFactor = 1 }) {
      const client = await connectedAdmin();
      const existing = await client.listTopics();
      if (existing.includes(topic)) return;
      await client.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor }],
        waitForLeaders: true,
      });
    },
    async deleteTopics(topics) {
      if (topics.length === 0) return;
      await (await connectedAdmin()).deleteTopics({ topics, timeout: 10_000 });
    },
    async deleteGroups(groupIds) {
      if (groupIds.length === 0) return;
      await (await connectedAdmin()).deleteGroups(groupIds);
    },
    async sendRaw(topic, messages) {
      await (await connectedProducer()).send({ topic, acks: -1, messages: [...messages] });
    },
    committedOffsets,
    async consumerLag(groupId, topic) {
      const client = await connectedAdmin();
      const [watermarks, committed] = await Promise.all([
        client.fetchTopicOffsets(topic),
        committedOffsets(groupId, topic),
      ]);
      let lag = 0n;
      for (const { partition, high, low } of watermarks) {
        const oldest = BigInt(low);
        const position = committed.get(partition) ?? -1n;
        const next = position < oldest ? oldest : position;
        const behind = BigInt(high) - next;
        if (behind > 0n) lag += behind;
      }
      return Number(lag);
    },
    async close() {
      const open = [admin, producer];
      admin = undefined;
      producer = undefined;
      for (const client of open) if (client) await (await client).disconnect();
    },
  };
}

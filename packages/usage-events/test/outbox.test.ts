// The durable usage outbox against real Kafka: the shared broker from scripts/infra.sh (each test on its own
// topic) and, for a real outage, a private broker this file stops and restarts.
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createUsageAdmin,
  createUsageConsumer,
  createUsageOutbox,
  createUsageProducer,
  type UsageEvent,
  type UsageLogger,
  type UsageOutbox,
  type UsageOutboxOptions,
  type UsageProducer,
} from '../src/index.ts';
import { startKafkaBroker, type KafkaBroker, sharedKafkaBrokers, uniqueName } from '../src/testing.ts';

let counter = 0;
function event(userId = 1): UsageEvent {
  counter++;
  return {
    eventId: randomUUID(),
    userId,
    modelId: 1,
    promptTokens: 10,
    completionTokens: counter % 100,
    cost: counter,
    traceId: null,
    occurredAt: new Date().toISOString(),
  };
}

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Records log lines instead of printing them (the logger is pino's slot). */
function recordingLogger(): UsageLogger & { lines: string[] } {
  const lines: string[] = [];
  const record = (_obj: object, msg: string): void => void lines.push(msg);
  return { lines, error: record, warn: record, info: record };
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((error: unknown) => console.error('outbox test cleanup failed:', error));
  }
  cleanups.length = 0;
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cyber-outbox-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh one-partition topic (one partition: one global order to compare) and a connected producer. */
async function topicAndProducer(brokers: string[]): Promise<{ topic: string; producer: UsageProducer }> {
  const admin = createUsageAdmin({ brokers });
  cleanups.push(() => admin.close());
  const topic = uniqueName('test.llm.usage.outbox');
  await admin.ensureTopic({ topic, partitions: 1 });
  cleanups.push(() => admin.deleteTopics([topic]));
  const producer = createUsageProducer({ brokers, topic });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return { topic, producer };
}

/** Consumes the topic from the beginning; `received` fills in delivery order (duplicates kept). */
async function consume(brokers: string[], topic: string): Promise<UsageEvent[]> {
  const received: UsageEvent[] = [];
  const groupId = uniqueName('outbox-test');
  const consumer = createUsageConsumer({
    brokers,
    topic,
    groupId,
    sessionTimeoutMs: 6_000,
    handleBatch: (batch) => {
      received.push(...batch.events);
      return Promise.resolve();
    },
  });
  cleanups.push(async () => {
    await consumer.stop();
    const admin = createUsageAdmin({ brokers });
    await admin.deleteGroups([groupId]).finally(() => admin.close());
  });
  await consumer.start();
  return received;
}

async function openOutbox(options: Omit<UsageOutboxOptions, 'logger'>): Promise<UsageOutbox> {
  const outbox = createUsageOutbox({ logger: recordingLogger(), ...options });
  await outbox.open();
  cleanups.push(() => outbox.close());
  return outbox;
}

function ids(events: readonly UsageEvent[]): string[] {
  return events.map((e) => e.eventId);
}

describe('usage outbox on the shared broker', () => {
  it('publishes 1,000 concurrent appends exactly once, in append order', async () => {
    const brokers = sharedKafkaBrokers();
    const { topic, producer } = await topicAndProducer(brokers);
    const outbox = await openOutbox({ dir: await tempDir(), producer });
    const sent = Array.from({ length: 1000 }, (_, i) => event((i % 5) + 1));
    await Promise.all(sent.map((e) => outbox.append(e)));
    expect(await outbox.flush(30_000)).toBe(true);
    expect(outbox.stats()).toMatchObject({ pending: 0, kafkaUp: true, lastError: null });

    const received = await consume(brokers, topic);
    await waitFor(() => received.length >= 1000, 30_000, '1,000 events');
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show up
    expect(ids(received)).toEqual(ids(sent));
  }, 60_000);

  it('keeps appends durable while Kafka is unreachable and publishes them after a crash, ignoring a torn line', async () => {
    const brokers = sharedKafkaBrokers();
    const dir = await tempDir();
    // A real producer that cannot reach Kafka: never connected, every send is refused at once.
    const unreachable = createUsageProducer({ brokers, topic: 'unused' });
    const logger = recordingLogger();
    const first = createUsageOutbox({
      dir,
      producer: unreachable,
      logger,
      retry: { initialMs: 10, maxMs: 50 },
      closeFlushMs: 100,
    });
    await first.open();
    const sent = Array.from({ length: 50 }, (_, i) => event((i % 3) + 1));
    for (const e of sent) await first.append(e);
    await waitFor(() => !first.stats().kafkaUp, 5_000, 'the first failed send');
    expect(first.stats()).toMatchObject({ pending: 50, unbooked: 50, kafkaUp: false });
    expect(first.stats().lastError).toMatch(/disconnected/);
    expect(first.unbookedFor(2)).toEqual(sent.filter((e) => e.userId === 2));
    expect(await first.flush(100)).toBe(false);
    // Gone without publishing (close only tries a short flush), as a killed process would be.
    await first.close();
    expect(logger.lines).toContain('usage outbox: send failed');

    // The crash cut the next line short.
    const [segment] = await segmentFiles(dir);
    expect(segment).toBeDefined();
    await appendFile(join(dir, segment ?? ''), `{"seq":51,"event":{"eventId":"${randomUUID()}","us`);

    const { topic, producer } = await topicAndProducer(brokers);
    const second = await openOutbox({ dir, producer });
    const later = event(1);
    await second.append(later);
    expect(await second.flush(30_000)).toBe(true);
    const received = await consume(brokers, topic);
    await waitFor(() => received.length >= 51, 30_000, '51 events');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ids(received)).toEqual([...ids(sent), later.eventId]);
  }, 60_000);

  it('resends (never skips) what a lost cursor write left unconfirmed after a restart', async () => {
    const brokers = sharedKafkaBrokers();
    const dir = await tempDir();
    const { topic, producer } = await topicAndProducer(brokers);
    const nothingBooked = (): Promise<ReadonlySet<string>> => Promise.resolve(new Set<string>());
    const first = createUsageOutbox({ dir, producer, logger: recordingLogger(), isBooked: nothingBooked });
    await first.open();
    const sent = Array.from({ length: 10 }, () => event(7));
    for (const e of sent) await first.append(e);
    expect(await first.flush(30_000)).toBe(true);
    await first.close();
    // As if the process died between the send and the cursor write.
    await writeFile(join(dir, 'cursor'), '4\n');
    const second = await openOutbox({ dir, producer, isBooked: nothingBooked });
    expect(await second.flush(30_000)).toBe(true);
    const received = await consume(brokers, topic);
    await waitFor(() => received.length >= 16, 30_000, '16 deliveries');
    expect(ids(received)).toEqual([...ids(sent), ...ids(sent.slice(4))]);
  }, 60_000);

  it('lists unbooked charges per user until isBooked confirms them, then deletes spent segments', async () => {
    const brokers = sharedKafkaBrokers();
    const dir = await tempDir();
    const { producer } = await topicAndProducer(brokers);
    const ledger = new Set<string>(); // what auth's usage sink has booked in tokens_used
    const asked: number[] = [];
    const outbox = await openOutbox({
      dir,
      producer,
      segmentBytes: 1024, // ~4 events a segment
      pruneIntervalMs: 3_600_000, // on demand only
      isBooked: (eventIds) => {
        asked.push(eventIds.length);
        return Promise.resolve(new Set(eventIds.filter((id) => ledger.has(id))));
      },
    });
    const sent = Array.from({ length: 40 }, (_, i) => event((i % 3) + 1));
    for (const e of sent) await outbox.append(e);
    const ofUser = (userId: number, from = 0): UsageEvent[] =>
      sent.slice(from).filter((e) => e.userId === userId);
    expect(outbox.unbookedFor(1)).toEqual(ofUser(1));
    expect(outbox.unbookedFor(99)).toEqual([]);
    expect(await outbox.flush(30_000)).toBe(true);

    // Published is not booked: nothing is forgotten or deleted yet.
    await outbox.prune();
    expect(outbox.unbookedFor(1)).toEqual(ofUser(1));
    const before = await segmentFiles(dir);
    expect(before.length).toBeGreaterThanOrEqual(6);
    expect(outbox.stats()).toMatchObject({ pending: 0, unbooked: 40, segments: before.length });

    // The sink books the first 25.
    for (const e of sent.slice(0, 25)) ledger.add(e.eventId);
    await outbox.prune();
    expect(asked.at(-1)).toBe(40);
    for (const userId of [1, 2, 3]) expect(outbox.unbookedFor(userId)).toEqual(ofUser(userId, 25));
    expect(outbox.stats().unbooked).toBe(15);
    await waitFor(() => outbox.stats().segments < before.length, 5_000, 'segment deletion');
    const after = await segmentFiles(dir);
    expect(after.length).toBe(outbox.stats().segments);
    // Every segment left holds an unbooked event; every deleted one held only booked ones.
    const unbooked = new Set(ids(sent.slice(25)));
    for (const name of after) {
      const lines = (await readFile(join(dir, name), 'utf8')).trim().split('\n');
      const eventIds = lines.map((line) => (JSON.parse(line) as { event: UsageEvent }).event.eventId);
      expect(eventIds.some((id) => unbooked.has(id))).toBe(true);
    }

    for (const e of sent) ledger.add(e.eventId);
    await outbox.prune();
    expect(outbox.stats()).toMatchObject({ unbooked: 0 });
    await outbox.close();
    expect(await segmentFiles(dir)).toEqual([]);
    expect((await readFile(join(dir, 'cursor'), 'utf8')).trim()).toBe('40');
  }, 60_000);

  it('without isBooked deletes segments once published and still lists recent charges', async () => {
    const brokers = sharedKafkaBrokers();
    const dir = await tempDir();
    const { producer } = await topicAndProducer(brokers);
    const outbox = await openOutbox({ dir, producer, segmentBytes: 2048 });
    const sent = Array.from({ length: 40 }, (_, i) => event((i % 2) + 1));
    for (const e of sent) await outbox.append(e);
    expect(await outbox.flush(30_000)).toBe(true);
    await waitFor(() => outbox.stats().segments <= 1, 5_000, 'segment deletion');
    expect((await segmentFiles(dir)).length).toBeLessThanOrEqual(1); // the one still open for appends
    expect(outbox.unbookedFor(2)).toEqual(sent.filter((e) => e.userId === 2));
    await outbox.close();
    expect(await segmentFiles(dir)).toEqual([]);
    // A restart after everything was published continues the sequence and publishes only the new event.
    const reopened = await openOutbox({ dir, producer });
    expect(reopened.stats()).toMatchObject({ pending: 0, segments: 0 });
    await reopened.append(event(1));
    expect(await reopened.flush(30_000)).toBe(true);
    await reopened.close();
    expect((await readFile(join(dir, 'cursor'), 'utf8')).trim()).toBe('41');
  }, 60_000);

  it('refuses an invalid event and appends after close', async () => {
    const outbox = await openOutbox({
      dir: await tempDir(),
      producer: createUsageProducer({ brokers: sharedKafkaBrokers(), topic: 'unused' }),
      closeFlushMs: 10,
    });
    await expect(outbox.append({ ...event(), cost: 1.5 })).rejects.toMatchObject({ key: 'internal_error' });
    expect(outbox.stats().pending).toBe(0);
    await outbox.close();
    await expect(outbox.append(event())).rejects.toMatchObject({ key: 'service_unavailable' });
  });
});

describe('usage outbox through a real Kafka outage (private broker)', () => {
  let broker: KafkaBroker;
  beforeAll(async () => {
    broker = await startKafkaBroker();
  }, 60_000);
  afterAll(async () => {
    await broker.close();
  });

  it('keeps appending while Kafka is stopped and delivers everything in order once it is back', async () => {
    const { topic, producer } = await topicAndProducer(broker.brokers);
    const outbox = await openOutbox({ dir: await tempDir(), producer, retry: { initialMs: 50, maxMs: 500 } });
    const before = Array.from({ length: 100 }, () => event(1));
    await Promise.all(before.map((e) => outbox.append(e)));
    expect(await outbox.flush(30_000)).toBe(true);

    await broker.stop();
    const during = Array.from({ length: 1000 }, (_, i) => event((i % 4) + 1));
    const started = Date.now();
    for (let i = 0; i < during.length; i += 50)
      await Promise.all(during.slice(i, i + 50).map((e) => outbox.append(e)));
    const appendMs = Date.now() - started;
    expect(appendMs).toBeLessThan(5_000);
    expect(outbox.stats().pending).toBe(1000);
    expect(outbox.unbookedFor(3)).toEqual(during.filter((e) => e.userId === 3));

    await broker.start();
    const after = Array.from({ length: 100 }, () => event(2));
    await Promise.all(after.map((e) => outbox.append(e)));
    expect(await outbox.flush(45_000)).toBe(true);
    expect(outbox.stats()).toMatchObject({ pending: 0, kafkaUp: true });

    const sent = [...before, ...during, ...after];
    const received = await consume(broker.brokers, topic);
    await waitFor(() => new Set(ids(received)).size >= sent.length, 30_000, 'every event');
    // At least once, in order of first delivery; a repeat can only be the same event id (the ledger dedups).
    const firstSeen = [...new Set(ids(received))];
    expect(firstSeen).toEqual(ids(sent));
    console.log(
      `outage: ${during.length} appends in ${appendMs} ms while stopped; ${received.length - sent.length} duplicate deliveries`,
    );
  }, 90_000);
});

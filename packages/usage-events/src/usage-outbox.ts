// The durable usage outbox: every settled usage event is appended here (fsync'd before the append resolves)
// and a publisher loop sends the log to Kafka in append order, retrying forever while Kafka is down. One path
// for every event, so "Kafka up" just means the outbox drains at once and order never depends on an outage.
//
// Written by hand on node:fs rather than on SQLite or LMDB: an append-only JSON-lines segment log is a few
// hundred lines, while those bring native builds (and a second durable format to operate) for a queue that only
// ever appends, reads in order and deletes whole files.
//
// On disk, in `dir`:
// - `<first seq, 20 digits>.log`: segments of `{"seq":N,"event":{...}}\n` lines, seq strictly increasing. A
//   process only appends to a segment it created; after a restart it starts a new one, so a torn last line
//   (partial write at a crash) stays where it is and is ignored. Gaps in seq are allowed (a failed write).
// - `cursor`: the last published seq, replaced atomically (temp file, fsync, rename) after each successful send.
//   A crash between a send and the cursor write resends those events: harmless, because the producer is
//   idempotent and the ledger (tokens_used) is unique on eventId.
// One process per directory: two outboxes on the same directory would both publish it.
import { mkdir, open, readdir, readFile, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '@cyber/contract';
import type { UsageLogger } from './kafka-client.js';
import type { UsageProducer } from './usage-producer.js';
import { UsageEvent } from './usage-event.js';

/** Options of {@link createUsageOutbox}. */
export interface UsageOutboxOptions {
  /** Directory of the segment files and the cursor; created if missing. */
  dir: string;
  /** Where events are published (the real idempotent kafkajs producer, already connected). */
  producer: Pick<UsageProducer, 'send'>;
  /** Where failures and recoveries are reported. */
  logger: UsageLogger;
  /**
   * Which of these event ids the ledger (PostgreSQL tokens_used) already has. With it, published events stay
   * on disk and in {@link UsageOutbox.unbookedFor} until confirmed. Without it, a segment is deleted once
   * published and published events stay in memory only for {@link RECENT_PUBLISHED_MS} (at most
   * {@link RECENT_PUBLISHED_MAX} events), the time the usage sink normally needs to book them.
   */
  isBooked?: (eventIds: readonly string[]) => Promise<ReadonlySet<string>>;
  /**
   * At open, publish again the events a previous process had already published that are still on disk (with
   * `isBooked`: not yet confirmed booked). For a transport that loses what it holds when the process exits,
   * the in-process usage bus of the standalone studio; the ledger is unique on eventId, so a resend of an
   * event that was booked after all is a no-op. Default false: Kafka keeps what it acknowledged.
   */
  resendUnbookedOnOpen?: boolean;
  /** Events per Kafka send. Default 500. */
  maxBatch?: number;
  /** Backoff between failed sends while Kafka is down (doubling). Default 100 ms up to 5 s. */
  retry?: { initialMs?: number; maxMs?: number };
  /** A segment is closed and a new one started once it reaches this size. Default 8 MiB. */
  segmentBytes?: number;
  /** How often published events are checked with `isBooked` (and old ones expire without it). Default 2 s. */
  pruneIntervalMs?: number;
  /** How long {@link UsageOutbox.close} waits for Kafka to take what is pending. Default 5 s. */
  closeFlushMs?: number;
}

/** Counters for health checks and metrics. */
export interface UsageOutboxStats {
  /** Appended events not yet published to Kafka. */
  pending: number;
  /** Appended events not yet confirmed booked (pending ones included). */
  unbooked: number;
  /** Segment files on disk. */
  segments: number;
  /** The error of the last failed send; null once a send succeeds again. */
  lastError: string | null;
  /** False from a failed send until the next successful one. */
  kafkaUp: boolean;
}

/** The durable, ordered path of every usage event to Kafka. */
export interface UsageOutbox {
  /** Loads segments and cursor, then starts publishing. Call once, before anything else. */
  open(): Promise<void>;
  /**
   * Validates the event, writes it and fsyncs it (concurrent appends share one fdatasync), then resolves.
   * Events are published in the order their appends were called. Rejects with `service_unavailable` when the
   * outbox is not open and `internal_error` when the event is invalid or the disk write fails.
   */
  append(event: UsageEvent): Promise<void>;
  /**
   * That user's appended events not yet confirmed booked, in append order: the charges a PostgreSQL balance
   * does not show yet. To rebuild a balance cache, call this BEFORE reading the balance, so a charge booked
   * in between is counted twice (fail closed) rather than missed.
   */
  unbookedFor(userId: number): readonly UsageEvent[];
  /** Counters for health checks. */
  stats(): UsageOutboxStats;
  /** Resolves true once everything appended so far is published, false after `timeoutMs`. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Asks `isBooked` about published events now (also runs every `pruneIntervalMs`) and deletes spent segments. */
  prune(): Promise<void>;
  /** Stops taking appends, tries a flush for `closeFlushMs`, stops the publisher and closes files. */
  close(): Promise<void>;
}

/** Without `isBooked`, how long published events stay visible to {@link UsageOutbox.unbookedFor}. */
export const RECENT_PUBLISHED_MS = 60_000;
/** Without `isBooked`, at most this many published events stay visible to {@link UsageOutbox.unbookedFor}. */
export const RECENT_PUBLISHED_MAX = 100_000;

const SEGMENT_NAME = /^(\d{20})\.log$/;
const CURSOR = 'cursor';
const BOOKED_QUERY_SIZE = 1000;

interface Segment {
  firstSeq: number;
  path: string;
  bytes: number;
  /** Events of this segment not yet released (published and, with isBooked, booked). */
  live: number;
  /** Open for appends (never deleted while so). */
  handle: FileHandle | null;
}

interface Entry {
  seq: number;
  event: UsageEvent;
  segment: Segment;
  publishedAt: number;
  released: boolean;
}

interface QueuedAppend {
  event: UsageEvent;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Creates the outbox. Memory: every unbooked event (pending or published-but-unconfirmed) is held in memory,
 * about 0.5 KiB each, so an outage of an hour at 100 settles/s costs ~180 MiB; disk holds the same as JSON.
 */
export function createUsageOutbox(options: UsageOutboxOptions): UsageOutbox {
  const { dir, producer, logger, isBooked } = options;
  const resendUnbooked = options.resendUnbookedOnOpen ?? false;
  const maxBatch = options.maxBatch ?? 500;
  const initialBackoff = options.retry?.initialMs ?? 100;
  const maxBackoff = options.retry?.maxMs ?? 5_000;
  const segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
  const pruneIntervalMs = options.pruneIntervalMs ?? 2_000;
  const closeFlushMs = options.closeFlushMs ?? 5_000;

  let state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  const segments = new Map<number, Segment>();
  let active: Segment | null = null;
  let nextSeq = 1;
  let lastWrittenSeq = 0;
  let published = 0;
  // Not yet published, in seq order; `head` is the first unpublished index (compacted now and then).
  let toPublish: Entry[] = [];
  let head = 0;
  // Published, still visible to unbookedFor (awaiting isBooked, or recent without it), in seq order.
  const awaiting = new Map<number, Entry>();
  const byUser = new Map<number, Map<number, UsageEvent>>();
  let queue: QueuedAppend[] = [];
  let writing: Promise<void> | null = null;
  let kafkaUp = true;
  let lastError: string | null = null;
  let wakePublisher: (() => void) | null = null;
  const stopping = new AbortController();
  let loop: Promise<void> | null = null;
  let pruneTimer: NodeJS.Timeout | null = null;
  let pruning: Promise<void> | null = null;
  const background = new Set<Promise<void>>();
  const flushWaiters = new Set<{ target: number; resolve: (done: boolean) => void }>();

  function track(task: Promise<void>): void {
    background.add(task);
    void task.finally(() => background.delete(task));
  }

  async function fsyncDir(): Promise<void> {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  function index(entry: Entry): void {
    let events = byUser.get(entry.event.userId);
    if (!events) {
      events = new Map<number, UsageEvent>();
      byUser.set(entry.event.userId, events);
    }
    events.set(entry.seq, entry.event);
  }

  function forget(entry: Entry): void {
    awaiting.delete(entry.seq);
    const events = byUser.get(entry.event.userId);
    events?.delete(entry.seq);
    if (events?.size === 0) byUser.delete(entry.event.userId);
  }

  function release(entry: Entry): void {
    if (entry.released) return;
    entry.released = true;
    const segment = entry.segment;
    segment.live--;
    if (segment.live === 0 && segment.handle === null) deleteSegment(segment);
  }

  function deleteSegment(segment: Segment): void {
    if (!segments.delete(segment.firstSeq)) return;
    track(
      unlink(segment.path)
        .then(fsyncDir)
        .catch((error: unknown) =>
          logger.error({ err: error, path: segment.path }, 'usage outbox: delete failed'),
        ),
    );
  }

  async function retire(segment: Segment): Promise<void> {
    if (active === segment) active = null;
    const handle = segment.handle;
    segment.handle = null;
    await handle?.close().catch(() => undefined);
    if (segment.live === 0) deleteSegment(segment);
  }

  async function activeSegment(): Promise<Segment> {
    if (active) return active;
    const path = join(dir, `${String(nextSeq).padStart(20, '0')}.log`);
    // 'wx': a name is never reused (a failed write skips seqs), so an existing file here is a bug, not data.
    const handle = await open(path, 'wx');
    await fsyncDir();
    const segment: Segment = { firstSeq: nextSeq, path, bytes: 0, live: 0, handle };
    segments.set(segment.firstSeq, segment);
    active = segment;
    return segment;
  }

  async function writeBatch(batch: QueuedAppend[]): Promise<void> {
    let segment: Segment | null = null;
    let first = 0;
    try {
      segment = await activeSegment();
      const handle = segment.handle;
      if (!handle) throw new Error('the active segment has no open file');
      first = nextSeq;
      // Seqs are spent even if the write fails, so a half-written batch can never share seqs with the next.
      nextSeq += batch.length;
      const text = batch.map((item, i) => `${JSON.stringify({ seq: first + i, event: item.event })}\n`);
      const buffer = Buffer.from(text.join(''), 'utf8');
      for (let offset = 0; offset < buffer.length;) {
        const { bytesWritten } = await handle.write(buffer, offset);
        offset += bytesWritten;
      }
      await handle.datasync();
      segment.bytes += buffer.length;
    } catch (error) {
      logger.error({ err: error, events: batch.length }, 'usage outbox: append write failed');
      // After a failed write or fsync the file's tail is unknown: never append to it again.
      if (segment) await retire(segment);
      for (const item of batch) item.reject(new RpcError('internal_error', { cause: error }));
      return;
    }
    batch.forEach((item, i) => {
      const entry: Entry = { seq: first + i, event: item.event, segment, publishedAt: 0, released: false };
      segment.live++;
      toPublish.push(entry);
      index(entry);
      item.resolve();
    });
    lastWrittenSeq = first + batch.length - 1;
    if (segment.bytes >= segmentBytes) await retire(segment);
    wakePublisher?.();
  }

  async function drainWrites(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      await writeBatch(batch);
    }
    writing = null;
  }

  async function writeCursor(seq: number): Promise<void> {
    const temp = join(dir, `${CURSOR}.tmp`);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${seq}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, CURSOR));
  }

  function markPublished(batch: Entry[]): void {
    head += batch.length;
    if (head > 4096 && head * 2 > toPublish.length) {
      toPublish = toPublish.slice(head);
      head = 0;
    }
    const now = Date.now();
    for (const entry of batch) {
      entry.publishedAt = now;
      awaiting.set(entry.seq, entry);
      // Without a ledger to ask, published is as far as this outbox can follow an event on disk.
      if (!isBooked) release(entry);
    }
    for (const waiter of flushWaiters) {
      if (published >= waiter.target) {
        flushWaiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }

  async function publishLoop(): Promise<void> {
    let backoff = initialBackoff;
    let failures = 0;
    while (!stopping.signal.aborted) {
      const batch = toPublish.slice(head, head + maxBatch);
      if (batch.length === 0) {
        await new Promise<void>((resolve) => (wakePublisher = resolve));
        wakePublisher = null;
        continue;
      }
      try {
        await producer.send(batch.map((entry) => entry.event));
      } catch (error) {
        failures++;
        kafkaUp = false;
        lastError = error instanceof Error ? error.message : String(error);
        // Never skip or reorder: the same batch is retried, forever, from the same position.
        if (failures === 1 || failures % 50 === 0)
          logger.warn(
            { err: error, failures, pending: toPublish.length - head },
            'usage outbox: send failed',
          );
        await sleep(backoff, undefined, { signal: stopping.signal }).catch(() => undefined);
        backoff = Math.min(maxBackoff, backoff * 2);
        continue;
      }
      if (failures > 0) logger.info({ failures }, 'usage outbox: Kafka is back, publishing resumed');
      failures = 0;
      backoff = initialBackoff;
      kafkaUp = true;
      lastError = null;
      published = batch.at(-1)?.seq ?? published;
      // Cursor before releasing segments; a lost cursor write only means a harmless resend after a restart.
      await writeCursor(published).catch((error: unknown) =>
        logger.error({ err: error, published }, 'usage outbox: cursor write failed'),
      );
      if (stopping.signal.aborted) break;
      markPublished(batch);
    }
  }

  async function pruneNow(): Promise<void> {
    if (!isBooked) {
      const now = Date.now();
      for (const entry of awaiting.values()) {
        if (awaiting.size <= RECENT_PUBLISHED_MAX && now - entry.publishedAt < RECENT_PUBLISHED_MS) break;
        forget(entry);
      }
      return;
    }
    const candidates = [...awaiting.values()];
    for (let start = 0; start < candidates.length; start += BOOKED_QUERY_SIZE) {
      const chunk = candidates.slice(start, start + BOOKED_QUERY_SIZE);
      let booked: ReadonlySet<string>;
      try {
        booked = await isBooked(chunk.map((entry) => entry.event.eventId));
      } catch (error) {
        logger.warn({ err: error }, 'usage outbox: isBooked failed; will ask again');
        return;
      }
      for (const entry of chunk) {
        if (!booked.has(entry.event.eventId)) continue;
        forget(entry);
        release(entry);
      }
    }
  }

  async function load(): Promise<void> {
    await mkdir(dir, { recursive: true });
    await rm(join(dir, `${CURSOR}.tmp`), { force: true });
    const cursorText = await readFile(join(dir, CURSOR), 'utf8').catch(() => '');
    const cursor = /^\d+\n$/.test(cursorText) ? Number(cursorText) : 0;
    // Resending starts over from the oldest line on disk, so flushes wait for the resends too.
    published = resendUnbooked ? 0 : cursor;
    let lastSeq = 0;
    const names = (await readdir(dir)).filter((name) => SEGMENT_NAME.test(name)).sort();
    for (const name of names) {
      const segment: Segment = {
        firstSeq: Number(name.slice(0, 20)),
        path: join(dir, name),
        bytes: 0,
        live: 0,
        handle: null,
      };
      segments.set(segment.firstSeq, segment);
      const text = await readFile(segment.path, 'utf8');
      segment.bytes = Buffer.byteLength(text);
      let start = 0;
      while (start < text.length) {
        const end = text.indexOf('\n', start);
        if (end < 0) {
          logger.warn(
            { path: segment.path, bytes: text.length - start },
            'usage outbox: ignoring a torn last line',
          );
          break;
        }
        const entry = parseLine(text.slice(start, end), segment);
        if (!entry || entry.seq <= lastSeq) {
          logger.error(
            { path: segment.path, offset: start },
            'usage outbox: ignoring a segment after a bad line',
          );
          break;
        }
        start = end + 1;
        lastSeq = entry.seq;
        index(entry);
        if (entry.seq > cursor || resendUnbooked) toPublish.push(entry);
        else {
          entry.publishedAt = Date.now();
          awaiting.set(entry.seq, entry);
        }
        // Published and no ledger to ask: nothing keeps this line on disk (see markPublished).
        if (entry.seq <= cursor && !isBooked && !resendUnbooked) entry.released = true;
        else segment.live++;
      }
      if (segment.live === 0) deleteSegment(segment);
    }
    // A spent segment may carry the name the next new segment gets: finish deleting before appending.
    while (background.size > 0) await Promise.all(background);
    // Never hand out a seq at or below the cursor, or a new event would count as published after a restart.
    nextSeq = Math.max(cursor, lastSeq) + 1;
    lastWrittenSeq = lastSeq;
    if (toPublish.length > 0 || awaiting.size > 0)
      logger.info({ pending: toPublish.length, published: awaiting.size }, 'usage outbox: loaded');
  }

  function prune(): Promise<void> {
    pruning ??= pruneNow().finally(() => (pruning = null));
    return pruning;
  }

  function stats(): UsageOutboxStats {
    const pending = toPublish.length - head;
    return { pending, unbooked: pending + awaiting.size, segments: segments.size, lastError, kafkaUp };
  }

  async function flush(timeoutMs: number): Promise<boolean> {
    if (writing) await writing;
    const target = lastWrittenSeq;
    if (published >= target) return true;
    return new Promise<boolean>((resolve) => {
      const waiter = { target, resolve: (done: boolean) => resolve(done) };
      flushWaiters.add(waiter);
      setTimeout(() => {
        if (flushWaiters.delete(waiter)) resolve(false);
      }, timeoutMs).unref();
    });
  }

  return {
    async open() {
      if (state !== 'new') throw new Error('usage outbox: open() called twice');
      await load();
      state = 'open';
      loop = publishLoop().catch((error: unknown) =>
        logger.error({ err: error }, 'usage outbox: publisher stopped unexpectedly'),
      );
      pruneTimer = setInterval(() => void prune(), pruneIntervalMs);
      pruneTimer.unref();
      void prune();
    },

    append(event) {
      if (state !== 'open')
        return Promise.reject(new RpcError('service_unavailable', { message: 'Usage outbox is not open' }));
      const parsed = UsageEvent.safeParse(event);
      if (!parsed.success) return Promise.reject(new RpcError('internal_error', { cause: parsed.error }));
      return new Promise<void>((resolve, reject) => {
        queue.push({ event: parsed.data, resolve, reject });
        writing ??= drainWrites();
      });
    },

    unbookedFor(userId) {
      return [...(byUser.get(userId)?.values() ?? [])];
    },

    stats,
    flush,

    prune,

    async close() {
      if (state === 'closed' || state === 'closing') return;
      const wasOpen = state === 'open';
      state = 'closing';
      if (pruneTimer) clearInterval(pruneTimer);
      if (wasOpen) await flush(closeFlushMs);
      stopping.abort();
      wakePublisher?.();
      // A send in flight cannot be cancelled; do not hold shutdown for kafkajs' own retries.
      if (loop) await Promise.race([loop, sleep(1_000)]);
      await pruning;
      if (active) await retire(active);
      while (background.size > 0) await Promise.all(background);
      for (const waiter of flushWaiters) waiter.resolve(false);
      flushWaiters.clear();
      state = 'closed';
    },
  };
}

function parseLine(line: string, segment: Segment): Entry | null {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null) return null;
  const { seq, event } = json as { seq?: unknown; event?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < segment.firstSeq) return null;
  const parsed = UsageEvent.safeParse(event);
  if (!parsed.success) return null;
  return { seq, event: parsed.data, segment, publishedAt: 0, released: false };
}

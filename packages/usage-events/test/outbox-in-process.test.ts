// The usage outbox over the in-process bus of the standalone studio: the bus loses its log when the process
// exits, so what makes a charge durable is the outbox keeping it until the ledger has it, and publishing it
// again after a restart (`resendUnbookedOnOpen`). The ledger here is a set the bus consumer books into; in the
// product it is tokens_used, unique on eventId.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createInProcessUsageBus,
  createUsageOutbox,
  type InProcessUsageBus,
  type UsageEvent,
  type UsageLogger,
  type UsageOutbox,
} from '../src/index.ts';

const silent: UsageLogger = { error: () => undefined, warn: () => undefined, info: () => undefined };

function event(userId: number): UsageEvent {
  return {
    eventId: randomUUID(),
    userId,
    modelId: 1,
    promptTokens: 3,
    completionTokens: 4,
    cost: 7,
    traceId: null,
    occurredAt: new Date().toISOString(),
  };
}

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

/** One "process": a bus, and an outbox on `dir` publishing to it, booking nothing until a consumer runs. */
async function processOn(
  dir: string,
  ledger: Set<string>,
  options: { resendUnbookedOnOpen: boolean },
): Promise<{ bus: InProcessUsageBus; outbox: UsageOutbox }> {
  const bus = createInProcessUsageBus();
  const producer = bus.producer();
  await producer.connect();
  const outbox = createUsageOutbox({
    dir,
    producer,
    logger: silent,
    isBooked: (ids) => Promise.resolve(new Set(ids.filter((id) => ledger.has(id)))),
    pruneIntervalMs: 50,
    ...options,
  });
  await outbox.open();
  cleanups.push(() => bus.close());
  cleanups.push(() => outbox.close());
  return { bus, outbox };
}

describe('usage outbox over the in-process bus', () => {
  it.each([true, false])(
    'after a restart with an empty bus, resendUnbookedOnOpen=%s decides whether unbooked events reach the ledger',
    async (resendUnbookedOnOpen) => {
      const dir = await mkdtemp(join(tmpdir(), 'cyber-outbox-bus-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const ledger = new Set<string>();
      const sent = [event(1), event(1), event(2)];

      // The first process publishes to its bus, then exits before the usage sink booked anything.
      const first = await processOn(dir, ledger, { resendUnbookedOnOpen });
      for (const e of sent) await first.outbox.append(e);
      expect(await first.outbox.flush(2_000)).toBe(true);
      await first.outbox.close();
      await first.bus.close();

      // The next process starts on the same directory with an empty bus and a running sink.
      const second = await processOn(dir, ledger, { resendUnbookedOnOpen });
      const booked: string[] = [];
      await second.bus
        .consumer({
          groupId: 'usage-sink',
          handleBatch: (batch) => {
            for (const e of batch.events) {
              booked.push(e.eventId);
              ledger.add(e.eventId);
            }
            return Promise.resolve();
          },
        })
        .start();
      expect(second.outbox.unbookedFor(1)).toHaveLength(2);

      if (resendUnbookedOnOpen) {
        await waitFor(() => booked.length >= 3, 5_000, 'the resent events');
        expect(booked).toEqual(sent.map((e) => e.eventId));
        await second.outbox.prune();
        expect(second.outbox.stats()).toMatchObject({ pending: 0, unbooked: 0 });
      } else {
        // Without it the charges stay in the outbox (and in balances) but never reach the ledger.
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(booked).toEqual([]);
        expect(second.outbox.stats()).toMatchObject({ pending: 0, unbooked: 3 });
      }
    },
  );
});

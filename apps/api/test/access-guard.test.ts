// The access cache of fs.* and run.* against the real PostgreSQL: callers that miss together share one query,
// a decision near the end of its TTL is refreshed in the background while it is still served, and a refresh
// or a deletion is seen within the TTL. Only Date is faked, so the queries are real.
import { randomBytes } from 'node:crypto';
import { UsersRepository } from '@cyber/db';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ACCESS_REFRESH_MS, ACCESS_TTL_MS, ProjectAccessGuard } from '../src/project-handlers.js';
import { ProjectRepository } from '../src/project.repository.js';

let database: TestDatabase;
let projects: ProjectRepository;
let ownerId: number;

beforeAll(async () => {
  database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  projects = new ProjectRepository(database.db);
  const owner = await new UsersRepository(database.db).create({
    username: `guard-${randomBytes(4).toString('hex')}`,
    password_hash: 'not-a-hash',
    role: 'developer',
  });
  ownerId = owner.id;
});

afterAll(async () => {
  await database.close();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/**
 * A new project of the owner and a guard over the real repository, with its queries counted; `settled` waits
 * for the last query.
 */
async function setup() {
  const project = await projects.create({
    ownerId,
    name: `p-${randomBytes(3).toString('hex')}`,
    description: '',
  });
  const find = vi.spyOn(projects, 'findAccessible');
  return {
    projectId: project.id,
    caller: { userId: ownerId, role: 'developer' as const },
    guard: new ProjectAccessGuard(projects),
    queries: () => find.mock.calls.length,
    // The guard chained its own handler onto this promise first, so it has run when this resolves.
    settled: () => Promise.resolve(find.mock.results.at(-1)?.value),
  };
}

describe('ProjectAccessGuard', () => {
  it('sends one query for callers that miss at the same time', async () => {
    const { projectId, caller, guard, queries } = await setup();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => guard.readable(projectId, caller, { cached: true })),
    );
    expect(queries()).toBe(1);
    expect(new Set(answers.map((a) => a.access))).toEqual(new Set(['owner']));
    // Cached now: no further query.
    await guard.readable(projectId, caller, { cached: true });
    expect(queries()).toBe(1);
  });

  it('refreshes a decision near the end of its TTL in the background and keeps serving it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { projectId, caller, guard, queries, settled } = await setup();
    await guard.readable(projectId, caller, { cached: true });
    expect(queries()).toBe(1);

    vi.setSystemTime(Date.now() + ACCESS_REFRESH_MS + 10);
    // Answered from the cache at once; one background query for all of them.
    const answers = await Promise.all(
      [1, 2, 3].map(() => guard.readable(projectId, caller, { cached: true })),
    );
    expect(answers.map((a) => a.access)).toEqual(['owner', 'owner', 'owner']);
    expect(queries()).toBe(2);
    await settled();
    // The refreshed entry is fresh again: past the old entry's TTL it is still served without a query.
    vi.setSystemTime(Date.now() + ACCESS_TTL_MS - ACCESS_REFRESH_MS);
    await guard.readable(projectId, caller, { cached: true });
    expect(queries()).toBe(2);
  });

  it('sees a deletion within the TTL: the refresh drops the entry and the next caller gets not_found', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { projectId, caller, guard, queries, settled } = await setup();
    await guard.readable(projectId, caller, { cached: true });
    // Deleted by another gateway: this one is not told.
    await projects.softDelete(projectId);

    vi.setSystemTime(Date.now() + ACCESS_REFRESH_MS + 10);
    await guard.readable(projectId, caller, { cached: true }); // still served, refresh started
    expect(queries()).toBe(2);
    await settled();
    await expect(guard.readable(projectId, caller, { cached: true })).rejects.toMatchObject({
      key: 'not_found',
    });
  });

  it('refuses a stranger and never caches the refusal', async () => {
    const { projectId, guard, queries } = await setup();
    const stranger = { userId: ownerId + 100_000, role: 'developer' as const };
    for (let i = 0; i < 2; i += 1) {
      await expect(guard.readable(projectId, stranger, { cached: true })).rejects.toMatchObject({
        key: 'not_found',
      });
    }
    expect(queries()).toBe(2);
  });

  it('does not let a query in flight when the project is forgotten fill the cache', async () => {
    const { projectId, caller, guard, queries } = await setup();
    const inFlight = guard.readable(projectId, caller, { cached: true });
    guard.forget(projectId);
    await inFlight;
    await guard.readable(projectId, caller, { cached: true });
    expect(queries()).toBe(2);
  });

  it('always queries for uncached callers (project.* methods)', async () => {
    const { projectId, caller, guard, queries } = await setup();
    await guard.readable(projectId, caller, { cached: true });
    await guard.readable(projectId, caller);
    await guard.readable(projectId, caller);
    expect(queries()).toBe(3);
  });
});

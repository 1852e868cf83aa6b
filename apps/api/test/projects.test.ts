import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestUser } from './test-app.js';

let t: TestApp;
let owner: TestUser;
let stranger: TestUser;
let writer: TestUser;
let reader: TestUser;
let viewer: TestUser;

const NOT_FOUND = -32003;
const FORBIDDEN = -32002;

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.user('developer');
  stranger = await t.user('developer');
  writer = await t.user('developer');
  reader = await t.user('developer');
  viewer = await t.user('viewer');
});
afterAll(async () => {
  await t.close();
});

interface ProjectResult {
  id: string;
  name: string;
  access: string;
  ownerId: number;
  sizeBytes: number;
}

describe('projects', () => {
  it('creates a project from a template with its folder and files', async () => {
    const project = await t.call<ProjectResult>(
      'project.create',
      { name: 'Hello', template: 'python' },
      owner,
    );
    expect(project).toMatchObject({ name: 'Hello', access: 'owner', ownerId: owner.id });
    expect(project.sizeBytes).toBeGreaterThan(0);
    expect(await readdir(join(t.projectsDir, project.id))).toEqual(['main.py']);
    const opened = await t.call<{ tree: { path: string }[]; recentRuns: unknown[]; project: ProjectResult }>(
      'project.open',
      { projectId: project.id },
      owner,
    );
    expect(opened.tree.map((e) => e.path)).toEqual(['main.py']);
    expect(opened.recentRuns).toEqual([]);
  });

  it('lists own projects newest first with a working cursor and a name filter', async () => {
    const user = await t.user('developer');
    for (const name of ['alpha', 'beta', 'gamma']) await t.call('project.create', { name }, user);
    const first = await t.call<{ items: ProjectResult[]; nextCursor: string | null }>(
      'project.list',
      { limit: 2 },
      user,
    );
    expect(first.items.map((p) => p.name)).toEqual(['gamma', 'beta']);
    const second = await t.call<{ items: ProjectResult[]; nextCursor: string | null }>(
      'project.list',
      { limit: 2, cursor: first.nextCursor },
      user,
    );
    expect(second).toMatchObject({ items: [{ name: 'alpha' }], nextCursor: null });
    const filtered = await t.call<{ items: ProjectResult[] }>('project.list', { query: 'ET' }, user);
    expect(filtered.items.map((p) => p.name)).toEqual(['beta']);
    expect((await t.rpc('project.list', { cursor: 'bogus' }, user)).error?.code).toBe(-32602);
  });

  it('renames (owner only) and deletes with the files', async () => {
    const project = await t.call<ProjectResult>('project.create', { name: 'old' }, owner);
    expect(await t.call('project.rename', { projectId: project.id, name: 'new' }, owner)).toMatchObject({
      name: 'new',
    });
    await t.call('project.delete', { projectId: project.id }, owner);
    await expect(access(join(t.projectsDir, project.id))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await t.rpc('project.open', { projectId: project.id }, owner)).error?.code).toBe(NOT_FOUND);
    const list = await t.call<{ items: ProjectResult[] }>('project.list', {}, owner);
    expect(list.items.map((p) => p.id)).not.toContain(project.id);
  });
});

describe('isolation and roles', () => {
  let projectId: string;

  beforeAll(async () => {
    ({ id: projectId } = await t.call<ProjectResult>('project.create', { name: 'shared' }, owner));
    await t.call('fs.write', { projectId, path: 'a.txt', content: 'a' }, owner);
  });

  it('a user never sees another user’s project: every method answers not_found, not forbidden', async () => {
    const calls: [string, Record<string, unknown>][] = [
      ['project.open', { projectId }],
      ['project.rename', { projectId, name: 'x' }],
      ['project.delete', { projectId }],
      ['project.members.list', { projectId }],
      ['project.members.set', { projectId, userId: stranger.id, access: 'write' }],
      ['project.members.remove', { projectId, userId: stranger.id }],
      ['fs.list', { projectId }],
      ['fs.read', { projectId, path: 'a.txt' }],
      ['fs.stat', { projectId, path: 'a.txt' }],
      ['fs.write', { projectId, path: 'a.txt', content: 'x' }],
      ['fs.delete', { projectId, path: 'a.txt' }],
      ['fs.rename', { projectId, from: 'a.txt', to: 'b.txt' }],
      ['fs.mkdir', { projectId, path: 'd' }],
    ];
    for (const [method, params] of calls) {
      const response = await t.rpc(method, params, stranger);
      expect({ method, code: response.error?.code }).toEqual({ method, code: NOT_FOUND });
    }
    // The same answer as for an id that does not exist at all.
    const missing = await t.rpc('fs.read', { projectId: crypto.randomUUID(), path: 'a.txt' }, stranger);
    expect(missing.error?.code).toBe(NOT_FOUND);
    const list = await t.call<{ items: ProjectResult[] }>('project.list', {}, stranger);
    expect(list.items.map((p) => p.id)).not.toContain(projectId);
  });

  it('members see the project; write members edit; read members and viewers cannot write', async () => {
    await t.call('project.members.set', { projectId, userId: writer.id, access: 'write' }, owner);
    await t.call('project.members.set', { projectId, userId: reader.id, access: 'read' }, owner);
    // A viewer-role user is held to read access whatever the owner asks.
    const asViewer = await t.call<{ access: string }>(
      'project.members.set',
      { projectId, userId: viewer.id, access: 'write' },
      owner,
    );
    expect(asViewer.access).toBe('read');

    for (const member of [writer, reader, viewer]) {
      const read = await t.call<{ content: string }>('fs.read', { projectId, path: 'a.txt' }, member);
      expect(read.content).toBe('a');
      const list = await t.call<{ items: ProjectResult[] }>('project.list', {}, member);
      expect(list.items.find((p) => p.id === projectId)?.access).toBe(member === writer ? 'write' : 'read');
    }
    await t.call('fs.write', { projectId, path: 'b.txt', content: 'by writer' }, writer);
    expect((await t.rpc('fs.write', { projectId, path: 'c.txt', content: 'x' }, reader)).error?.code).toBe(
      FORBIDDEN,
    );
    expect((await t.rpc('fs.delete', { projectId, path: 'a.txt' }, reader)).error?.code).toBe(FORBIDDEN);
    // Viewers are stopped by their role before any project check (the contract's access on the method).
    for (const [method, params] of [
      ['fs.write', { projectId, path: 'c.txt', content: 'x' }],
      ['fs.mkdir', { projectId, path: 'd' }],
      ['fs.rename', { projectId, from: 'a.txt', to: 'z.txt' }],
      ['fs.delete', { projectId, path: 'a.txt' }],
      ['project.create', { name: 'nope' }],
    ] as const) {
      expect({ method, code: (await t.rpc(method, params, viewer)).error?.code }).toEqual({
        method,
        code: FORBIDDEN,
      });
    }
    // Members cannot manage the project.
    expect((await t.rpc('project.rename', { projectId, name: 'x' }, writer)).error?.code).toBe(FORBIDDEN);
    expect((await t.rpc('project.delete', { projectId }, writer)).error?.code).toBe(FORBIDDEN);
    expect(
      (await t.rpc('project.members.set', { projectId, userId: stranger.id, access: 'read' }, writer)).error
        ?.code,
    ).toBe(FORBIDDEN);
    expect(
      (await t.rpc('project.members.remove', { projectId, userId: reader.id }, writer)).error?.code,
    ).toBe(FORBIDDEN);
  });

  it('lists members with the owner first; a member may leave; a removed member loses access', async () => {
    const members = await t.call<{ members: { userId: number; access: string }[] }>(
      'project.members.list',
      { projectId },
      reader,
    );
    expect(members.members[0]).toMatchObject({ userId: owner.id, access: 'owner' });
    expect(members.members.map((m) => m.userId).sort()).toEqual(
      [owner.id, writer.id, reader.id, viewer.id].sort(),
    );
    expect(await t.call('project.members.remove', { projectId, userId: reader.id }, reader)).toEqual({
      removed: true,
    });
    expect((await t.rpc('fs.read', { projectId, path: 'a.txt' }, reader)).error?.code).toBe(NOT_FOUND);
    expect(await t.call('project.members.remove', { projectId, userId: writer.id }, owner)).toEqual({
      removed: true,
    });
    expect((await t.rpc('fs.write', { projectId, path: 'a.txt', content: 'x' }, writer)).error?.code).toBe(
      NOT_FOUND,
    );
    expect(
      (await t.rpc('project.members.set', { projectId, userId: 999_999, access: 'read' }, owner)).error?.code,
    ).toBe(NOT_FOUND);
  });

  it('refuses anonymous calls and unknown tokens', async () => {
    expect((await t.rpc('project.list', {})).error?.code).toBe(-32001);
    expect((await t.rpc('project.list', {}, { ...owner, token: 'wrong' })).error?.code).toBe(-32001);
  });
});

describe('run.list', () => {
  it('shows runs of visible projects only, newest first', async () => {
    const { id: projectId } = await t.call<ProjectResult>('project.create', { name: 'runs' }, owner);
    const { RunRepository } = await import('../src/run.repository.js');
    const runs = new RunRepository(t.database.db);
    const started = await runs.start({
      project_id: projectId,
      user_id: owner.id,
      language: 'python',
      entry: 'main.py',
    });
    await runs.finish(started.id, { verdict: 'ok', exit_code: 0, wall_ms: 12, finished_at: new Date() });
    await runs.start({
      project_id: projectId,
      user_id: owner.id,
      language: 'shell',
      command: JSON.stringify(['sh']),
    });
    const list = await t.call<{ items: { status: string; language: string; command: string[] | null }[] }>(
      'run.list',
      { projectId },
      owner,
    );
    expect(list.items.map((r) => [r.status, r.language])).toEqual([
      ['running', 'shell'],
      ['finished', 'python'],
    ]);
    expect(list.items[0]?.command).toEqual(['sh']);
    expect((await t.call<{ items: unknown[] }>('run.list', { projectId }, stranger)).items).toEqual([]);
    const opened = await t.call<{ recentRuns: unknown[] }>('project.open', { projectId }, owner);
    expect(opened.recentRuns).toHaveLength(2);
  });
});

// project.*, fs.* and run.list: the gateway's own families. The rpc plugin has checked the caller's role
// against the contract; here each handler checks the caller's access to the one project it touches. A project
// the caller cannot see answers `not_found` (never `forbidden`), so ids cannot be probed; a project they can
// see but not change answers `forbidden`.
import { RpcError, type Project, type RunSummary } from '@cyber/contract';
import type { ProjectRow, RunRow } from '@cyber/db';
import { defineHandlers, type RpcHandlers } from '@cyber/rpc-server';
import { callerOf, decodeCursor, encodeCursor, type Caller } from './caller.js';
import type { ProjectFiles } from './project-files.js';
import type { AccessibleProject, MemberRow, ProjectRepository } from './project.repository.js';
import { starterFiles } from './project-templates.js';
import type { RunRepository } from './run.repository.js';

/** What the project handlers need. */
export interface ProjectHandlersDeps {
  projects: ProjectRepository;
  runs: RunRepository;
  files: ProjectFiles;
  guard: ProjectAccessGuard;
  /** Called when a project is deleted, before its files go (stops its runs). */
  onDelete?: (projectId: string) => void;
}

/** File operations may reuse an access decision for ACCESS_TTL_MS. */
const CACHED = { cached: true } as const;

/** Runs listed by project.open. */
const RECENT_RUNS = 20;

function toProject(row: ProjectRow, access: AccessibleProject['access']): Project {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    ownerId: row.owner_id,
    access,
    sizeBytes: row.size_bytes,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toMember(member: MemberRow): {
  userId: number;
  username: string;
  access: MemberRow['access'];
  addedAt: string;
} {
  return { ...member, addedAt: member.addedAt.toISOString() };
}

/** A run row as the contract shows it. */
export function toRunSummary(row: RunRow): RunSummary {
  return {
    runId: row.id,
    projectId: row.project_id,
    userId: row.user_id,
    language: row.language,
    entry: row.entry,
    command: row.command,
    status: row.status,
    verdict: row.verdict,
    exitCode: row.exit_code,
    wallMs: row.wall_ms,
    startedAt: row.created_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
  };
}

/** How long an access decision may be reused by fs.* and run.* (as auth's key cache: about a second). */
export const ACCESS_TTL_MS = 1000;
/** A decision older than this is refreshed in the background on its next use, while it is still served. */
export const ACCESS_REFRESH_MS = 750;
const ACCESS_CACHE_MAX = 10_000;

/**
 * Access checks shared by the project, fs and run handlers. File operations are the hot path (an editor
 * reads and saves constantly), so their access decision is cached for about a second; changes made through
 * this gateway (membership, delete) drop the project's entries at once, and another gateway instance's change
 * takes effect within the TTL. project.* methods always read the database.
 *
 * A busy caller never waits on the cache expiring: a decision in the last quarter of its TTL is served while
 * one query refreshes it, and callers that miss at the same time share one query. Without that, every second
 * each request in flight for a project (50 under a load test) sent its own query at the same moment and
 * queued for the pool, which was most of fs.read's tail latency.
 */
export class ProjectAccessGuard {
  readonly #projects: ProjectRepository;
  readonly #cache = new Map<string, { project: AccessibleProject; loadedAt: number }>();
  /** The one query in flight per key; a load stores its answer only while it is still the current one. */
  readonly #loading = new Map<string, Promise<AccessibleProject | undefined>>();

  constructor(projects: ProjectRepository) {
    this.#projects = projects;
  }

  /** The project if the caller owns it or is a member; `not_found` otherwise (never reveals that it exists). */
  async readable(
    projectId: string,
    caller: Caller,
    options: { cached?: boolean } = {},
  ): Promise<AccessibleProject> {
    const key = `${projectId}:${caller.userId}`;
    let project: AccessibleProject | undefined;
    if (options.cached === true) {
      const hit = this.#cache.get(key);
      const age = hit === undefined ? Infinity : Date.now() - hit.loadedAt;
      if (hit !== undefined && age < ACCESS_TTL_MS) {
        if (age >= ACCESS_REFRESH_MS && !this.#loading.has(key)) {
          // A failed refresh changes nothing: the entry expires and the next caller's query reports the error.
          this.#load(key, projectId, caller.userId).catch(() => undefined);
        }
        return hit.project;
      }
      project = await (this.#loading.get(key) ?? this.#load(key, projectId, caller.userId));
    } else {
      project = await this.#load(key, projectId, caller.userId);
    }
    if (project === undefined) throw new RpcError('not_found', { message: 'Project not found' });
    return project;
  }

  /** Reads the decision from the database and caches it as of the query's start. */
  #load(key: string, projectId: string, userId: number): Promise<AccessibleProject | undefined> {
    const startedAt = Date.now();
    const loading: Promise<AccessibleProject | undefined> = this.#projects
      .findAccessible(projectId, userId)
      .then((project) => {
        if (this.#loading.get(key) === loading) {
          if (project === undefined) this.#cache.delete(key);
          else {
            if (this.#cache.size >= ACCESS_CACHE_MAX) this.#cache.clear();
            this.#cache.set(key, { project, loadedAt: startedAt });
          }
        }
        return project;
      })
      .finally(() => {
        if (this.#loading.get(key) === loading) this.#loading.delete(key);
      });
    this.#loading.set(key, loading);
    return loading;
  }

  /** The project if the caller may change its files (owner or write member). */
  async writable(
    projectId: string,
    caller: Caller,
    options: { cached?: boolean } = {},
  ): Promise<AccessibleProject> {
    const project = await this.readable(projectId, caller, options);
    if (project.access === 'read') {
      throw new RpcError('forbidden', { message: 'Read-only access to this project' });
    }
    return project;
  }

  /** The project if the caller owns it. */
  async owned(projectId: string, caller: Caller): Promise<AccessibleProject> {
    const project = await this.readable(projectId, caller);
    if (project.access !== 'owner') {
      throw new RpcError('forbidden', { message: 'Only the owner may do this' });
    }
    return project;
  }

  /** Drops cached decisions about a project (its members changed or it was deleted), and queries in flight. */
  forget(projectId: string): void {
    const prefix = `${projectId}:`;
    for (const key of this.#cache.keys()) if (key.startsWith(prefix)) this.#cache.delete(key);
    for (const key of this.#loading.keys()) if (key.startsWith(prefix)) this.#loading.delete(key);
  }
}

/** Handlers of project.*, fs.* and run.list. */
export function projectHandlers(deps: ProjectHandlersDeps): RpcHandlers {
  const { projects, runs, files, guard } = deps;

  /** After a mutation: the new size goes to the row, and the project moves up in listings. */
  const touched = async (projectId: string): Promise<void> => {
    await projects.touch(projectId, await files.usage(projectId));
  };

  return defineHandlers()({
    'project.create': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const row = await projects.create({
        ownerId: caller.userId,
        name: params.name,
        description: params.description,
      });
      try {
        await files.create(row.id, starterFiles(params.template));
      } catch (error) {
        // No half-made project: the row goes when its folder could not be made.
        await projects.softDelete(row.id);
        await files.remove(row.id).catch(() => undefined);
        throw error;
      }
      const size = await files.usage(row.id);
      if (size > 0) await projects.touch(row.id, size);
      return toProject({ ...row, size_bytes: size }, 'owner');
    },

    'project.list': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const after = decodeCursor(params.cursor);
      const rows = await projects.listAccessible({
        userId: caller.userId,
        query: params.query,
        limit: params.limit + 1,
        after: after === undefined ? undefined : { updatedAt: after.at, id: after.id },
      });
      const page = rows.slice(0, params.limit);
      const last = page.at(-1);
      return {
        items: page.map((row) => toProject(row, row.access)),
        nextCursor:
          rows.length > params.limit && last !== undefined
            ? encodeCursor({ at: last.updated_at, id: last.id })
            : null,
      };
    },

    'project.open': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const project = await guard.readable(params.projectId, caller);
      const tree = await files.list({
        projectId: project.id,
        recursive: true,
        maxEntries: params.maxEntries,
      });
      const recent = await runs.listVisible({
        userId: caller.userId,
        projectId: project.id,
        limit: RECENT_RUNS,
      });
      return {
        project: toProject(project, project.access),
        tree: tree.entries,
        treeTruncated: tree.truncated,
        recentRuns: recent.map(toRunSummary),
      };
    },

    'project.rename': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      await guard.owned(params.projectId, caller);
      const row = await projects.rename(params.projectId, params.name);
      if (row === undefined) throw new RpcError('not_found', { message: 'Project not found' });
      return toProject(row, 'owner');
    },

    'project.delete': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      await guard.owned(params.projectId, caller);
      // The row first: from here on nobody can open the project, then the files go.
      await projects.softDelete(params.projectId);
      guard.forget(params.projectId);
      deps.onDelete?.(params.projectId);
      await files.remove(params.projectId);
      return { deleted: true as const };
    },

    'project.members.list': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const project = await guard.readable(params.projectId, caller);
      return { members: (await projects.listMembers(project)).map(toMember) };
    },

    'project.members.set': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const project = await guard.owned(params.projectId, caller);
      if (params.userId === project.owner_id) {
        throw new RpcError('invalid_params', {
          message: 'The owner is not a member; ownership cannot change here',
          data: { reason: 'owner' },
        });
      }
      const user = await projects.findUser(params.userId);
      if (user === undefined) throw new RpcError('not_found', { message: 'User not found' });
      // A viewer cannot write anywhere, so a write membership would only mislead.
      const access = user.role === 'viewer' ? 'read' : params.access;
      const member = await projects.setMember({ projectId: project.id, userId: user.id, access });
      guard.forget(project.id);
      return toMember(member);
    },

    'project.members.remove': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const project = await guard.readable(params.projectId, caller);
      if (params.userId === project.owner_id) {
        throw new RpcError('invalid_params', {
          message: 'The owner cannot be removed; delete the project instead',
          data: { reason: 'owner' },
        });
      }
      if (project.access !== 'owner' && params.userId !== caller.userId) {
        throw new RpcError('forbidden', { message: 'Only the owner may remove other members' });
      }
      const removed = await projects.removeMember(project.id, params.userId);
      guard.forget(project.id);
      return { removed };
    },

    'fs.list': async (params, ctx) => {
      await guard.readable(params.projectId, callerOf(ctx.identity), CACHED);
      return files.list(params);
    },

    'fs.read': async (params, ctx) => {
      await guard.readable(params.projectId, callerOf(ctx.identity), CACHED);
      return files.read(params);
    },

    'fs.stat': async (params, ctx) => {
      await guard.readable(params.projectId, callerOf(ctx.identity), CACHED);
      return files.stat(params);
    },

    'fs.write': async (params, ctx) => {
      await guard.writable(params.projectId, callerOf(ctx.identity), CACHED);
      const result = await files.write(params);
      await touched(params.projectId);
      return result;
    },

    'fs.delete': async (params, ctx) => {
      await guard.writable(params.projectId, callerOf(ctx.identity), CACHED);
      const result = await files.delete(params);
      await touched(params.projectId);
      return result;
    },

    'fs.rename': async (params, ctx) => {
      await guard.writable(params.projectId, callerOf(ctx.identity), CACHED);
      const result = await files.rename(params);
      await touched(params.projectId);
      return result;
    },

    'fs.mkdir': async (params, ctx) => {
      await guard.writable(params.projectId, callerOf(ctx.identity), CACHED);
      const result = await files.mkdir(params);
      if (result.created) await touched(params.projectId);
      return result;
    },

    'run.list': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const after = decodeCursor(params.cursor);
      const rows = await runs.listVisible({
        userId: caller.userId,
        projectId: params.projectId,
        status: params.status,
        limit: params.limit + 1,
        after: after === undefined ? undefined : { createdAt: after.at, id: after.id },
      });
      const page = rows.slice(0, params.limit);
      const last = page.at(-1);
      return {
        items: page.map(toRunSummary),
        nextCursor:
          rows.length > params.limit && last !== undefined
            ? encodeCursor({ at: last.created_at, id: last.id })
            : null,
      };
    },
  });
}

// Projects and their members: the only file that builds SQL for `projects` and `project_members`.
// Every read filters on the caller: a project is visible only to its owner and its members, and deleted
// projects to nobody, so handlers cannot forget the check.
import type { ProjectMemberAccess, ProjectRow, DB } from '@cyber/db';
import type { Kysely } from 'kysely';

/** What a caller may do in a project. */
export type Access = 'owner' | ProjectMemberAccess;

/** A project row with the caller's access to it. */
export type AccessibleProject = ProjectRow & { access: Access };

/** A member as listed, with the username. */
export interface MemberRow {
  userId: number;
  username: string;
  access: Access;
  addedAt: Date;
}

/** Keyset position of a page: the last row of the previous page. */
export interface ProjectPosition {
  updatedAt: Date;
  id: string;
}

/** Options of {@link ProjectRepository.listAccessible}. */
export interface ListProjectsOptions {
  userId: number;
  /** Case-insensitive substring of the name. */
  query?: string | undefined;
  limit: number;
  after?: ProjectPosition | undefined;
}

/** Options of {@link ProjectRepository.setMember}. */
export interface SetMemberOptions {
  projectId: string;
  userId: number;
  access: ProjectMemberAccess;
}

/** A user as this service needs to know one. */
export interface UserSummary {
  id: number;
  username: string;
  role: 'admin' | 'developer' | 'viewer';
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** Reads and writes `projects` and `project_members`. */
export class ProjectRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Inserts a project owned by `ownerId`. */
  async create(project: { ownerId: number; name: string; description: string }): Promise<ProjectRow> {
    return this.#db
      .insertInto('projects')
      .values({ owner_id: project.ownerId, name: project.name, description: project.description })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** The live project with this id if `userId` owns it or is a member, with their access; else undefined. */
  async findAccessible(projectId: string, userId: number): Promise<AccessibleProject | undefined> {
    const row = await this.#accessibleQuery(userId).where('p.id', '=', projectId).executeTakeFirst();
    return row === undefined ? undefined : withAccess(row, userId);
  }

  /** Live projects `userId` owns or is a member of, most recently updated first. */
  async listAccessible(options: ListProjectsOptions): Promise<AccessibleProject[]> {
    let query = this.#accessibleQuery(options.userId);
    if (options.query !== undefined) {
      query = query.where('p.name', 'ilike', `%${escapeLike(options.query)}%`);
    }
    const after = options.after;
    if (after !== undefined) {
      query = query.where((eb) =>
        eb(eb.refTuple('p.updated_at', 'p.id'), '<', eb.tuple(after.updatedAt, after.id)),
      );
    }
    const rows = await query
      .orderBy('p.updated_at', 'desc')
      .orderBy('p.id', 'desc')
      .limit(options.limit)
      .execute();
    return rows.map((row) => withAccess(row, options.userId));
  }

  /** Renames a live project; returns the updated row, or undefined when it does not exist. */
  async rename(projectId: string, name: string): Promise<ProjectRow | undefined> {
    return this.#db
      .updateTable('projects')
      .set((eb) => ({ name, updated_at: eb.fn('date_trunc', [eb.val('milliseconds'), eb.fn('now')]) }))
      .where('id', '=', projectId)
      .where('deleted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  /** Records that the project's files changed: new size, and it moves to the top of listings. */
  async touch(projectId: string, sizeBytes: number): Promise<void> {
    await this.#db
      .updateTable('projects')
      .set((eb) => ({
        size_bytes: sizeBytes,
        updated_at: eb.fn('date_trunc', [eb.val('milliseconds'), eb.fn('now')]),
      }))
      .where('id', '=', projectId)
      .where('deleted_at', 'is', null)
      .execute();
  }

  /** Marks a project deleted; true when it was live. */
  async softDelete(projectId: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('projects')
      .set((eb) => ({ deleted_at: eb.fn('now') }))
      .where('id', '=', projectId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** The owner first, then members by username. */
  async listMembers(project: ProjectRow): Promise<MemberRow[]> {
    const owner = await this.#db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('id', '=', project.owner_id)
      .executeTakeFirst();
    const members = await this.#db
      .selectFrom('project_members as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.user_id', 'u.username', 'm.access', 'm.added_at'])
      .where('m.project_id', '=', project.id)
      .orderBy('u.username')
      .execute();
    return [
      ...(owner === undefined
        ? []
        : [
            {
              userId: owner.id,
              username: owner.username,
              access: 'owner' as const,
              addedAt: project.created_at,
            },
          ]),
      ...members.map((m) => ({
        userId: m.user_id,
        username: m.username,
        access: m.access,
        addedAt: m.added_at,
      })),
    ];
  }

  /** Adds a member or changes their access; returns the member as listed. */
  async setMember(options: SetMemberOptions): Promise<MemberRow> {
    const row = await this.#db
      .insertInto('project_members')
      .values({ project_id: options.projectId, user_id: options.userId, access: options.access })
      .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ access: options.access }))
      .returningAll()
      .executeTakeFirstOrThrow();
    const user = await this.findUser(options.userId);
    return { userId: row.user_id, username: user?.username ?? '', access: row.access, addedAt: row.added_at };
  }

  /** Removes a member; true when they were one. */
  async removeMember(projectId: string, userId: number): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('project_members')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** A user by id (for membership changes). */
  async findUser(userId: number): Promise<UserSummary | undefined> {
    return this.#db
      .selectFrom('users')
      .select(['id', 'username', 'role'])
      .where('id', '=', userId)
      .executeTakeFirst();
  }

  /** Answers the readiness probe: one round trip to the database. */
  async ping(): Promise<void> {
    await this.#db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
  }

  #accessibleQuery(userId: number) {
    return this.#db
      .selectFrom('projects as p')
      .leftJoin('project_members as m', (join) =>
        join.onRef('m.project_id', '=', 'p.id').on('m.user_id', '=', userId),
      )
      .selectAll('p')
      .select('m.access as member_access')
      .where('p.deleted_at', 'is', null)
      .where((eb) => eb.or([eb('p.owner_id', '=', userId), eb('m.user_id', 'is not', null)]));
  }
}

function withAccess(
  row: ProjectRow & { member_access: ProjectMemberAccess | null },
  userId: number,
): AccessibleProject {
  const { member_access: memberAccess, ...project } = row;
  return { ...project, access: project.owner_id === userId ? 'owner' : (memberAccess ?? 'read') };
}

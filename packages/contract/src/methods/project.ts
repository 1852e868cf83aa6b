import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { Count, pageOf, pageParams, ProjectId, Timestamp, UserId } from '../schemas/common.js';
import { FsEntry } from './fs.js';
import { RunSummary } from './run.js';

/** What the caller may do in a project: owners manage it, writers edit and run, readers look. */
export const ProjectAccess = z.enum(['owner', 'write', 'read']);
/** Project access type. */
export type ProjectAccess = z.infer<typeof ProjectAccess>;

/** A project name as users see it (the folder on disk is named by the id, never by this). */
export const ProjectName = z.string().trim().min(1).max(100).describe('Display name, 1..100 characters.');

/** A project's metadata. */
export const Project = z.object({
  id: ProjectId,
  name: ProjectName,
  description: z.string().max(2000),
  ownerId: UserId,
  access: ProjectAccess.describe('The caller’s access to this project.'),
  sizeBytes: Count.describe('Bytes the project’s files take.'),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
/** Project type. */
export type Project = z.infer<typeof Project>;

/** A member of a project and what they may do there. */
export const ProjectMember = z.object({
  userId: UserId,
  username: z.string().max(64),
  access: ProjectAccess,
  addedAt: Timestamp,
});
/** Project member type. */
export type ProjectMember = z.infer<typeof ProjectMember>;

/** Projects: a folder of files plus metadata, owned by a user and shared with members. */
export const projectMethods = {
  'project.create': defineMethod({
    description: 'Creates a project owned by the caller, optionally from a starter template.',
    access: 'developer',
    params: z.strictObject({
      name: ProjectName,
      description: z.string().max(2000).default(''),
      template: z
        .enum(['empty', 'node', 'python', 'shell'])
        .default('empty')
        .describe('Starter files to create.'),
    }),
    result: Project,
  }),
  'project.list': defineMethod({
    description: 'Projects the caller owns or is a member of, most recently updated first.',
    access: 'viewer',
    params: z
      .strictObject({
        ...pageParams,
        query: z.string().min(1).max(100).optional().describe('Name contains this (case-insensitive).'),
      })
      .prefault({}),
    result: pageOf(Project),
  }),
  'project.open': defineMethod({
    description: 'A project with its file tree (depth-limited) and recent runs, for opening it in the IDE.',
    access: 'viewer',
    params: z.strictObject({
      projectId: ProjectId,
      maxEntries: z.number().int().min(1).max(10_000).default(2000).describe('Cap on tree entries.'),
    }),
    result: z.object({
      project: Project,
      tree: z.array(FsEntry).max(10_000).describe('Every entry, directories first, in path order.'),
      treeTruncated: z.boolean(),
      recentRuns: z.array(RunSummary).max(20),
    }),
  }),
  'project.rename': defineMethod({
    description: 'Renames a project (owner only).',
    access: 'developer',
    params: z.strictObject({ projectId: ProjectId, name: ProjectName }),
    result: Project,
  }),
  'project.delete': defineMethod({
    description: 'Deletes a project with its files and run history (owner only).',
    access: 'developer',
    params: z.strictObject({ projectId: ProjectId }),
    result: z.object({ deleted: z.literal(true) }),
  }),
  'project.members.list': defineMethod({
    description: 'The owner and members of a project with their access.',
    access: 'viewer',
    params: z.strictObject({ projectId: ProjectId }),
    result: z.object({ members: z.array(ProjectMember).max(1000) }),
  }),
  'project.members.set': defineMethod({
    description:
      'Adds a member or changes their access (owner only). A viewer-role user gets read access whatever is asked.',
    access: 'developer',
    params: z.strictObject({
      projectId: ProjectId,
      userId: UserId,
      access: z.enum(['write', 'read']).describe('Ownership is not transferable through this method.'),
    }),
    result: ProjectMember,
  }),
  'project.members.remove': defineMethod({
    description: 'Removes a member (owner only, or a member leaving).',
    access: 'viewer',
    params: z.strictObject({ projectId: ProjectId, userId: UserId }),
    result: z.object({ removed: z.boolean().describe('False when the user was not a member.') }),
  }),
} as const;

import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { Count, ProjectId, ProjectPath, Timestamp } from '../schemas/common.js';

/** Largest `content` string `fs.write` accepts (characters); the server's per-file limit is usually lower. */
export const MAX_WRITE_CONTENT_LENGTH = 16 * 1024 * 1024;

/**
 * Opaque version of a file's content (the server uses a content hash). Pass it back as `expectedVersion` so two
 * editors never silently overwrite each other.
 */
export const FileVersion = z.string().min(1).max(128).describe('Opaque content version (e.g. a sha256).');

/** How file content travels: UTF-8 text, or base64 for binary. */
export const ContentEncoding = z
  .enum(['utf8', 'base64'])
  .describe('utf8 for text, base64 for binary content.');
/** Content encoding type. */
export type ContentEncoding = z.infer<typeof ContentEncoding>;

/** Kind of a directory entry. Symlinks are listed so users see them, but `fs.*` never follows one. */
export const FsEntryType = z.enum(['file', 'directory', 'symlink']);

/** One file, directory or symlink in a project. */
export const FsEntry = z.object({
  path: ProjectPath,
  name: z.string().max(255),
  type: FsEntryType,
  size: Count.describe('Bytes (0 for directories).'),
  modifiedAt: Timestamp,
  version: FileVersion.nullable().describe('Content version of a file; null for directories and symlinks.'),
});
/** Directory entry type. */
export type FsEntry = z.infer<typeof FsEntry>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Project files. Every path is relative to the project root and must stay inside it. */
export const fsMethods = {
  'fs.list': defineMethod({
    description: 'Lists a directory (or the whole tree with `recursive`), directories first, then by name.',
    access: 'viewer',
    params: z.strictObject({
      projectId: ProjectId,
      path: ProjectPath.optional().describe('Directory to list; omitted means the project root.'),
      recursive: z.boolean().default(false),
      maxEntries: z
        .number()
        .int()
        .min(1)
        .max(10_000)
        .default(1000)
        .describe('Stop after this many entries and set `truncated`.'),
    }),
    result: z.object({
      entries: z.array(FsEntry).max(10_000),
      truncated: z.boolean().describe('True when more entries exist than `maxEntries`.'),
    }),
  }),
  'fs.read': defineMethod({
    description: 'Reads a file. `auto` returns text as utf8 and anything else as base64.',
    access: 'viewer',
    params: z.strictObject({
      projectId: ProjectId,
      path: ProjectPath,
      encoding: z.enum(['utf8', 'base64', 'auto']).default('auto'),
    }),
    result: z.object({
      path: ProjectPath,
      content: z.string(),
      encoding: ContentEncoding,
      size: Count.describe('Bytes on disk.'),
      version: FileVersion,
      modifiedAt: Timestamp,
    }),
  }),
  'fs.write': defineMethod({
    description:
      'Writes a file atomically, creating parent directories. With `expectedVersion` the write fails with ' +
      '`conflict` when the file changed meanwhile; null means the file must not exist yet.',
    access: 'developer',
    params: z
      .strictObject({
        projectId: ProjectId,
        path: ProjectPath,
        content: z.string().max(MAX_WRITE_CONTENT_LENGTH).describe('File content in `encoding`.'),
        encoding: ContentEncoding.default('utf8'),
        expectedVersion: FileVersion.nullable()
          .optional()
          .describe('Version the caller last read; null = create only; omitted = overwrite unconditionally.'),
        createParents: z.boolean().default(true),
      })
      .refine((p) => p.encoding !== 'base64' || (p.content.length % 4 === 0 && BASE64.test(p.content)), {
        message: 'content is not valid base64',
        path: ['content'],
      }),
    result: z.object({
      path: ProjectPath,
      version: FileVersion.describe('Version of the content just written.'),
      size: Count,
      created: z.boolean().describe('True when the file did not exist before.'),
    }),
  }),
  'fs.delete': defineMethod({
    description: 'Deletes a file, or a directory (non-empty only with `recursive`).',
    access: 'developer',
    params: z.strictObject({
      projectId: ProjectId,
      path: ProjectPath,
      recursive: z.boolean().default(false),
      expectedVersion: FileVersion.optional().describe('Delete a file only if it is still at this version.'),
    }),
    result: z.object({ deleted: z.literal(true) }),
  }),
  'fs.rename': defineMethod({
    description: 'Moves or renames a file or directory within the project.',
    access: 'developer',
    params: z.strictObject({
      projectId: ProjectId,
      from: ProjectPath,
      to: ProjectPath,
      overwrite: z.boolean().default(false).describe('Replace an existing file at `to`.'),
    }),
    result: z.object({ entry: FsEntry }),
  }),
  'fs.mkdir': defineMethod({
    description: 'Creates a directory (and its parents); succeeds when it already exists.',
    access: 'developer',
    params: z.strictObject({ projectId: ProjectId, path: ProjectPath }),
    result: z.object({ entry: FsEntry, created: z.boolean() }),
  }),
  'fs.stat': defineMethod({
    description: 'Metadata of one file, directory or symlink.',
    access: 'viewer',
    params: z.strictObject({ projectId: ProjectId, path: ProjectPath }),
    result: FsEntry,
  }),
} as const;

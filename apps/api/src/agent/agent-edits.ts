// Edits the agent proposes: computed against the file as it is now (its version recorded), stored in PostgreSQL
// as pending, and written only when the user accepts them (or at once when the session auto-applies), through
// ProjectFiles with the version the proposal was based on, so a file changed meanwhile is a conflict and not
// overwritten. Every decision is recorded with who made it.
import { isRpcError, RpcError, type EditProposal } from '@cyber/contract';
import type { ProjectFiles } from '../project-files.js';
import type { AgentEditRow, AgentRepository } from './agent.repository.js';
import { unifiedDiff } from './edit-diff.js';

/** What the model asks for with proposeEdit. */
export type EditRequest =
  | { operation: 'create'; path: string; content: string }
  | { operation: 'replaceRange'; path: string; startLine: number; endLine: number; content: string }
  | { operation: 'searchReplace'; path: string; search: string; replace: string }
  | { operation: 'delete'; path: string };

/** The edit row as the contract shows it. */
export function editOf(row: AgentEditRow): EditProposal {
  return {
    id: row.id,
    sessionId: row.session_id,
    turnId: row.turn_id,
    path: row.path,
    operation: row.operation,
    diff: row.diff,
    baseVersion: row.base_version,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    decidedAt: row.decided_at === null ? null : row.decided_at.toISOString(),
    decidedBy: row.decided_by,
  };
}

function refuse(message: string): RpcError {
  return new RpcError('invalid_params', { message, data: { reason: 'edit' } });
}

/** Current utf8 content and version of a file; null/null when it does not exist. */
async function current(
  files: ProjectFiles,
  projectId: string,
  path: string,
): Promise<{ content: string | null; version: string | null }> {
  try {
    const file = await files.read({ projectId, path, encoding: 'auto' });
    if (file.encoding !== 'utf8') throw refuse(`${path} is not a text file`);
    return { content: file.content, version: file.version };
  } catch (error) {
    if (isRpcError(error, 'not_found')) return { content: null, version: null };
    throw error;
  }
}

/** The new content of an edit against `before` (null = no file); throws invalid_params when it cannot apply. */
export function applyEdit(before: string | null, edit: EditRequest): string | null {
  switch (edit.operation) {
    case 'create':
      if (before !== null) throw refuse(`${edit.path} exists: use replaceRange or searchReplace`);
      return edit.content;
    case 'delete':
      if (before === null) throw refuse(`${edit.path} does not exist`);
      return null;
    case 'replaceRange': {
      if (before === null) throw refuse(`${edit.path} does not exist: use create`);
      const lines = before.split('\n');
      const trailingNewline = before.endsWith('\n');
      if (trailingNewline) lines.pop();
      const { startLine, endLine } = edit;
      if (startLine < 1 || endLine < startLine - 1 || endLine > lines.length) {
        throw refuse(`Lines ${startLine}-${endLine} are outside ${edit.path} (1-${lines.length})`);
      }
      const replacement = edit.content === '' ? [] : edit.content.replace(/\n$/, '').split('\n');
      lines.splice(startLine - 1, endLine - startLine + 1, ...replacement);
      return lines.join('\n') + (trailingNewline || lines.length === 0 ? '\n' : '');
    }
    case 'searchReplace': {
      if (before === null) throw refuse(`${edit.path} does not exist: use create`);
      if (edit.search === '') throw refuse('search is empty');
      const at = before.indexOf(edit.search);
      if (at < 0) throw refuse(`search text not found in ${edit.path}`);
      if (before.indexOf(edit.search, at + 1) >= 0) {
        throw refuse(`search text occurs more than once in ${edit.path}: include more context`);
      }
      return before.slice(0, at) + edit.replace + before.slice(at + edit.search.length);
    }
  }
}

/** Proposes, applies and decides agent edits. */
export class AgentEdits {
  readonly #repository: AgentRepository;
  readonly #files: ProjectFiles;

  constructor(repository: AgentRepository, files: ProjectFiles) {
    this.#repository = repository;
    this.#files = files;
  }

  /** Computes an edit against the file as it is, and stores it as pending. */
  async propose(options: {
    sessionId: string;
    turnId: string;
    projectId: string;
    edit: EditRequest;
  }): Promise<AgentEditRow> {
    const { edit } = options;
    const before = await current(this.#files, options.projectId, edit.path);
    const after = applyEdit(before.content, edit);
    return this.#repository.addEdit({
      session_id: options.sessionId,
      turn_id: options.turnId,
      path: edit.path,
      operation: edit.operation,
      diff: unifiedDiff(edit.path, before.content, after),
      base_version: before.version,
      new_content: after,
    });
  }

  /**
   * Accepts (writes) or rejects a pending edit. The row is claimed first (pending → applied), so two decisions
   * never both write; a file that changed since the proposal turns the claim into `conflict`.
   */
  async decide(
    row: AgentEditRow,
    options: { projectId: string; decision: 'accept' | 'reject'; decidedBy: number | null },
  ): Promise<AgentEditRow> {
    if (options.decision === 'reject') {
      return (
        (await this.#repository.decideEdit(row.id, { status: 'rejected', decidedBy: options.decidedBy })) ??
        row
      );
    }
    const claimed = await this.#repository.decideEdit(row.id, {
      status: 'applied',
      decidedBy: options.decidedBy,
    });
    if (claimed === undefined) return row;
    try {
      if (claimed.new_content === null) {
        if (claimed.base_version === null) throw new RpcError('conflict');
        await this.#files.delete({
          projectId: options.projectId,
          path: claimed.path,
          recursive: false,
          expectedVersion: claimed.base_version,
        });
      } else {
        await this.#files.write({
          projectId: options.projectId,
          path: claimed.path,
          content: claimed.new_content,
          encoding: 'utf8',
          expectedVersion: claimed.base_version,
          createParents: true,
        });
      }
      return claimed;
    } catch (error) {
      // A file changed or removed since the proposal: recorded as a conflict, nothing written.
      if (isRpcError(error, 'conflict') || isRpcError(error, 'not_found')) {
        return this.#repository.markEdit(claimed.id, 'conflict');
      }
      // Anything else (project full…): back to pending, so the user can decide again.
      await this.#repository.markEdit(claimed.id, 'pending');
      throw error;
    }
  }
}

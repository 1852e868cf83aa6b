// The agent's tools over one project: list files, read a file, search the project, propose an edit, run a
// command in the sandbox (the run.exec machinery with its limits and its `runs` record). Each answers text for
// the model, cut to MAX_TOOL_RESULT_CHARS with a visible marker; an error is an `ok: false` result the model can
// react to, never a failed turn.
import { isRpcError, type AgentTool, type RunLanguage, type ToolDefinition } from '@cyber/contract';
import type { ProjectFiles } from '../project-files.js';
import type { EditRequest } from './agent-edits.js';

/** Longest tool result the model sees, in characters. */
export const MAX_TOOL_RESULT_CHARS = 8_000;
/** Most entries listFiles shows. */
export const MAX_LIST_ENTRIES = 300;
/** Most lines readFile returns in one call. */
export const MAX_READ_LINES = 400;
/** Most matches searchProject reports, files it reads, and bytes of one file it searches. */
export const SEARCH_LIMITS = { matches: 50, files: 2_000, fileBytes: 256 * 1024, lineChars: 200 } as const;
/** Characters of stdout and of stderr of a run the model sees. */
export const MAX_RUN_OUTPUT_CHARS = 3_000;

const path = {
  type: 'string',
  minLength: 1,
  maxLength: 200,
  description: 'Path relative to the project root',
};
const shortText = (description: string) => ({ type: 'string', maxLength: 4000, description });
// Only the JSON Schema subset llmserver's grammar enforces: no minimum/maximum (ranges are checked by the tools).
const line = (description: string) => ({ type: 'integer', description });

/** Definitions of the tools as the model gets them. */
export const AGENT_TOOL_DEFINITIONS: ToolDefinition[] = [
  {
    name: 'listFiles',
    description: 'List files of the project (recursively), or of one folder.',
    parameters: { type: 'object', properties: { path }, required: [] },
  },
  {
    name: 'readFile',
    description: `Read a text file with line numbers (at most ${MAX_READ_LINES} lines per call).`,
    parameters: {
      type: 'object',
      properties: { path, startLine: line('First line to show, from 1') },
      required: ['path'],
    },
  },
  {
    name: 'searchProject',
    description: 'Search every text file of the project for a plain string; answers path:line: text.',
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', minLength: 1, maxLength: 200 } },
      required: ['query'],
    },
  },
  {
    name: 'proposeEdit',
    description:
      'Propose a file change for the user to review: create (content), replaceRange (startLine, endLine, ' +
      'content), searchReplace (search, replace) or delete.',
    parameters: {
      type: 'object',
      properties: {
        operation: { enum: ['create', 'replaceRange', 'searchReplace', 'delete'] },
        path,
        content: shortText('New text (create, replaceRange)'),
        startLine: line('First line replaced, from 1'),
        endLine: line('Last line replaced (startLine - 1 inserts)'),
        search: shortText('Exact text to find (searchReplace)'),
        replace: shortText('Replacement (searchReplace)'),
      },
      required: ['operation', 'path'],
    },
  },
  {
    name: 'runCommand',
    description:
      'Run a shell command (e.g. python3 main.py) in the sandbox with the project as the working directory, ' +
      'in the runtime of `language`; answers the exit code and the output.',
    parameters: {
      type: 'object',
      properties: {
        language: { enum: ['python', 'node', 'shell'] },
        command: {
          type: 'string',
          minLength: 1,
          maxLength: 1000,
          description: 'Shell command, run with sh -c',
        },
      },
      required: ['language', 'command'],
    },
  },
];

/** What a tool answered. */
export interface ToolOutcome {
  ok: boolean;
  content: string;
  truncated: boolean;
}

/** What a sandbox run answered, as far as the agent needs it. */
export interface AgentRunResult {
  runId: string;
  verdict: string;
  exitCode: number | null;
  wallMs: number;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** Runs a command for the agent (the gateway's run.exec as the caller); `signal` stops the run. */
export type AgentRunExecutor = (
  request: { projectId: string; language: RunLanguage; entry?: string; command?: string[] },
  signal: AbortSignal,
) => Promise<AgentRunResult>;

/** What the tools need for one turn. */
export interface AgentToolContext {
  projectId: string;
  files: ProjectFiles;
  run: AgentRunExecutor | undefined;
  /** Stores a proposal (and applies it when the session auto-applies); answers what the model should hear. */
  proposeEdit: (edit: EditRequest) => Promise<string>;
  signal: AbortSignal;
}

/** Cuts `text` to `max` characters with a marker saying how much was left out. */
export function truncate(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  return {
    text: `${text.slice(0, max)}\n…[truncated: ${text.length - max} more characters]`,
    truncated: true,
  };
}

function str(args: Record<string, unknown>, key: string): string | undefined {
  const value = args[key];
  return typeof value === 'string' ? value : undefined;
}

function int(args: Record<string, unknown>, key: string): number | undefined {
  const value = args[key];
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

class ToolInputError extends Error {}

function need(args: Record<string, unknown>, key: string): string {
  const value = str(args, key);
  if (value === undefined || value === '') throw new ToolInputError(`missing argument: ${key}`);
  return value;
}

/** Whether `name` is one of the agent's tools. */
export function isAgentTool(name: string): name is AgentTool {
  return AGENT_TOOL_DEFINITIONS.some((tool) => tool.name === name);
}

/** Runs one tool call; never throws for the model's mistakes (they come back as ok: false). */
export async function runTool(
  tool: AgentTool,
  args: Record<string, unknown>,
  ctx: AgentToolContext,
): Promise<ToolOutcome> {
  let content: string;
  try {
    content = await dispatch(tool, args, ctx);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    if (error instanceof ToolInputError || isRpcError(error)) {
      const { text, truncated } = truncate(`Error: ${error.message}`, MAX_TOOL_RESULT_CHARS);
      return { ok: false, content: text, truncated };
    }
    throw error;
  }
  const { text, truncated } = truncate(content, MAX_TOOL_RESULT_CHARS);
  return { ok: true, content: text, truncated };
}

async function dispatch(
  tool: AgentTool,
  args: Record<string, unknown>,
  ctx: AgentToolContext,
): Promise<string> {
  switch (tool) {
    case 'listFiles':
      return listFiles(ctx, str(args, 'path'));
    case 'readFile':
      return readFile(ctx, need(args, 'path'), int(args, 'startLine') ?? 1);
    case 'searchProject':
      return searchProject(ctx, need(args, 'query'));
    case 'proposeEdit':
      return ctx.proposeEdit(editRequestOf(args));
    case 'runCommand':
      return runCommand(ctx, args);
  }
}

async function listFiles(ctx: AgentToolContext, path: string | undefined): Promise<string> {
  const listing = await ctx.files.list({
    projectId: ctx.projectId,
    ...(path === undefined || path === '' || path === '.' ? {} : { path }),
    recursive: true,
    maxEntries: MAX_LIST_ENTRIES,
  });
  const lines = listing.entries.map((entry) =>
    entry.type === 'directory' ? `${entry.path}/` : `${entry.path} (${entry.size} bytes)`,
  );
  if (listing.truncated) lines.push(`…[more than ${MAX_LIST_ENTRIES} entries; list a folder]`);
  return lines.length === 0 ? '(empty)' : lines.join('\n');
}

async function readFile(ctx: AgentToolContext, path: string, startLine: number): Promise<string> {
  const file = await ctx.files.read({ projectId: ctx.projectId, path, encoding: 'auto' });
  if (file.encoding !== 'utf8') return `${path} is a binary file (${file.size} bytes)`;
  const lines = file.content.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const from = Math.max(1, startLine);
  const to = Math.min(lines.length, from + MAX_READ_LINES - 1);
  const numbered = lines.slice(from - 1, to).map((line, index) => `${from + index}| ${line}`);
  if (from > lines.length) return `${path} has ${lines.length} lines: startLine ${from} is past the end`;
  const more = to < lines.length ? `\n…[lines ${to + 1}-${lines.length} not shown: read with startLine]` : '';
  return `${path} (${lines.length} lines)\n${numbered.join('\n')}${more}`;
}

async function searchProject(ctx: AgentToolContext, query: string): Promise<string> {
  const listing = await ctx.files.list({
    projectId: ctx.projectId,
    recursive: true,
    maxEntries: SEARCH_LIMITS.files,
  });
  const matches: string[] = [];
  let skipped = 0;
  for (const entry of listing.entries) {
    if (entry.type !== 'file') continue;
    if (entry.size > SEARCH_LIMITS.fileBytes) {
      skipped += 1;
      continue;
    }
    if (ctx.signal.aborted) break;
    let content: string;
    try {
      const file = await ctx.files.read({ projectId: ctx.projectId, path: entry.path, encoding: 'auto' });
      if (file.encoding !== 'utf8') continue;
      content = file.content;
    } catch {
      continue; // Removed or changed into something unreadable since the listing.
    }
    if (!content.includes(query)) continue;
    const lines = content.split('\n');
    for (let i = 0; i < lines.length && matches.length < SEARCH_LIMITS.matches; i += 1) {
      const line = lines[i] ?? '';
      if (line.includes(query))
        matches.push(`${entry.path}:${i + 1}: ${line.slice(0, SEARCH_LIMITS.lineChars)}`);
    }
    if (matches.length >= SEARCH_LIMITS.matches) {
      matches.push(`…[stopped at ${SEARCH_LIMITS.matches} matches]`);
      break;
    }
  }
  if (listing.truncated) matches.push(`…[searched the first ${SEARCH_LIMITS.files} entries only]`);
  if (skipped > 0) matches.push(`…[${skipped} files over ${SEARCH_LIMITS.fileBytes} bytes not searched]`);
  return matches.length === 0 ? `No matches for ${JSON.stringify(query)}` : matches.join('\n');
}

function editRequestOf(args: Record<string, unknown>): EditRequest {
  const operation = need(args, 'operation');
  const path = need(args, 'path');
  switch (operation) {
    case 'create':
      return { operation, path, content: str(args, 'content') ?? '' };
    case 'delete':
      return { operation, path };
    case 'replaceRange': {
      const startLine = int(args, 'startLine');
      const endLine = int(args, 'endLine');
      if (startLine === undefined || endLine === undefined) {
        throw new ToolInputError('replaceRange needs startLine and endLine');
      }
      return { operation, path, startLine, endLine, content: str(args, 'content') ?? '' };
    }
    case 'searchReplace':
      return { operation, path, search: need(args, 'search'), replace: str(args, 'replace') ?? '' };
    default:
      throw new ToolInputError(`unknown operation: ${operation}`);
  }
}

const LANGUAGES: readonly RunLanguage[] = ['python', 'node', 'shell'];

async function runCommand(ctx: AgentToolContext, args: Record<string, unknown>): Promise<string> {
  if (ctx.run === undefined) throw new ToolInputError('running code is not available on this server');
  const language = str(args, 'language') as RunLanguage | undefined;
  if (language === undefined || !LANGUAGES.includes(language)) {
    throw new ToolInputError('language must be python, node or shell');
  }
  // One shell command string (not entry or argv): one required field is what a small model fills in reliably.
  const command = need(args, 'command');
  const result = await ctx.run(
    { projectId: ctx.projectId, language, command: ['sh', '-c', command] },
    ctx.signal,
  );
  const out = truncate(result.stdout, MAX_RUN_OUTPUT_CHARS);
  const err = truncate(result.stderr, MAX_RUN_OUTPUT_CHARS);
  return [
    `verdict: ${result.verdict}, exit code: ${result.exitCode ?? 'none'}, ${result.wallMs} ms`,
    `stdout${result.stdoutTruncated ? ' (cut by the sandbox output limit)' : ''}:`,
    out.text,
    `stderr${result.stderrTruncated ? ' (cut by the sandbox output limit)' : ''}:`,
    err.text,
  ].join('\n');
}

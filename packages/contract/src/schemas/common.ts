// Sub-schemas shared by several method families. Conventions that hold across the contract:
// - Params are strict objects: an unknown key is a caller bug (or a probe) and is refused, never ignored.
// - Results are plain objects: parsing a handler's return value strips keys the contract does not name, so a
//   database row with extra columns (password hashes, file paths) cannot leak through a result by accident.
// - Ids: users and models keep the original plan's integer keys; tables the product adds use UUIDs.
// - Money is integer micro-credits (1 credit = 1,000,000 micro-credits) carried as a JSON number that must be a
//   safe integer, so JavaScript clients never round it. The largest balance is Number.MAX_SAFE_INTEGER
//   micro-credits (about 9 billion credits), far above any budget, so a string encoding is not needed.
import { z } from 'zod';
import { ROLES } from '../define-method.js';

/** Most items one page returns; also the largest `limit` a caller may ask for. */
export const MAX_PAGE_SIZE = 100;
/** Page size when the caller gives none. */
export const DEFAULT_PAGE_SIZE = 50;
/** Longest project-relative path the contract accepts (the server's path rules are stricter still). */
export const MAX_PATH_LENGTH = 1024;
/** Micro-credits in one credit, the unit a UI shows. */
export const MICRO_CREDITS_PER_CREDIT = 1_000_000;

/** A user's role, from least to most privileged. */
export const RoleSchema = z
  .enum(ROLES)
  .describe('Role: viewer reads, developer also writes and runs, admin manages.');

/** A UUID (tables the product adds). */
export const Uuid = z.uuid().describe('UUID.');

/** Key of a row in the original plan's `users` table. */
export const UserId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).describe('User id.');
/** User id type. */
export type UserId = z.infer<typeof UserId>;

/** Key of a row in the original plan's `models` table. */
export const ModelId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).describe('Model id.');

/** Unique model name, used by callers to pick a model (as in OpenAI-style APIs). */
export const ModelName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits, and . _ : - (not first)')
  .describe('Unique model name, e.g. `gemma3-270m-q4_k_m`.');

/** Id of a project. */
export const ProjectId = z.uuid().describe('Project id.');
/** Id of a sandbox run. */
export const RunId = z.uuid().describe('Run id.');
/** Id of an agent session. */
export const SessionId = z.uuid().describe('Agent session id.');

/** An instant in UTC, ISO 8601 with `Z`. */
export const Timestamp = z.iso.datetime().describe('UTC timestamp, ISO 8601 with `Z`.');

/** A calendar day in UTC, `YYYY-MM-DD`. */
export const Day = z.iso.date().describe('UTC day, YYYY-MM-DD.');

/** A non-negative amount of micro-credits (balances, costs, reservations). */
export const MicroCredits = z
  .number()
  .int()
  .nonnegative()
  .max(Number.MAX_SAFE_INTEGER)
  .describe('Amount in micro-credits (1 credit = 1,000,000), a non-negative safe integer.');
/** Micro-credit amount type. */
export type MicroCredits = z.infer<typeof MicroCredits>;

/** A non-negative count (tokens, bytes, milliseconds) that fits a safe integer. */
export const Count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Opaque paging cursor the server returned as `nextCursor`. */
export const Cursor = z
  .string()
  .min(1)
  .max(512)
  .describe('Opaque cursor from a previous page’s `nextCursor`.');

/** Page size, 1..100. */
export const Limit = z
  .number()
  .int()
  .min(1)
  .max(MAX_PAGE_SIZE)
  .default(DEFAULT_PAGE_SIZE)
  .describe(`Items per page, 1..${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).`);

/** Paging params every list method accepts; spread them into its strict params object. */
export const pageParams = {
  cursor: Cursor.optional(),
  limit: Limit,
} as const;

/** Result shape of a paged list: the items and the cursor of the next page (null on the last page). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item).max(MAX_PAGE_SIZE).describe('Items of this page.'),
    nextCursor: Cursor.nullable().describe('Cursor of the next page; null on the last page.'),
  });
}

/**
 * A path inside a project, relative to its root, with `/` separators. The contract only caps the length and
 * refuses NUL; the server resolves it and refuses anything that leaves the project (`..`, absolute paths,
 * encoded separators, symlinks).
 */
export const ProjectPath = z
  .string()
  .min(1)
  .max(MAX_PATH_LENGTH)
  .refine((path) => !path.includes('\0'), 'path must not contain NUL')
  .describe(`Project-relative path with / separators, at most ${MAX_PATH_LENGTH} characters.`);

/** Free text a user types as a reason or label. */
export const Reason = z.string().trim().min(1).max(500);

/** A W3C trace id (32 lowercase hex digits). */
export const TraceId = z
  .string()
  .regex(/^[0-9a-f]{32}$/)
  .describe('W3C trace id of the request.');

/** Token counts and cost of one metered LLM call (or of a sum of calls). */
export const Usage = z
  .object({
    promptTokens: Count.describe('Tokens of the prompt the model processed.'),
    completionTokens: Count.describe('Tokens the model generated.'),
    totalTokens: Count.describe('promptTokens + completionTokens.'),
    cost: MicroCredits.describe('Cost in micro-credits: totalTokens × the model’s costPerToken.'),
  })
  .describe('Metered tokens and their cost.');
/** Token usage type. */
export type Usage = z.infer<typeof Usage>;

/** Params of a method that takes none; the transport may omit `params` entirely. */
export const NoParams = z.strictObject({}).default({});

/** Result of an operation whose only outcome is success. */
export const Ok = z.object({ ok: z.literal(true) });

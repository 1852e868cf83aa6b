import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { Count, Cursor, Day, Limit, MicroCredits, ModelName, UserId } from '../schemas/common.js';

/** Dimensions `usage.summary` can group by. */
export const UsageGroupBy = z.enum(['user', 'model', 'day']);
/** Usage grouping type. */
export type UsageGroupBy = z.infer<typeof UsageGroupBy>;

const usageTotals = {
  requests: Count.describe('Metered LLM calls.'),
  promptTokens: Count,
  completionTokens: Count,
  totalTokens: Count,
  cost: MicroCredits.describe('Sum of costs in micro-credits.'),
};

/** One row of a usage summary; the group keys present are the ones asked for in `groupBy`. */
export const UsageRow = z.object({
  userId: UserId.optional(),
  model: ModelName.optional(),
  day: Day.optional(),
  ...usageTotals,
});
/** Usage row type. */
export type UsageRow = z.infer<typeof UsageRow>;

/** Aggregates of the `tokens_used` ledger. */
export const usageMethods = {
  'usage.summary': defineMethod({
    description:
      'Token usage and cost from the ledger, grouped by user, model and/or day (UTC). Non-admins see only their own.',
    access: 'viewer',
    params: z
      .strictObject({
        from: Day.optional().describe('First day included (UTC); default 30 days ago.'),
        to: Day.optional().describe('Last day included (UTC); default today.'),
        groupBy: z
          .array(UsageGroupBy)
          .min(1)
          .max(3)
          .refine((dims) => new Set(dims).size === dims.length, 'groupBy must not repeat a dimension')
          .default(['day'])
          .describe('Dimensions to group by.'),
        userId: UserId.optional().describe('Only this user (admins; others may give only their own id).'),
        model: ModelName.optional().describe('Only this model.'),
        cursor: Cursor.optional(),
        limit: Limit,
      })
      .refine(
        (p) => p.from === undefined || p.to === undefined || p.from <= p.to,
        'from must not be after to',
      )
      .prefault({}),
    result: z.object({
      rows: z.array(UsageRow).max(100),
      totals: z.object(usageTotals).describe('Totals over the whole filter, not just this page.'),
      nextCursor: Cursor.nullable(),
    }),
  }),
} as const;

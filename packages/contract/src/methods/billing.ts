import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { MicroCredits, Reason, Timestamp, UserId } from '../schemas/common.js';

/** A user's balance as billing sees it. */
export const Balance = z.object({
  userId: UserId,
  balance: MicroCredits.describe('Settled balance in micro-credits (PostgreSQL is the truth).'),
  reserved: MicroCredits.describe(
    'Micro-credits held by LLM requests in flight (worst case, released on settle).',
  ),
  available: MicroCredits.describe('balance − reserved, floored at 0: what new requests may spend.'),
  asOf: Timestamp,
});
/** Balance type. */
export type Balance = z.infer<typeof Balance>;

/** Whether a grant adds to or takes from a balance. */
export const GrantKind = z
  .enum(['credit', 'debit'])
  .describe('credit adds to the balance, debit takes from it.');
/** Grant kind type. */
export type GrantKind = z.infer<typeof GrantKind>;

/** Balances and admin grants. Amounts are integer micro-credits (1 credit = 1,000,000); balances never go negative. */
export const billingMethods = {
  'billing.balance': defineMethod({
    description: 'The caller’s balance and open reservations (admins: any user’s).',
    access: 'viewer',
    params: z
      .strictObject({ userId: UserId.optional().describe('Admins: whose balance; default the caller.') })
      .default({}),
    result: Balance,
  }),
  'billing.grant': defineMethod({
    description:
      'Credits or debits a user’s balance with a reason; audited. A debit larger than the balance is refused.',
    access: 'admin',
    params: z.strictObject({
      userId: UserId,
      kind: GrantKind,
      amount: MicroCredits.refine((n) => n > 0, 'amount must be positive').describe(
        'Micro-credits to add or take, > 0.',
      ),
      reason: Reason.describe('Why, for the audit log (1..500 characters).'),
      idempotencyKey: z
        .uuid()
        .optional()
        .describe('Repeat a grant with the same key and it is applied once; the first result is returned.'),
    }),
    result: z.object({
      grantId: z.uuid(),
      userId: UserId,
      kind: GrantKind,
      amount: MicroCredits,
      balance: MicroCredits.describe('Balance after the grant.'),
      createdAt: Timestamp,
    }),
  }),
} as const;

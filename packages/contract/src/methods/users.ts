import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { pageOf, pageParams, RoleSchema, UserId } from '../schemas/common.js';
import { Email, NewPassword, User, Username } from '../schemas/identity.js';

/** User administration (admins only; every change is audited). */
export const usersMethods = {
  'users.list': defineMethod({
    description: 'Lists users, newest first, optionally filtered by role, state or a name prefix.',
    access: 'admin',
    params: z
      .strictObject({
        ...pageParams,
        role: RoleSchema.optional().describe('Only users with this role.'),
        disabled: z.boolean().optional().describe('Only disabled (true) or enabled (false) users.'),
        query: z.string().min(1).max(64).optional().describe('Username or email prefix.'),
      })
      .prefault({}),
    result: pageOf(User),
  }),
  'users.create': defineMethod({
    description:
      'Creates a user. Without a password one is generated and returned once in `generatedPassword`.',
    access: 'admin',
    params: z.strictObject({
      username: Username,
      email: Email.optional(),
      password: NewPassword.optional(),
      role: RoleSchema.default('developer'),
    }),
    result: z.object({
      user: User,
      generatedPassword: z
        .string()
        .optional()
        .describe('Present only when no password was given; it is not stored in clear and not shown again.'),
    }),
  }),
  'users.update': defineMethod({
    description: 'Changes a user’s role, disabled state or email. Disabling revokes its sessions.',
    access: 'admin',
    params: z
      .strictObject({
        userId: UserId,
        role: RoleSchema.optional(),
        disabled: z.boolean().optional(),
        email: Email.nullable().optional().describe('New email; null clears it.'),
      })
      .refine(
        (p) => p.role !== undefined || p.disabled !== undefined || p.email !== undefined,
        'nothing to update: give role, disabled or email',
      ),
    result: User,
  }),
  'users.delete': defineMethod({
    description:
      'Deletes a user with no usage history (sessions and keys go too). The ledger never loses a row, so a user ' +
      'with usage gets `conflict`: disable it instead.',
    access: 'admin',
    params: z.strictObject({ userId: UserId }),
    result: z.object({ deleted: z.literal(true) }),
  }),
} as const;

import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { pageOf, pageParams, RoleSchema, Timestamp, UserId } from '../schemas/common.js';
import { ApiKey } from '../schemas/identity.js';

/** API keys for scripts (`X-Cyber-Token`): callers manage their own, admins anyone's. */
export const keysMethods = {
  'keys.create': defineMethod({
    description: 'Creates an API key. The secret is in this result only; just its hash is stored.',
    access: 'viewer',
    params: z.strictObject({
      label: z.string().trim().min(1).max(100).describe('Name that tells the key apart, e.g. "ci".'),
      roleCap: RoleSchema.optional().describe('Act with at most this role (never above the owner’s).'),
      expiresAt: Timestamp.optional().describe('When the key stops working; omitted means never.'),
      userId: UserId.optional().describe('Owner when an admin creates a key for someone else.'),
    }),
    result: z.object({
      key: ApiKey,
      secret: z.string().min(16).max(256).describe('The full key to send as `X-Cyber-Token`. Shown once.'),
    }),
  }),
  'keys.list': defineMethod({
    description: 'Lists the caller’s keys (admins: any user’s, or everyone’s), newest first.',
    access: 'viewer',
    params: z
      .strictObject({
        ...pageParams,
        userId: UserId.optional().describe(
          'Admins: only this user’s keys. Others may give only their own id.',
        ),
        includeRevoked: z.boolean().default(false),
      })
      .prefault({}),
    result: pageOf(ApiKey),
  }),
  'keys.revoke': defineMethod({
    description: 'Revokes a key; every service refuses it within a second.',
    access: 'viewer',
    params: z.strictObject({ keyId: z.uuid() }),
    result: z.object({ key: ApiKey }),
  }),
} as const;

import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { MicroCredits, NoParams, RoleSchema, Timestamp, UserId } from '../schemas/common.js';
import {
  ApiKeySecret,
  NewPassword,
  PasswordInput,
  SessionTokens,
  User,
  Username,
} from '../schemas/identity.js';

const RefreshToken = z
  .string()
  .min(1)
  .max(512)
  .describe('Refresh token from `auth.login` or `auth.refresh`.');

/** The identity an API key resolves to, for services that authenticate scripts. */
export const IntrospectionResult = z.discriminatedUnion('active', [
  z.object({
    active: z.literal(false).describe('Unknown, wrong, expired or revoked key, or a disabled user.'),
  }),
  z.object({
    active: z.literal(true),
    keyId: z.uuid(),
    userId: UserId,
    username: Username,
    role: RoleSchema.describe('Effective role: the owner’s role, lowered to the key’s role cap.'),
    balance: MicroCredits,
    expiresAt: Timestamp.nullable(),
    cacheTtlMs: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .describe('How long the caller may cache this answer; at most 1 s so revocation takes effect in time.'),
  }),
]);
/** Introspection result type. */
export type IntrospectionResult = z.infer<typeof IntrospectionResult>;

/** Sessions and the caller's own account. */
export const authMethods = {
  'auth.login': defineMethod({
    description:
      'Logs in with a username (or email) and password; returns an access JWT and a refresh token.',
    access: 'public',
    params: z.strictObject({
      username: z.string().min(1).max(254).describe('Username or email address.'),
      password: PasswordInput,
    }),
    result: SessionTokens,
  }),
  'auth.refresh': defineMethod({
    description:
      'Trades a refresh token for new tokens; the old one is retired, and reusing a retired one revokes its family.',
    access: 'public',
    params: z.strictObject({ refreshToken: RefreshToken }),
    result: SessionTokens,
  }),
  'auth.logout': defineMethod({
    description: 'Revokes the refresh token (and with `everywhere`, every session of its user).',
    access: 'public',
    params: z.strictObject({
      refreshToken: RefreshToken,
      everywhere: z.boolean().default(false).describe('Also revoke every other session of the same user.'),
    }),
    result: z.object({ revokedSessions: z.number().int().nonnegative() }),
  }),
  'auth.me': defineMethod({
    description: 'The caller’s own account, role and balance.',
    access: 'viewer',
    params: NoParams,
    result: User,
  }),
  'auth.changePassword': defineMethod({
    description: 'Changes the caller’s password; other sessions are revoked.',
    access: 'viewer',
    params: z.strictObject({ currentPassword: PasswordInput, newPassword: NewPassword }),
    result: z.object({ ok: z.literal(true) }),
  }),
  'auth.introspect': defineMethod({
    description:
      'Resolves an API key to its user, effective role and balance. For services; unknown and wrong keys look the same.',
    access: 'public',
    internal: true,
    params: z.strictObject({
      token: ApiKeySecret,
      clientAddress: z
        .string()
        .min(1)
        .max(64)
        .optional()
        .describe(
          'Address of the end client the calling service is serving, so failed keys are rate-limited per client rather than per service.',
        ),
    }),
    result: IntrospectionResult,
  }),
} as const;

// Schemas of the identity side (users, sessions, API keys) shared by the auth, users and keys families.
import { z } from 'zod';
import { MicroCredits, RoleSchema, Timestamp, UserId } from './common.js';

/** Login name: letters, digits, `.`, `_`, `-`; compared case-insensitively by the server. */
export const Username = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, and . _ - (not first)')
  .describe('Login name, 2..64 characters.');

/** An email address. */
export const Email = z.email().max(254).describe('Email address.');

/**
 * A new password. Long passphrases are welcome; the upper bound keeps argon2 input (and hashing time) bounded.
 */
export const NewPassword = z.string().min(12).max(256).describe('New password, 12..256 characters.');

/** A password being checked; no minimum, so old short passwords still get a proper "wrong password" answer. */
export const PasswordInput = z.string().min(1).max(256).describe('Password.');

/** A user as the API shows it (never the password or key hashes). */
export const User = z
  .object({
    id: UserId,
    username: Username,
    email: Email.nullable(),
    role: RoleSchema,
    disabled: z.boolean().describe('A disabled user cannot log in and all its tokens and keys are refused.'),
    balance: MicroCredits.describe('Balance in micro-credits (PostgreSQL is the truth).'),
    createdAt: Timestamp,
    lastLoginAt: Timestamp.nullable(),
  })
  .describe('A user account.');
/** User type. */
export type User = z.infer<typeof User>;

/** Tokens `auth.login` and `auth.refresh` hand out. */
export const SessionTokens = z.object({
  accessToken: z.string().min(1).max(4096).describe('Short-lived JWT, sent as `Authorization: Bearer`.'),
  accessTokenExpiresAt: Timestamp,
  refreshToken: z
    .string()
    .min(1)
    .max(512)
    .describe('Opaque rotating refresh token; each use returns a new one and retires this one.'),
  refreshTokenExpiresAt: Timestamp,
  user: User,
});
/** Session tokens type. */
export type SessionTokens = z.infer<typeof SessionTokens>;

/** An API key secret as sent in `X-Cyber-Token` (prefix plus secret). */
export const ApiKeySecret = z.string().min(16).max(256).describe('API key as sent in `X-Cyber-Token`.');

/** An API key's metadata; the secret itself is shown only once, by `keys.create`. */
export const ApiKey = z
  .object({
    id: z.uuid(),
    userId: UserId,
    label: z.string().max(100),
    prefix: z.string().min(1).max(32).describe('First characters of the key, shown to tell keys apart.'),
    roleCap: RoleSchema.nullable().describe(
      'Most privileged role the key acts with; null means the owner’s role.',
    ),
    createdAt: Timestamp,
    expiresAt: Timestamp.nullable(),
    lastUsedAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
  })
  .describe('An API key (never its secret or hash).');
/** API key type. */
export type ApiKey = z.infer<typeof ApiKey>;

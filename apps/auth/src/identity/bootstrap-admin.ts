// First start: an empty users table gets one admin, from the configured password or a generated one that is
// announced exactly once (the only time a password is ever written out).
import type { BootstrapAdminConfig } from '@cyber/config';
import type { DB } from '@cyber/db';
import type { Kysely } from 'kysely';
import { recordAudit, SYSTEM_ACTOR } from '../audit/record-audit.js';
import { generatePassword, type PasswordHasher } from './password-hasher.js';
import { AuthUsersRepository } from './users.repository.js';

/** What a bootstrap did; `generatedPassword` is present only when it created the admin with a generated one. */
export type BootstrapResult =
  { created: false } | { created: true; userId: number; username: string; generatedPassword?: string };

/** Options of {@link bootstrapAdmin}. */
export interface BootstrapOptions {
  db: Kysely<DB>;
  config: BootstrapAdminConfig;
  passwords: PasswordHasher;
}

/** Creates the first admin when no user exists; does nothing otherwise (every later start). */
export async function bootstrapAdmin(options: BootstrapOptions): Promise<BootstrapResult> {
  // Cheap pre-check so normal starts do not hash a password or take the lock.
  if ((await new AuthUsersRepository(options.db).count()) > 0) return { created: false };
  const generated = options.config.password === undefined ? generatePassword() : undefined;
  const passwordHash = await options.passwords.hash(options.config.password ?? generated ?? '');
  return options.db.transaction().execute(async (tx): Promise<BootstrapResult> => {
    const users = new AuthUsersRepository(tx);
    await users.lockBootstrap();
    if ((await users.count()) > 0) return { created: false };
    const admin = await users.create({
      username: options.config.username,
      email: null,
      passwordHash,
      role: 'admin',
    });
    await recordAudit(tx, {
      actor: SYSTEM_ACTOR,
      action: 'user.create',
      targetType: 'user',
      targetId: admin.id,
      details: {
        username: admin.username,
        role: 'admin',
        bootstrap: true,
        passwordGenerated: generated !== undefined,
      },
    });
    return {
      created: true,
      userId: admin.id,
      username: admin.username,
      ...(generated === undefined ? {} : { generatedPassword: generated }),
    };
  });
}

// First start on an empty database creates exactly one admin, once; the audit log is append-only.
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, TestAuth } from './auth-harness.js';
import type { BootstrapResult } from '../src/index.js';

type Created = Extract<BootstrapResult, { created: true }>;

let t: TestAuth | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function admins(auth: TestAuth): Promise<{ username: string }[]> {
  return auth.database.db.selectFrom('users').select('username').where('role', '=', 'admin').execute();
}

describe('bootstrap admin', () => {
  it('creates one admin with a generated password, announced once, and never again on later starts', async () => {
    t = await TestAuth.create();
    const announced: Created[] = [];
    await t.start(
      { CYBER_BOOTSTRAP_ADMIN_PASSWORD: '', CYBER_BOOTSTRAP_ADMIN_USERNAME: 'root' },
      {
        onBootstrapAdmin: (result) => announced.push(result),
      },
    );
    expect(announced).toHaveLength(1);
    const password = announced[0]?.generatedPassword;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await admins(t)).toEqual([{ username: 'root' }]);
    await t.login('root', password ?? '');

    await t.start(
      { CYBER_BOOTSTRAP_ADMIN_PASSWORD: '', CYBER_BOOTSTRAP_ADMIN_USERNAME: 'root' },
      {
        onBootstrapAdmin: (result) => announced.push(result),
      },
    );
    expect(announced).toHaveLength(1);
    expect(await admins(t)).toHaveLength(1);
    const audit = await t.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'user.create')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_user_id: null, target_type: 'user' });
    expect(JSON.stringify(audit[0]?.details)).not.toContain(password);
  });

  it('uses the configured password and creates one admin when two instances start at once', async () => {
    t = await TestAuth.create();
    const auth = t;
    const announced: Created[] = [];
    await Promise.all([
      auth.start({}, { onBootstrapAdmin: (result) => announced.push(result) }),
      auth.start({}, { onBootstrapAdmin: (result) => announced.push(result) }),
    ]);
    expect(announced).toHaveLength(1);
    expect(announced[0]?.generatedPassword).toBeUndefined();
    expect(await admins(auth)).toEqual([{ username: 'admin' }]);
    await auth.login('admin', ADMIN_PASSWORD);
    // Both instances also agreed on one active signing key.
    const active = await auth.database.db
      .selectFrom('signing_keys')
      .select('kid')
      .where('retired_at', 'is', null)
      .execute();
    expect(active).toHaveLength(1);
  });

  it('does nothing when users already exist', async () => {
    t = await TestAuth.create();
    await t.database.db
      .insertInto('users')
      .values({ username: 'someone', password_hash: 'x', role: 'viewer' })
      .execute();
    const announced: Created[] = [];
    await t.start({}, { onBootstrapAdmin: (result) => announced.push(result) });
    expect(announced).toHaveLength(0);
    expect(await admins(t)).toHaveLength(0);
  });
});

describe('audit log', () => {
  it('refuses UPDATE and DELETE of its rows at the database', async () => {
    t = await TestAuth.create();
    await t.start();
    const db = t.database.db;
    await expect(db.updateTable('audit_log').set({ action: 'user.delete' }).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
    expect(await db.selectFrom('audit_log').select('id').execute()).toHaveLength(1);
  });
});

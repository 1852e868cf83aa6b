// Every method of the families this service serves, called as anonymous, viewer, developer and admin, gets
// exactly the allowed outcome; every admin action leaves its audit row. Table-driven: a module adds its rows.
import { contract, RPC_ERROR_CODES, type AuditAction, type RpcErrorKey } from '@cyber/contract';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, TestAuth, USER_PASSWORD, type Session } from './auth-harness.js';

type Caller = 'anonymous' | 'viewer' | 'developer' | 'admin';
const CALLERS: readonly Caller[] = ['anonymous', 'viewer', 'developer', 'admin'];

/** What a row's params builder gets. */
interface Fixture {
  t: TestAuth;
  adminToken: string;
  caller: Caller;
  /** The caller's password (for auth.changePassword). */
  callerPassword: string;
  /** A user created for this call, for methods that act on another user. */
  newTarget: (role?: 'viewer' | 'developer') => Promise<number>;
  /** A fresh session of a plain user, for auth.refresh and auth.logout. */
  freshSession: () => Promise<Session>;
}

interface MatrixRow {
  method: string;
  params: (fx: Fixture) => Promise<unknown>;
  /** Expected outcome per caller: 'ok' or the error key. */
  expect: Record<Caller, 'ok' | RpcErrorKey>;
  /** The audit action a successful call must leave, with the target id it names. */
  audit?: { action: AuditAction; matches: (entry: AuditItem, params: unknown) => boolean };
}

const PUBLIC = { anonymous: 'ok', viewer: 'ok', developer: 'ok', admin: 'ok' } as const;
const SIGNED_IN = { anonymous: 'unauthenticated', viewer: 'ok', developer: 'ok', admin: 'ok' } as const;
const ADMIN_ONLY = {
  anonymous: 'unauthenticated',
  viewer: 'forbidden',
  developer: 'forbidden',
  admin: 'ok',
} as const;

interface AuditItem {
  action: string;
  targetId: string | null;
  actorId: number | null;
  details: Record<string, unknown>;
}

const sameUserId = (entry: AuditItem, params: unknown): boolean =>
  entry.targetId === String((params as { userId: number }).userId);

/** The matrix. Families covered: auth (introspect is the keys module's row), users, audit. */
export const MATRIX: MatrixRow[] = [
  {
    method: 'auth.login',
    params: async (fx) => ({ username: (await fx.freshSession()).user.username, password: USER_PASSWORD }),
    expect: PUBLIC,
  },
  {
    method: 'auth.refresh',
    params: async (fx) => ({ refreshToken: (await fx.freshSession()).refreshToken }),
    expect: PUBLIC,
  },
  {
    method: 'auth.logout',
    params: async (fx) => ({ refreshToken: (await fx.freshSession()).refreshToken }),
    expect: PUBLIC,
  },
  { method: 'auth.me', params: () => Promise.resolve({}), expect: SIGNED_IN },
  {
    method: 'auth.changePassword',
    // The same password again, so the caller can still log in afterwards.
    params: (fx) => Promise.resolve({ currentPassword: fx.callerPassword, newPassword: fx.callerPassword }),
    expect: SIGNED_IN,
  },
  { method: 'users.list', params: () => Promise.resolve({ role: 'viewer' }), expect: ADMIN_ONLY },
  {
    method: 'users.create',
    params: () => Promise.resolve({ username: `made-${randomUUID().slice(0, 8)}`, role: 'viewer' }),
    expect: ADMIN_ONLY,
    audit: {
      action: 'user.create',
      matches: (entry, params) => entry.details.username === (params as { username: string }).username,
    },
  },
  {
    method: 'users.update',
    params: async (fx) => ({ userId: await fx.newTarget('viewer'), role: 'developer' }),
    expect: ADMIN_ONLY,
    audit: { action: 'user.roleChange', matches: sameUserId },
  },
  {
    method: 'users.update',
    params: async (fx) => ({ userId: await fx.newTarget(), disabled: true }),
    expect: ADMIN_ONLY,
    audit: { action: 'user.disable', matches: sameUserId },
  },
  {
    method: 'users.delete',
    params: async (fx) => ({ userId: await fx.newTarget() }),
    expect: ADMIN_ONLY,
    audit: { action: 'user.delete', matches: sameUserId },
  },
  { method: 'audit.list', params: () => Promise.resolve({ limit: 10 }), expect: ADMIN_ONLY },
  {
    // llmserver reporting a model action with the admin's forwarded token.
    method: 'audit.record',
    params: () =>
      Promise.resolve({
        action: 'model.load',
        targetId: `model-${randomUUID()}`,
        details: { memoryBytes: 1024 },
      }),
    expect: ADMIN_ONLY,
    audit: {
      action: 'model.load',
      matches: (entry, params) =>
        entry.targetId === (params as { targetId: string }).targetId && entry.details.memoryBytes === 1024,
    },
  },
];

const COVERED_FAMILIES = ['auth', 'users', 'audit'];
const OWNED_ELSEWHERE = new Set(['auth.introspect']);

let t: TestAuth;
const sessions = new Map<Caller, Session>();

beforeAll(async () => {
  t = await TestAuth.create();
  await t.start();
  const admin = await t.login('admin', ADMIN_PASSWORD);
  sessions.set('admin', admin);
  sessions.set('viewer', await t.userWithRole('viewer', admin.accessToken));
  sessions.set('developer', await t.userWithRole('developer', admin.accessToken));
});

afterAll(async () => {
  await t.close();
});

function fixtureFor(caller: Caller): Fixture {
  const admin = sessions.get('admin');
  if (admin === undefined) throw new Error('no admin session');
  return {
    t,
    adminToken: admin.accessToken,
    caller,
    callerPassword: caller === 'admin' ? ADMIN_PASSWORD : USER_PASSWORD,
    newTarget: async (role = 'viewer') => {
      const created = await t.ok<{ user: { id: number } }>(
        'users.create',
        { username: `target-${randomUUID().slice(0, 8)}`, role, password: USER_PASSWORD },
        { token: admin.accessToken },
      );
      return created.user.id;
    },
    freshSession: () => t.userWithRole('viewer', admin.accessToken),
  };
}

describe('role matrix', () => {
  it('has a row for every method of the families it covers', () => {
    const methods = Object.keys(contract).filter(
      (name) => COVERED_FAMILIES.includes(name.split('.')[0] ?? '') && !OWNED_ELSEWHERE.has(name),
    );
    expect(new Set(MATRIX.map((row) => row.method))).toEqual(new Set(methods));
  });

  for (const row of MATRIX) {
    for (const caller of CALLERS) {
      const expected = row.expect[caller];
      it(`${row.method} as ${caller}: ${expected}${row.audit && expected === 'ok' ? ` + audit ${row.audit.action}` : ''}`, async () => {
        const fx = fixtureFor(caller);
        const params = await row.params(fx);
        const token = caller === 'anonymous' ? undefined : sessions.get(caller)?.accessToken;
        const answer = await t.call(row.method, params, { token });
        if (expected === 'ok') {
          expect(answer.error).toBeUndefined();
          expect(answer.result).toBeDefined();
        } else {
          expect(answer.error?.code).toBe(RPC_ERROR_CODES[expected]);
          expect(answer.error?.data?.key).toBe(expected);
        }
        if (row.audit === undefined) return;
        const audit = await t.ok<{ items: AuditItem[] }>(
          'audit.list',
          { action: row.audit.action, limit: 100 },
          { token: fx.adminToken },
        );
        const rows = audit.items.filter((entry) => row.audit?.matches(entry, params));
        if (expected === 'ok') {
          expect(rows).toHaveLength(1);
          expect(rows[0]?.actorId).toBe(sessions.get('admin')?.user.id);
        } else {
          expect(rows).toHaveLength(0);
        }
      });
    }
  }
});

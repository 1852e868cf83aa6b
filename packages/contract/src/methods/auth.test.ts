import { describe, expect, it } from 'vitest';
import { authMethods, IntrospectionResult } from './auth.js';
import { billingMethods } from './billing.js';
import { keysMethods } from './keys.js';
import { usageMethods } from './usage.js';
import { usersMethods } from './users.js';

describe('identity and money params', () => {
  it('caps password length so hashing time stays bounded', () => {
    const login = authMethods['auth.login'].params;
    expect(login.safeParse({ username: 'ada', password: 'x'.repeat(256) }).success).toBe(true);
    expect(login.safeParse({ username: 'ada', password: 'x'.repeat(257) }).success).toBe(false);
    expect(login.safeParse({ username: 'ada', password: '' }).success).toBe(false);
    const change = authMethods['auth.changePassword'].params;
    expect(change.safeParse({ currentPassword: 'old', newPassword: 'short' }).success).toBe(false);
  });

  it('lists users in pages of at most 100 and filters by a known role only', () => {
    const list = usersMethods['users.list'].params;
    expect(list.parse(undefined)).toEqual({ limit: 50 });
    expect(list.safeParse({ limit: 100, role: 'viewer' }).success).toBe(true);
    expect(list.safeParse({ limit: 101 }).success).toBe(false);
    expect(list.safeParse({ limit: -1 }).success).toBe(false);
    expect(list.safeParse({ limit: 0 }).success).toBe(false);
    expect(list.safeParse({ role: 'root' }).success).toBe(false);
  });

  it('refuses a user update that changes nothing or names a bad id', () => {
    const update = usersMethods['users.update'].params;
    expect(update.safeParse({ userId: 3, disabled: true }).success).toBe(true);
    expect(update.safeParse({ userId: 3 }).success).toBe(false);
    expect(update.safeParse({ userId: -3, disabled: true }).success).toBe(false);
    expect(update.safeParse({ userId: 1.5, disabled: true }).success).toBe(false);
  });

  it('grants only positive whole micro-credits that JavaScript can count exactly', () => {
    const grant = billingMethods['billing.grant'].params;
    const base = { userId: 1, kind: 'credit', reason: 'top-up' };
    expect(grant.safeParse({ ...base, amount: 5_000_000 }).success).toBe(true);
    expect(grant.safeParse({ ...base, amount: 0 }).success).toBe(false);
    expect(grant.safeParse({ ...base, amount: -5 }).success).toBe(false);
    expect(grant.safeParse({ ...base, amount: 0.5 }).success).toBe(false);
    expect(grant.safeParse({ ...base, amount: Number.MAX_SAFE_INTEGER + 2 }).success).toBe(false);
    expect(grant.safeParse({ ...base, amount: 1, kind: 'refund' }).success).toBe(false);
    expect(grant.safeParse({ ...base, amount: 1, reason: '   ' }).success).toBe(false);
  });

  it('keeps key expiry and role cap typed', () => {
    const create = keysMethods['keys.create'].params;
    expect(
      create.safeParse({ label: 'ci', roleCap: 'viewer', expiresAt: '2030-01-01T00:00:00Z' }).success,
    ).toBe(true);
    expect(create.safeParse({ label: 'ci', roleCap: 'superuser' }).success).toBe(false);
    expect(create.safeParse({ label: 'ci', expiresAt: 'tomorrow' }).success).toBe(false);
    expect(create.safeParse({ label: 'x'.repeat(101) }).success).toBe(false);
  });

  it('lets an introspection say only "inactive" for a bad key', () => {
    expect(IntrospectionResult.parse({ active: false, userId: 1, role: 'admin' })).toEqual({ active: false });
    expect(authMethods['auth.introspect'].internal).toBe(true);
  });

  it('groups usage by distinct known dimensions in a forward range', () => {
    const summary = usageMethods['usage.summary'].params;
    expect(summary.parse({})).toMatchObject({ groupBy: ['day'], limit: 50 });
    expect(summary.safeParse({ groupBy: ['user', 'model'] }).success).toBe(true);
    expect(summary.safeParse({ groupBy: ['day', 'day'] }).success).toBe(false);
    expect(summary.safeParse({ groupBy: ['hour'] }).success).toBe(false);
    expect(summary.safeParse({ from: '2025-02-01', to: '2025-01-01' }).success).toBe(false);
  });
});

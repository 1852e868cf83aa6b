import { RpcError, type SessionTokens } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { REFRESH_TOKEN_KEY, SessionManager, type SessionState } from './session.ts';

// The auth service is outside this unit: a scripted double answers auth.login / auth.refresh / auth.logout.

const user = {
  id: 1,
  username: 'dev',
  email: null,
  role: 'developer' as const,
  disabled: false,
  balance: 0,
  createdAt: '2026-01-01T00:00:00.000Z',
  lastLoginAt: null,
};

function tokens(n: number, now: number, lifetimeMs = 15 * 60_000): SessionTokens {
  return {
    accessToken: `access-${n}`,
    accessTokenExpiresAt: new Date(now + lifetimeMs).toISOString(),
    refreshToken: `refresh-${n}`,
    refreshTokenExpiresAt: new Date(now + 86_400_000).toISOString(),
    user,
  };
}

function setup(script: { refresh?: (token: string) => SessionTokens | RpcError } = {}) {
  let now = 1_700_000_000_000;
  let issued = 0;
  const calls: { method: string; params: unknown }[] = [];
  const timers: { at: number; callback: () => void }[] = [];
  const store = new Map<string, string>();
  const http = {
    call: (method: string, params: Record<string, string>): Promise<unknown> => {
      calls.push({ method, params });
      if (method === 'auth.login') {
        if (params.password !== 'right') return Promise.reject(new RpcError('unauthenticated'));
        return Promise.resolve(tokens(++issued, now));
      }
      if (method === 'auth.refresh') {
        const answer = script.refresh?.(params.refreshToken ?? '') ?? tokens(++issued, now);
        return answer instanceof RpcError ? Promise.reject(answer) : Promise.resolve(answer);
      }
      return Promise.resolve({ revokedSessions: 1 });
    },
  };
  const session = new SessionManager({
    http: http as never,
    storage: {
      getItem: (key) => store.get(key) ?? null,
      setItem: (key, value) => void store.set(key, value),
      removeItem: (key) => void store.delete(key),
    },
    now: () => now,
    setTimer: (callback, ms) => {
      const timer = { at: now + ms, callback };
      timers.push(timer);
      return timer;
    },
    clearTimer: (handle) => {
      const index = timers.indexOf(handle as (typeof timers)[number]);
      if (index >= 0) timers.splice(index, 1);
    },
  });
  const states: SessionState[] = [];
  session.subscribe((state) => states.push(state));
  const advance = async (ms: number) => {
    now += ms;
    for (const timer of timers.filter((t) => t.at <= now)) {
      timers.splice(timers.indexOf(timer), 1);
      timer.callback();
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  /** Moves the clock without firing timers (a tab asleep in the background). */
  const sleep = (ms: number) => {
    now += ms;
  };
  return { session, calls, store, states, advance, sleep, timers };
}

describe('SessionManager', () => {
  it('signs in, keeps only the refresh token in storage and hands out the access token', async () => {
    const { session, store } = setup();
    await session.signIn('dev', 'right');
    expect(session.getState()).toEqual({ status: 'signed-in', user });
    expect(store.get(REFRESH_TOKEN_KEY)).toBe('refresh-1');
    expect([...store.values()]).not.toContain('access-1');
    expect(await session.accessToken()).toBe('access-1');
  });

  it('rethrows a failed login as the RpcError and stays signed out', async () => {
    const { session } = setup();
    await session.restore();
    await expect(session.signIn('dev', 'wrong')).rejects.toMatchObject({ key: 'unauthenticated' });
    expect(session.getState()).toEqual({ status: 'signed-out' });
  });

  it('refreshes a minute before the access token expires, rotating the stored refresh token', async () => {
    const { session, calls, store, advance } = setup();
    await session.signIn('dev', 'right');
    await advance(13 * 60_000);
    expect(calls.filter((c) => c.method === 'auth.refresh')).toEqual([]);
    await advance(60_000 + 1);
    expect(calls.filter((c) => c.method === 'auth.refresh')).toEqual([
      { method: 'auth.refresh', params: { refreshToken: 'refresh-1' } },
    ]);
    expect(store.get(REFRESH_TOKEN_KEY)).toBe('refresh-2');
    expect(await session.accessToken()).toBe('access-2');
  });

  it('shares one refresh between concurrent callers (a rotated token must never be sent twice)', async () => {
    const { session, calls, sleep } = setup();
    await session.signIn('dev', 'right');
    sleep(16 * 60_000);
    const [a, b, c] = await Promise.all([session.accessToken(), session.accessToken(), session.refresh()]);
    expect([a, b, c]).toEqual(['access-2', 'access-2', true]);
    expect(calls.filter((call) => call.method === 'auth.refresh')).toHaveLength(1);
  });

  it('signs out with a reason when the refresh token is refused', async () => {
    const { session, store, advance } = setup({ refresh: () => new RpcError('unauthenticated') });
    await session.signIn('dev', 'right');
    await advance(14 * 60_000 + 1);
    expect(session.getState()).toEqual({
      status: 'signed-out',
      reason: 'Your session ended. Please sign in again.',
    });
    expect(store.has(REFRESH_TOKEN_KEY)).toBe(false);
    expect(await session.accessToken()).toBeUndefined();
  });

  it('retries a refresh that failed for a transient reason while the access token is still valid', async () => {
    let failures = 1;
    const { session, calls, advance } = setup({
      refresh: () => (failures-- > 0 ? new RpcError('service_unavailable') : tokens(7, 1_700_000_000_000)),
    });
    await session.signIn('dev', 'right');
    await advance(14 * 60_000 + 1);
    expect(session.getState().status).toBe('signed-in');
    await advance(5_000);
    expect(calls.filter((c) => c.method === 'auth.refresh')).toHaveLength(2);
    expect(session.getState().status).toBe('signed-in');
  });

  it('restores a session from the stored refresh token, and restore is idempotent', async () => {
    const first = setup();
    await first.session.signIn('dev', 'right');
    const { session, store, calls } = setup();
    store.set(REFRESH_TOKEN_KEY, 'refresh-1');
    await Promise.all([session.restore(), session.restore()]);
    expect(session.getState()).toEqual({ status: 'signed-in', user });
    expect(calls).toEqual([{ method: 'auth.refresh', params: { refreshToken: 'refresh-1' } }]);
  });

  it('sign-out revokes the refresh token and clears storage', async () => {
    const { session, calls, store } = setup();
    await session.signIn('dev', 'right');
    await session.signOut();
    expect(calls.at(-1)).toEqual({ method: 'auth.logout', params: { refreshToken: 'refresh-1' } });
    expect(store.size).toBe(0);
    expect(session.getState()).toEqual({ status: 'signed-out' });
  });
});

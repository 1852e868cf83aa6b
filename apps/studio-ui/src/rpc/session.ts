// The browser session: signs in with auth.login, keeps the access token in memory and the rotating refresh
// token in sessionStorage, refreshes before the access token expires, and signs out when a refresh fails.
//
// Why sessionStorage: it survives a reload of the tab (the user stays signed in) but is private to that tab
// and gone when it closes. Refresh tokens rotate and reusing a retired one revokes the whole family, so two
// tabs sharing one token (localStorage) would log each other out; the access token never touches storage.
import { isRpcError, type Contract, type RpcError, type SessionTokens, type User } from '@cyber/contract';
import type { HttpClient } from '@cyber/rpc-client';

/** Key under which the refresh token is kept. */
export const REFRESH_TOKEN_KEY = 'cyber.refreshToken';

/** Refresh this long before the access token expires. */
const DEFAULT_REFRESH_LEAD_MS = 60_000;
/** Retry a refresh that failed for a transient reason (network, service down) after this long. */
const RETRY_MS = 5_000;

/** The slice of Storage the session uses (sessionStorage in the browser, a Map in tests). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** What the UI shows. `reason` says why the user was signed out, when it was not their choice. */
export type SessionState =
  { status: 'restoring' } | { status: 'signed-out'; reason?: string } | { status: 'signed-in'; user: User };

/** Options of {@link SessionManager}. */
export interface SessionManagerOptions {
  /** An anonymous client for auth.login / auth.refresh / auth.logout. */
  http: Pick<HttpClient<Contract>, 'call'>;
  /** Where the refresh token is kept. */
  storage: StorageLike;
  /** Clock in ms; Date.now by default. */
  now?: () => number;
  /** Timer functions; the globals by default (tests pass fakes). */
  setTimer?: (callback: () => void, ms: number) => unknown;
  /** Clears a timer made by `setTimer`. */
  clearTimer?: (handle: unknown) => void;
  /** How long before expiry to refresh. */
  refreshLeadMs?: number;
}

interface Tokens {
  accessToken: string;
  accessExpiresAt: number;
  refreshToken: string;
}

/** Errors after which a refresh token is worthless: sign out instead of retrying. */
const FATAL_REFRESH_ERRORS = ['unauthenticated', 'forbidden', 'invalid_params', 'not_found'] as const;

/** Holds one user's session and keeps its access token fresh. */
export class SessionManager {
  private state: SessionState = { status: 'restoring' };
  private tokens: Tokens | undefined;
  private refreshing: Promise<boolean> | undefined;
  private restoring: Promise<void> | undefined;
  private timer: unknown;
  private readonly listeners = new Set<(state: SessionState) => void>();
  private readonly now: () => number;
  private readonly setTimer: (callback: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly lead: number;

  constructor(private readonly options: SessionManagerOptions) {
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as number));
    this.lead = options.refreshLeadMs ?? DEFAULT_REFRESH_LEAD_MS;
  }

  /** The current state. */
  getState(): SessionState {
    return this.state;
  }

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (state: SessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Restores the session of this tab from its stored refresh token, or settles signed out. */
  restore(): Promise<void> {
    // Idempotent: React's StrictMode runs the effect that calls this twice.
    this.restoring ??= this.doRestore();
    return this.restoring;
  }

  private async doRestore(): Promise<void> {
    const stored = this.options.storage.getItem(REFRESH_TOKEN_KEY);
    if (stored === null) {
      this.setState({ status: 'signed-out' });
      return;
    }
    this.tokens = { accessToken: '', accessExpiresAt: 0, refreshToken: stored };
    await this.refresh();
  }

  /** Signs in; throws the RpcError of auth.login (wrong credentials, disabled, rate limited). */
  async signIn(username: string, password: string): Promise<User> {
    const tokens = await this.options.http.call('auth.login', { username, password });
    this.accept(tokens);
    return tokens.user;
  }

  /** Revokes the refresh token (best effort) and forgets the session. */
  async signOut(reason?: string): Promise<void> {
    const refreshToken = this.tokens?.refreshToken;
    this.forget(reason);
    if (refreshToken !== undefined && refreshToken !== '') {
      await this.options.http.call('auth.logout', { refreshToken }).catch(() => undefined);
    }
  }

  /** Replaces the signed-in user's details (after auth.me), keeping the tokens. */
  updateUser(user: User): void {
    if (this.state.status === 'signed-in') this.setState({ status: 'signed-in', user });
  }

  /**
   * An access token valid for at least a moment, refreshing first when it is about to expire; undefined when
   * signed out.
   */
  async accessToken(): Promise<string | undefined> {
    if (this.tokens === undefined) return undefined;
    if (this.tokens.accessExpiresAt - this.now() < Math.min(this.lead, 5_000)) {
      const ok = await this.refresh();
      if (!ok) return undefined;
    }
    return this.tokens?.accessToken;
  }

  /**
   * Trades the refresh token for new tokens. One refresh at a time: concurrent callers share it. Resolves
   * true when the session is fresh, false when it ended (signed out) or could not be refreshed yet.
   */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const refreshToken = this.tokens?.refreshToken;
    if (refreshToken === undefined) return false;
    try {
      this.accept(await this.options.http.call('auth.refresh', { refreshToken }));
      return true;
    } catch (error) {
      const fatal = FATAL_REFRESH_ERRORS.some((key) => isRpcError(error, key));
      const expired = (this.tokens?.accessExpiresAt ?? 0) <= this.now();
      if (fatal || expired) {
        this.forget(
          this.state.status === 'restoring' && fatal
            ? undefined
            : 'Your session ended. Please sign in again.',
        );
        return false;
      }
      // Transient (network, auth restarting) while the access token still works: try again shortly.
      this.schedule(RETRY_MS);
      return false;
    }
  }

  private accept(tokens: SessionTokens): void {
    const accessExpiresAt = Date.parse(tokens.accessTokenExpiresAt);
    this.tokens = { accessToken: tokens.accessToken, accessExpiresAt, refreshToken: tokens.refreshToken };
    this.options.storage.setItem(REFRESH_TOKEN_KEY, tokens.refreshToken);
    this.schedule(Math.max(1_000, accessExpiresAt - this.now() - this.lead));
    this.setState({ status: 'signed-in', user: tokens.user });
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      void this.refresh();
    }, ms);
  }

  private forget(reason: string | undefined): void {
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
    this.tokens = undefined;
    this.options.storage.removeItem(REFRESH_TOKEN_KEY);
    this.setState(reason === undefined ? { status: 'signed-out' } : { status: 'signed-out', reason });
  }

  private setState(state: SessionState): void {
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }
}

/** True when `error` means the caller's credentials were not accepted. */
export function isUnauthenticated(error: unknown): error is RpcError {
  return isRpcError(error, 'unauthenticated');
}

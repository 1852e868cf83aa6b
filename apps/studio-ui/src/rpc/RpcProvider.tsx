// The RPC hook layer: one SessionManager, an HTTP client for calls (fresh access token on every request, one
// retry after a refresh when the server says the token is no longer good) and one WebSocket for streaming
// methods, opened on first use and reopened after it closed.
import { contract, type Contract } from '@cyber/contract';
import { createHttpClient, createWsClient, type HttpClient, type WsClient } from '@cyber/rpc-client';
import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { isUnauthenticated, SessionManager, type SessionState } from './session.ts';

/** What {@link useRpc} gives: typed calls over HTTP and typed streaming calls over the WebSocket. */
export interface Rpc {
  /** A call over HTTP POST /rpc as the signed-in user. */
  call: HttpClient<Contract>['call'];
  /** A call over the shared WebSocket (use for streaming methods: run.exec, llm.chat …). */
  stream: WsClient<Contract>['call'];
  /** The session behind both. */
  session: SessionManager;
}

const RpcContext = createContext<Rpc | undefined>(undefined);

/** Props of {@link RpcProvider}. */
interface Props {
  children: ReactNode;
  /** The RPC layer to provide (see {@link createRpc}); one for `/rpc` on the page's own origin by default. */
  rpc?: Rpc;
}

/** Builds the ws:// URL for `/rpc` on the page's origin. */
function wsUrlFor(path: string): string {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * The RPC layer for the gateway at `url` (`/rpc` on the page's origin by default). main.tsx makes it before
 * React renders, so the session's restore can start at once.
 */
export function createRpc(url = '/rpc'): Rpc {
  const anonymous = createHttpClient({ url, contract });
  const session = new SessionManager({ http: anonymous, storage: window.sessionStorage });
  const http = createHttpClient({
    url,
    contract,
    credentials: async () => {
      const token = await session.accessToken();
      return token === undefined ? undefined : { bearer: token };
    },
  });
  let ws: WsClient<Contract> | undefined;
  let wsClosed = false;
  const socket = (): WsClient<Contract> => {
    if (ws === undefined || wsClosed) {
      wsClosed = false;
      const client = createWsClient({
        url: wsUrlFor(url),
        contract,
        credentials: async () => {
          const token = await session.accessToken();
          return token === undefined ? undefined : { bearer: token };
        },
      });
      // Reopen lazily on the next streaming call after a close or a failed open.
      client.opened.then(
        () => undefined,
        () => {
          if (ws === client) wsClosed = true;
        },
      );
      ws = client;
    }
    return ws;
  };
  session.subscribe((state) => {
    if (state.status !== 'signed-in' && ws !== undefined) {
      ws.close();
      ws = undefined;
    }
  });

  const call = (async (method: never, ...args: never[]) => {
    const invoke = http.call.bind(http) as (method: never, ...args: never[]) => Promise<unknown>;
    try {
      return await invoke(method, ...args);
    } catch (error) {
      if (isUnauthenticated(error) && (await session.refresh())) return invoke(method, ...args);
      throw error;
    }
  }) as HttpClient<Contract>['call'];

  const stream = (async (method: never, ...args: never[]) => {
    const client = socket();
    const invoke = client.call.bind(client) as (method: never, ...args: never[]) => Promise<unknown>;
    try {
      return await invoke(method, ...args);
    } catch (error) {
      // The socket died (server restart, idle close): one retry on a fresh socket. Streaming methods are
      // not retried once they started, since they may have had effects; only a socket that never carried
      // the call is replaced.
      if (
        client === ws &&
        (await client.opened.then(
          () => false,
          () => true,
        ))
      ) {
        wsClosed = true;
        const fresh = socket();
        const again = fresh.call.bind(fresh) as (method: never, ...args: never[]) => Promise<unknown>;
        return again(method, ...args);
      }
      throw error;
    }
  }) as WsClient<Contract>['call'];

  return { call, stream, session };
}

/** Provides {@link useRpc} and {@link useSession} to the app. */
export function RpcProvider({ children, rpc: given }: Props) {
  const rpc = useMemo(() => given ?? createRpc(), [given]);

  useEffect(() => {
    if (rpc.session.getState().status === 'restoring') void rpc.session.restore();
  }, [rpc]);

  return <RpcContext.Provider value={rpc}>{children}</RpcContext.Provider>;
}

/** The typed RPC layer. Must be used under {@link RpcProvider}. */
export function useRpc(): Rpc {
  const rpc = useContext(RpcContext);
  if (rpc === undefined) throw new Error('useRpc must be used inside <RpcProvider>');
  return rpc;
}

/** The session state, re-rendering on sign-in, refresh and sign-out. */
export function useSession(): SessionState {
  const { session } = useRpc();
  return useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => session.getState(),
  );
}

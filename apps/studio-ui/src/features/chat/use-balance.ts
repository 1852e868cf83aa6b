// The signed-in user's balance for the chat panel. Charges are settled asynchronously (llmserver → Kafka →
// auth's usage sink → PostgreSQL), so right after a turn the settled balance may not show its cost yet:
// `settle(cost)` polls until the balance has dropped by at least that much, or gives up after a while and
// shows what it has.
import type { Balance } from '@cyber/contract';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { useRpc } from '../../rpc/RpcProvider.tsx';

/** How often and how long to poll for a charge to show. */
const POLL_MS = 300;
const POLL_LIMIT_MS = 15_000;

/** What {@link useBalance} returns. */
export interface BalanceState {
  balance: Balance | undefined;
  /** True while waiting for a charge to be settled. */
  settling: boolean;
  error: string | undefined;
  /** Reads the balance again. */
  refresh: () => Promise<void>;
  /**
   * Reads the balance until it is at most `before - cost` (the turn's charge landed) or the wait is over.
   * `cost` undefined (a stopped turn, whose charge is not reported) waits for any change.
   */
  settle: (before: number | undefined, cost: number | undefined) => Promise<void>;
}

/** The caller's balance, read on mount. */
export function useBalance(): BalanceState {
  const rpc = useRpc();
  const [balance, setBalance] = useState<Balance | undefined>(undefined);
  const [settling, setSettling] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const live = useRef(true);

  const read = useCallback(async (): Promise<Balance | undefined> => {
    try {
      const next = await rpc.call('billing.balance', {});
      if (live.current) {
        setBalance(next);
        setError(undefined);
      }
      return next;
    } catch (failure) {
      if (live.current) setError(errorText(failure));
      return undefined;
    }
  }, [rpc]);

  useEffect(() => {
    live.current = true;
    void read();
    return () => {
      live.current = false;
    };
  }, [read]);

  const refresh = useCallback(async () => {
    await read();
  }, [read]);

  const settle = useCallback(
    async (before: number | undefined, cost: number | undefined) => {
      if (cost === 0) {
        await read();
        return;
      }
      setSettling(true);
      const deadline = Date.now() + POLL_LIMIT_MS;
      try {
        for (;;) {
          const next = await read();
          const landed =
            next !== undefined &&
            (before === undefined ||
              (cost === undefined ? next.balance !== before : next.balance <= before - cost));
          if (landed || Date.now() >= deadline || !live.current) return;
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      } finally {
        if (live.current) setSettling(false);
      }
    },
    [read],
  );

  return { balance, settling, error, refresh, settle };
}

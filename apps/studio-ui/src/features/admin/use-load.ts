// Loads data for a dashboard section and keeps loading / error / data apart, so every section shows a loading
// state, an error where it happened, and its data; `reload` reads again after a change.
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from '../../rpc/error-text.ts';

/** What {@link useLoad} returns. */
export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  /** Loads again; resolves when done (errors land in `error`). */
  reload: () => Promise<void>;
}

/** Runs `load` on mount and whenever `key` changes; a later load wins over an earlier one still running. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const next = await loadRef.current();
      if (mine === generation.current) {
        setData(next);
        setError(undefined);
      }
    } catch (failure) {
      if (mine === generation.current) setError(errorText(failure));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
    return () => {
      generation.current += 1;
    };
  }, [reload, key]);

  return { data, error, loading, reload };
}

import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, errorMessage } from '../api/client';

export interface AsyncState<T> {
  data: T | undefined;
  error: string | undefined;
  /** The HTTP status of the failed call (0: network or shape), when it was an API call. */
  errorStatus: number | undefined;
  loading: boolean;
  /** Loads again, keeping the current data on screen meanwhile. */
  reload: () => void;
  /** Replaces the data in place (a live update). */
  setData: (update: (current: T | undefined) => T | undefined) => void;
}

/** Runs `load` when `deps` change; an older answer arriving after a newer request is dropped. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): AsyncState<T> {
  const [data, setDataState] = useState<T>();
  const [error, setError] = useState<string>();
  const [errorStatus, setErrorStatus] = useState<number>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const request = ++latest.current;
    const controller = new AbortController();
    setLoading(true);
    loadRef.current(controller.signal).then(
      (value) => {
        if (request !== latest.current) return;
        setDataState(value);
        setError(undefined);
        setErrorStatus(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (request !== latest.current || controller.signal.aborted) return;
        setError(errorMessage(err));
        setErrorStatus(err instanceof ApiError ? err.status : undefined);
        setLoading(false);
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const setData = useCallback((update: (current: T | undefined) => T | undefined) => setDataState((c) => update(c)), []);
  return { data, error, errorStatus, loading, reload, setData };
}

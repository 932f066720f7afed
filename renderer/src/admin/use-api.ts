// Loading what a page shows: the answer, the error, and a reload.
import { useCallback, useEffect, useState } from 'react';

import { api } from './api.js';

export function useApi<T>(path: string | null): { data: T | undefined; error: Error | undefined; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let current = true;
    setError(undefined);
    api<T>('GET', path).then(
      (answer) => current && setData(answer),
      (e: Error) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [path, tick]);
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}

/** Server-sent events of one name, parsed: the latest, pushed by the service. */
export function useEvents<T>(path: string, event: string): { data: T | undefined; connected: boolean } {
  const [data, setData] = useState<T>();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const source = new EventSource(path, { withCredentials: true });
    source.addEventListener(event, (message) => {
      setConnected(true);
      setData(JSON.parse((message as MessageEvent<string>).data) as T);
    });
    source.onerror = () => setConnected(false);
    return () => source.close();
  }, [path, event]);
  return { data, connected };
}

// The ESP as the renderer keeps it: the snapshot the host sent, with every later event folded in
// by the one reducer (protocol/esp.ts) — the same state the engine has — and a pending decision.
import { useEffect, useState } from 'react';

import { applyEspEvent, type EspFailure, type EspSnapshot } from '../../protocol/esp.js';
import type { OobePage } from '../../protocol/ipc.js';
import type { HostConnection } from './host.js';

export interface EspView {
  snapshot: EspSnapshot | null;
  decision: EspFailure | null;
  /** The OOBE pages the engine waits for, until its OOBE step ends. */
  oobe: OobePage[] | null;
  error: string | null;
}

export function useEsp(host: HostConnection | null): EspView {
  const [view, setView] = useState<EspView>({ snapshot: null, decision: null, oobe: null, error: null });
  useEffect(() => {
    if (!host) return undefined;
    const unsubscribe = host.onMessage((message) => {
      setView((current) => {
        if (message.type === 'snapshot') return { snapshot: message.snapshot, decision: null, oobe: null, error: null };
        if (message.type === 'decision') return { ...current, decision: message.failure };
        if (message.type === 'oobe') return { ...current, oobe: message.pages };
        if (!current.snapshot || message.event.seq <= current.snapshot.seq) return current;
        const snapshot = applyEspEvent(current.snapshot, message.event);
        const oobeEnded = message.event.type === 'step' && message.event.step === 'oobe' && message.event.state !== 'in-progress';
        return { ...current, snapshot, oobe: oobeEnded ? null : current.oobe, decision: message.event.type === 'continued' || message.event.type === 'failed' ? null : current.decision };
      });
    });
    host.call('subscribe', {}).then(
      (snapshot) => setView((current) => (current.snapshot && current.snapshot.seq >= snapshot.seq && current.snapshot.startedAt === snapshot.startedAt ? current : { ...current, snapshot })),
      (error: Error) => setView((current) => ({ ...current, error: error.message })),
    );
    return unsubscribe;
  }, [host]);
  return view;
}

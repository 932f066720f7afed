// What the branding page's preview shows: the real ESP renderer (index.html, framed with #preview)
// playing a made-up deployment in the branding being edited. The console plays the host: it
// answers `subscribe` with a snapshot built by the ESP's own reducer and refuses every other
// command (nothing is run from a preview).
import { applyEspEvent, initialSnapshot, type EspEventBody, type EspSnapshot } from '../../../protocol/esp.js';
import type { DeviceBranding } from '../../../protocol/branding.js';
import { HostMessageSchema, RendererMessageSchema, type HostMessage } from '../../../protocol/ipc.js';

export const PREVIEW_PAGES = ['progress', 'failed', 'done'] as const;
export type PreviewPage = (typeof PREVIEW_PAGES)[number];

const item = (id: string, name: string, kind: 'policy' | 'app' | 'certificate' | 'network') => ({
  id,
  name,
  kind,
  version: 1,
  blocking: true,
  state: 'not-started' as const,
  startedAt: null,
  finishedAt: null,
  detail: null,
  progress: null,
  error: null,
});

/** A deployment as far as the page shows it: on the way, failed at an app, or done. */
export function previewSnapshot(branding: DeviceBranding, page: PreviewPage, now = new Date()): EspSnapshot {
  const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();
  const events: EspEventBody[] = [
    {
      type: 'context',
      context: {
        branding,
        device: { serial: 'PREVIEW-0001', manufacturer: 'Example', model: 'Kiosk 10', hardwareHash: null, deviceId: null, deviceName: 'KIOSK-0001' },
        network: { medium: 'wired', interface: 'eth0' },
        rules: { showProgress: true, timeoutMinutes: 60, customErrorMessage: '', allowLogCollection: true, blockDeviceUse: true, allowReset: true, allowContinue: false },
        deadline: at(-45),
        profileName: 'preview',
      },
    },
  ];
  for (const step of ['network', 'profile', 'oobe', 'updates', 'securing-hardware', 'joining', 'registering-mdm', 'preparing-mdm'] as const) events.push({ type: 'step', step, state: 'succeeded' });
  events.push({ type: 'step', step: 'policies', state: 'succeeded' });
  events.push({ type: 'step', step: 'certificates', state: 'succeeded' });
  events.push({ type: 'step', step: 'networks', state: 'succeeded' });
  events.push({ type: 'step', step: 'apps', state: 'in-progress' });
  events.push({ type: 'items', step: 'apps', items: [item('a1', 'Kiosk browser', 'app'), item('a2', 'Point of sale', 'app'), item('a3', 'Printer drivers', 'app')] });
  events.push({ type: 'item', step: 'apps', item: 'a1', patch: { state: 'succeeded' } });
  events.push({ type: 'item', step: 'apps', item: 'a2', patch: { state: 'in-progress', detail: 'Downloading 32 of 80 MB', progress: 0.4 } });
  if (page === 'failed') {
    const failure = {
      code: 'APP_INSTALL_FAILED',
      hresult: '0x80070643',
      title: 'An app could not be installed',
      message: 'Point of sale could not be installed.',
      remedy: 'Check the package and its detection rule, then try again.',
      docs: 'errors.md#app_install_failed',
      detail: 'the installer exited with status 1',
      step: 'apps' as const,
      item: 'a2',
    };
    events.push({ type: 'item', step: 'apps', item: 'a2', patch: { state: 'failed', error: failure } });
    events.push({ type: 'step', step: 'apps', state: 'failed' });
    events.push({ type: 'failed', failure });
  }
  if (page === 'done') {
    events.push({ type: 'item', step: 'apps', item: 'a2', patch: { state: 'succeeded' } });
    events.push({ type: 'item', step: 'apps', item: 'a3', patch: { state: 'succeeded' } });
    for (const step of ['apps', 'complete', 'end-state'] as const) events.push({ type: 'step', step, state: 'succeeded' });
    events.push({ type: 'step', step: 'account', state: 'skipped' });
    events.push({ type: 'succeeded' });
  }
  let snapshot = initialSnapshot(at(20));
  events.forEach((event, i) => {
    snapshot = applyEspEvent(snapshot, { ...event, seq: i + 1, at: at(20 - i) });
  });
  return snapshot;
}

/** The console's side of the preview: answers the framed ESP with `current()`; `show` pushes a new snapshot. */
export function previewHost(frame: () => Window | null | undefined, current: () => EspSnapshot | null): { show: (snapshot: EspSnapshot) => void; stop: () => void } {
  const post = (message: HostMessage) => frame()?.postMessage(JSON.stringify(HostMessageSchema.parse(message)), location.origin);
  const listener = (event: MessageEvent<unknown>) => {
    if (event.source !== frame() || event.origin !== location.origin || typeof event.data !== 'string') return;
    let parsed;
    try {
      parsed = RendererMessageSchema.safeParse(JSON.parse(event.data));
    } catch {
      return;
    }
    if (!parsed.success) return;
    const { id, command } = parsed.data;
    const snapshot = current();
    if (command === 'subscribe' && snapshot) post({ type: 'reply', id, ok: true, result: snapshot });
    else post({ type: 'reply', id, ok: false, error: { code: 'PREVIEW', message: 'This is a preview: nothing runs from it.' } });
  };
  window.addEventListener('message', listener);
  return {
    show: (snapshot) => post({ type: 'snapshot', snapshot }),
    stop: () => window.removeEventListener('message', listener),
  };
}

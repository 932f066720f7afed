// The kiosk window's enforcement and its page's wiring, with stand-ins for the Electron objects
// they are given (the controller itself: main/host/kiosk/controller.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { KioskSchema, type KioskEndState } from '../../../protocol/profile.js';
import { KioskController, type KioskClock } from '../kiosk/controller.js';
import { KIOSK_BINDING } from '../kiosk/toolbar.js';
import { ElectronKioskView, KIOSK_CHANNEL, KIOSK_WORLD_ID, attachKioskPage, guardKioskNavigation } from './kiosk.js';

type Handler = (...args: unknown[]) => unknown;
const config = (settings: Partial<KioskEndState> = {}) =>
  KioskSchema.parse({ type: 'kiosk', mode: 'browser', homeUrl: 'https://visit.fabrikam.example/', allowedUrls: ['https://visit.fabrikam.example/*'], blockedUrls: ['https://visit.fabrikam.example/admin*'], ...settings }) as KioskEndState & {
    homeUrl: string;
  };
const noClock: KioskClock = { setTimeout: () => 0, clearTimeout: () => undefined };

function standIn() {
  const on = new Map<string, Handler>();
  const loaded: string[] = [];
  let open: Handler | undefined;
  let beforeRequest: Handler | undefined;
  let permission: Handler | undefined;
  const contents = {
    on: (name: string, handler: Handler) => (on.set(name, handler), contents),
    setWindowOpenHandler: (handler: Handler) => void (open = handler),
    loadURL: (url: string) => (loaded.push(url), Promise.resolve()),
  };
  const session = {
    webRequest: { onBeforeRequest: (handler: Handler) => void (beforeRequest = handler) },
    setPermissionRequestHandler: (handler: Handler) => void (permission = handler),
    setPermissionCheckHandler: () => undefined,
  };
  const refused: unknown[] = [];
  const controller = new KioskController(config(), new ElectronKioskView(contents as never, session as never), noClock, (event, detail) => {
    if (event === 'kiosk.navigation-refused') refused.push({ url: detail['url'], reason: detail['reason'] });
  });
  guardKioskNavigation(contents as never, session as never, controller);
  const navigate = (name: string, url: string) => {
    const event = { url, prevented: false, preventDefault: () => void (event.prevented = true) };
    on.get(name)!(event, url);
    return event.prevented;
  };
  const request = (url: string, resourceType: string) => {
    let cancel: boolean | undefined;
    beforeRequest!({ url, resourceType }, (answer: { cancel: boolean }) => (cancel = answer.cancel));
    return cancel;
  };
  return { navigate, request, open: () => open!, loaded, refused, permission: () => permission! };
}

describe('the kiosk window', () => {
  it('refuses navigation, redirects and frames to what the profile does not allow, before they load', () => {
    const k = standIn();
    for (const name of ['will-navigate', 'will-redirect', 'will-frame-navigate']) {
      expect(k.navigate(name, 'https://evil.example/'), name).toBe(true);
      expect(k.navigate(name, 'https://visit.fabrikam.example/admin/'), name).toBe(true);
      expect(k.navigate(name, 'https://visit.fabrikam.example/rooms'), name).toBe(false);
    }
    expect(k.refused).toContainEqual({ url: 'https://visit.fabrikam.example/admin/', reason: 'blocked' });
  });

  it('cancels document and frame requests to refused URLs at the network layer, and lets a page’s images through', () => {
    const k = standIn();
    expect(k.request('https://evil.example/', 'mainFrame')).toBe(true);
    expect(k.request('https://evil.example/embed', 'subFrame')).toBe(true);
    expect(k.request('https://visit.fabrikam.example/', 'mainFrame')).toBe(false);
    expect(k.request('https://cdn.example/logo.png', 'image')).toBe(false);
  });

  it('opens no new window: an allowed link loads in the kiosk window, a refused one nowhere', () => {
    const k = standIn();
    expect(k.open()({ url: 'https://visit.fabrikam.example/map' })).toEqual({ action: 'deny' });
    expect(k.open()({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(k.loaded).toEqual(['https://visit.fabrikam.example/map']);
    let granted: boolean | undefined;
    k.permission()(null, 'camera', (allowed: boolean) => (granted = allowed));
    expect(granted).toBe(false);
  });

  it('injects the toolbar into each document’s isolated world and takes commands only from its own main frame', async () => {
    const on = new Map<string, Handler>();
    const injected: [number, string][] = [];
    const mainFrame = { name: 'main' };
    const contents = {
      on: (name: string, handler: Handler) => (on.set(name, handler), contents),
      mainFrame,
      executeJavaScriptInIsolatedWorld: (world: number, scripts: { code: string }[]) => (injected.push([world, scripts[0]!.code]), Promise.resolve()),
    };
    let listener: Handler | undefined;
    const ipc = { on: (channel: string, handler: Handler) => (expect(channel).toBe(KIOSK_CHANNEL), (listener = handler), ipc) };
    const calls: string[] = [];
    const view = { load: (url: string) => (calls.push(`load ${url}`), Promise.resolve()), back: () => (calls.push('back'), Promise.resolve()), forward: () => Promise.resolve(), reload: () => (calls.push('reload'), Promise.resolve()), clearSession: () => Promise.resolve(), clearHistory: () => Promise.resolve() };
    const controller = new KioskController(config(), view, noClock);
    attachKioskPage(contents as never, ipc as never, controller);
    on.get('dom-ready')!();
    expect(injected).toHaveLength(1);
    expect(injected[0]![0]).toBe(KIOSK_WORLD_ID);
    expect(injected[0]![1]).toContain('"interactive":true');
    listener!({ sender: contents, senderFrame: mainFrame }, 'back');
    listener!({ sender: contents, senderFrame: { name: 'a frame' } }, 'back');
    listener!({ sender: { other: true }, senderFrame: mainFrame }, 'back');
    listener!({ sender: contents, senderFrame: mainFrame }, 'navigate https://evil.example/');
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['back']);
  });

  it('keeps signage free of keyboard input and reloads it when the page failed, not when a navigation was refused', () => {
    const on = new Map<string, Handler>();
    const contents = { on: (name: string, handler: Handler) => (on.set(name, handler), contents), mainFrame: {}, executeJavaScriptInIsolatedWorld: () => Promise.resolve() };
    const timers: number[] = [];
    const clock: KioskClock = { setTimeout: (_run, ms) => timers.push(ms), clearTimeout: () => undefined };
    const view = { load: () => Promise.resolve(), back: () => Promise.resolve(), forward: () => Promise.resolve(), reload: () => Promise.resolve(), clearSession: () => Promise.resolve(), clearHistory: () => Promise.resolve() };
    attachKioskPage(contents as never, { on: () => undefined } as never, new KioskController(config({ mode: 'signage' }), view, clock));
    const key = { prevented: false, preventDefault: () => void (key.prevented = true) };
    on.get('before-input-event')!(key, { type: 'keyDown', key: 'F5' });
    expect(key.prevented).toBe(true);
    on.get('did-fail-load')!({}, -3, 'ERR_ABORTED', 'https://visit.fabrikam.example/admin', true);
    on.get('did-fail-load')!({}, -105, 'ERR_NAME_NOT_RESOLVED', 'https://ads.example/frame', false);
    expect(timers).toEqual([]);
    on.get('did-fail-load')!({}, -105, 'ERR_NAME_NOT_RESOLVED', 'https://visit.fabrikam.example/', true);
    expect(timers).toEqual([2000]);
  });

  it('the kiosk preload exposes its one function in the toolbar’s world under the names the host uses', () => {
    const preload = readFileSync(join(import.meta.dirname, 'kiosk-preload.cts'), 'utf8');
    expect(preload).toContain(`exposeInIsolatedWorld(${KIOSK_WORLD_ID}, '${KIOSK_BINDING}'`);
    expect(preload).toContain(`ipcRenderer.send('${KIOSK_CHANNEL}'`);
    expect(preload).not.toContain('exposeInMainWorld');
  });
});

// The kiosk window's enforcement, with stand-ins for the Electron objects it is given.
import { describe, expect, it } from 'vitest';

import { IdleRestart, guardKioskNavigation, readKioskConfig, reloadSignageOnFailure, type KioskClock } from './kiosk.js';

type Handler = (...args: unknown[]) => unknown;
const rules = { homeUrl: 'https://visit.fabrikam.example/', allowedUrls: ['https://visit.fabrikam.example/*'], blockedUrls: ['https://visit.fabrikam.example/admin*'] };

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
  guardKioskNavigation(contents as never, session as never, rules, (_event, detail) => refused.push(detail));
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

class FakeClock implements KioskClock {
  timers = new Map<number, { at: number; run: () => void }>();
  now = 0;
  private next = 1;
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, run });
    return id;
  }
  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as number);
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].run();
    }
    this.now = until;
  }
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

  it('restarts after the idle minutes, counted again from each input', () => {
    const clock = new FakeClock();
    let restarts = 0;
    const idle = new IdleRestart(5, () => restarts++, clock);
    clock.advance(4 * 60_000);
    idle.activity();
    clock.advance(4 * 60_000);
    expect(restarts).toBe(0);
    clock.advance(60_000);
    expect(restarts).toBe(1);
    clock.advance(5 * 60_000);
    expect(restarts).toBe(2);
    new IdleRestart(null, () => restarts++, clock);
    clock.advance(60 * 60_000);
    expect(restarts).toBe(14); // the first one only: 12 more five-minute periods
  });

  it('reloads failed signage after 2 s, 4 s, 8 s, and from 2 s again once a load works', () => {
    const clock = new FakeClock();
    const on = new Map<string, Handler>();
    let reloads = 0;
    reloadSignageOnFailure({ on: (name: string, handler: Handler) => on.set(name, handler), reload: () => reloads++ } as never, clock);
    const fail = () => on.get('did-fail-load')!({}, -105, 'NAME_NOT_RESOLVED', 'https://signage.example/', true);
    fail();
    clock.advance(1999);
    expect(reloads).toBe(0);
    clock.advance(1);
    expect(reloads).toBe(1);
    fail();
    clock.advance(4000);
    expect(reloads).toBe(2);
    fail();
    clock.advance(7999);
    expect(reloads).toBe(2);
    clock.advance(1);
    expect(reloads).toBe(3);
    on.get('did-finish-load')!();
    fail();
    clock.advance(2000);
    expect(reloads).toBe(4);
    on.get('did-fail-load')!({}, -3, 'ABORTED', 'https://ads.example/frame', false); // a frame: not the page
    clock.advance(600_000);
    expect(reloads).toBe(4);
  });

  it('reads the kiosk settings device setup wrote, and refuses damaged ones', () => {
    const written = JSON.stringify({ type: 'kiosk', localAccount: { name: 'kiosk' }, autoLogon: true, mode: 'signage', homeUrl: 'https://signage.example/', organization: 'Fabrikam' });
    expect(readKioskConfig(written)).toMatchObject({ mode: 'signage', homeUrl: 'https://signage.example/', allowedUrls: [], idleRestartMinutes: null });
    expect(() => readKioskConfig('{')).toThrow('is not JSON');
    expect(() => readKioskConfig(JSON.stringify({ type: 'kiosk', mode: 'browser' }))).toThrow('homeUrl is required in browser mode');
  });
});

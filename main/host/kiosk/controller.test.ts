// The kiosk controller alone, with a recording view and a clock the test moves: what each toolbar
// command does (and does not, when the profile hides its button), the idle restart, signage's
// backoff, and the settings file.
import { describe, expect, it } from 'vitest';

import { KioskSchema, type KioskEndState } from '../../../protocol/profile.js';
import { KioskController, readKioskConfig, type KioskClock, type KioskView } from './controller.js';

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

class RecordingView implements KioskView {
  calls: string[] = [];
  load(url: string) {
    this.calls.push(`load ${url}`);
    return Promise.resolve();
  }
  back() {
    this.calls.push('back');
    return Promise.resolve();
  }
  forward() {
    this.calls.push('forward');
    return Promise.resolve();
  }
  reload() {
    this.calls.push('reload');
    return Promise.resolve();
  }
  clearSession() {
    this.calls.push('clear-session');
    return Promise.resolve();
  }
  clearHistory() {
    this.calls.push('clear-history');
    return Promise.resolve();
  }
}

const HOME = 'https://visit.fabrikam.example/';

function kiosk(settings: Partial<KioskEndState> = {}) {
  const config = KioskSchema.parse({ type: 'kiosk', mode: 'browser', homeUrl: HOME, allowedUrls: ['https://visit.fabrikam.example/*'], blockedUrls: ['https://visit.fabrikam.example/staff/*'], ...settings });
  const view = new RecordingView();
  const clock = new FakeClock();
  const log: [string, Record<string, unknown>][] = [];
  const controller = new KioskController(config as KioskEndState & { homeUrl: string }, view, clock, (event, detail) => log.push([event, detail]));
  return { controller, view, clock, log };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('the kiosk controller', () => {
  it('starts on the home URL and carries out the toolbar’s commands', async () => {
    const k = kiosk({ showEndSessionButton: true });
    await k.controller.start();
    for (const command of ['back', 'forward', 'home', 'end-session']) await k.controller.command(command);
    expect(k.view.calls).toEqual([`load ${HOME}`, 'back', 'forward', `load ${HOME}`, 'clear-session', `load ${HOME}`, 'clear-history']);
    expect(k.log).toEqual([['kiosk.session-restarted', { why: 'end-session' }]]);
  });

  it('ignores the commands of buttons the profile hides, unknown text, and every command in signage', async () => {
    const k = kiosk({ showNavigationButtons: false, showHomeButton: false, showEndSessionButton: false });
    for (const command of ['back', 'forward', 'home', 'end-session', 'navigate', { command: 'home' }, 'HOME']) await k.controller.command(command);
    const signage = kiosk({ mode: 'signage', showEndSessionButton: true });
    for (const command of ['back', 'home', 'end-session']) await signage.controller.command(command);
    expect([...k.view.calls, ...signage.view.calls]).toEqual([]);
    expect(signage.controller.interactive).toBe(false);
  });

  it('judges every document against the profile and logs what it refuses', () => {
    const k = kiosk();
    expect(k.controller.verdict('https://visit.fabrikam.example/hours', 'navigation')).toEqual({ allowed: true });
    expect(k.controller.verdict('https://visit.fabrikam.example/staff/', 'redirect')).toEqual({ allowed: false, reason: 'blocked' });
    expect(k.controller.verdict('file:///etc/passwd', 'committed')).toEqual({ allowed: false, reason: 'scheme' });
    expect(k.log).toEqual([
      ['kiosk.navigation-refused', { url: 'https://visit.fabrikam.example/staff/', reason: 'blocked', how: 'redirect' }],
      ['kiosk.navigation-refused', { url: 'file:///etc/passwd', reason: 'scheme', how: 'committed' }],
    ]);
  });

  it('restarts a fresh session on the home URL after the idle minutes, counted again from each input', async () => {
    const k = kiosk({ idleRestartMinutes: 5 });
    await k.controller.start();
    k.clock.advance(4 * 60_000);
    await k.controller.command('activity');
    k.clock.advance(4 * 60_000);
    await flush();
    expect(k.view.calls).toEqual([`load ${HOME}`]);
    k.clock.advance(60_000);
    await flush();
    expect(k.view.calls).toEqual([`load ${HOME}`, 'clear-session', `load ${HOME}`, 'clear-history']);
    k.clock.advance(5 * 60_000);
    await flush();
    expect(k.view.calls.filter((c) => c === 'clear-session')).toHaveLength(2);
    k.controller.close();
    k.clock.advance(60 * 60_000);
    expect(k.view.calls.filter((c) => c === 'clear-session')).toHaveLength(2);
    const never = kiosk();
    await never.controller.start();
    never.clock.advance(24 * 60 * 60_000);
    expect(never.view.calls).toEqual([`load ${HOME}`]);
  });

  it('reloads failed signage after 2 s, 4 s, 8 s, and from 2 s again once a load works; a browser kiosk shows the failure', () => {
    const k = kiosk({ mode: 'signage' });
    const reloads = () => k.view.calls.filter((c) => c === 'reload').length;
    k.controller.loadFailed(HOME, 'unreachable');
    k.clock.advance(1999);
    expect(reloads()).toBe(0);
    k.clock.advance(1);
    expect(reloads()).toBe(1);
    k.controller.loadFailed(HOME, 'unreachable');
    k.clock.advance(4000);
    expect(reloads()).toBe(2);
    k.controller.loadFailed(HOME, 'unreachable');
    k.clock.advance(7999);
    expect(reloads()).toBe(2);
    k.clock.advance(1);
    expect(reloads()).toBe(3);
    k.controller.loadSucceeded();
    k.controller.loadFailed(HOME, 'unreachable');
    k.clock.advance(2000);
    expect(reloads()).toBe(4);
    expect(k.log.map(([event, detail]) => [event, detail['retryInMs']])).toEqual([
      ['signage.load-failed', 2000],
      ['signage.load-failed', 4000],
      ['signage.load-failed', 8000],
      ['signage.load-failed', 2000],
    ]);
    const browser = kiosk();
    browser.controller.loadFailed(HOME, 'unreachable');
    browser.clock.advance(600_000);
    expect(browser.view.calls).toEqual([]);
  });

  it('reads the kiosk settings device setup wrote, and refuses damaged ones and app kiosks', () => {
    const written = JSON.stringify({ type: 'kiosk', localAccount: { name: 'kiosk' }, autoLogon: true, mode: 'signage', homeUrl: 'https://signage.example/', organization: 'Fabrikam' });
    expect(readKioskConfig(written)).toMatchObject({ mode: 'signage', homeUrl: 'https://signage.example/', allowedUrls: [], idleRestartMinutes: null });
    expect(() => readKioskConfig('{')).toThrow('is not JSON');
    expect(() => readKioskConfig(JSON.stringify({ type: 'kiosk', mode: 'browser' }))).toThrow('homeUrl is required in browser mode');
    expect(() => readKioskConfig(JSON.stringify({ type: 'kiosk', mode: 'app', appCommand: ['/usr/bin/lobby'] }), '/tmp/k.json')).toThrow('/tmp/k.json: the kiosk is in "app" mode');
  });
});

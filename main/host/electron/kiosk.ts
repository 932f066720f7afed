// The kiosk after setup, in the Electron main process: the site loads in a window the page cannot
// steer past the profile's rules — every navigation, redirect, frame and new window is checked
// here (protocol/kiosk.ts), before anything loads — with an idle restart to the home URL and, for
// signage, reloads with backoff when the page fails.
import type { Event, Session, WebContents } from 'electron';

import { kioskNavigation, signageRetryMs } from '../../../protocol/kiosk.js';
import { KioskSchema, type KioskEndState } from '../../../protocol/profile.js';
import { parseJsonDocument } from '../../../protocol/validation.js';
import { denyPermissions } from './window.js';

/** Where device setup left the kiosk's settings (main/providers/kiosk.ts), read by `--kiosk`. */
export const KIOSK_CONFIG = '/etc/selfdeploy/kiosk.json';

export class KioskConfigError extends Error {
  override name = 'KioskConfigError';
}

/** The kiosk settings from kiosk.json, validated as the profile's kiosk end state. */
export function readKioskConfig(text: string): KioskEndState {
  return parseJsonDocument(text, KioskSchema, KIOSK_CONFIG, (message) => new KioskConfigError(message));
}

type Rules = Pick<KioskEndState, 'homeUrl' | 'allowedUrls' | 'blockedUrls'>;
type Log = (event: string, detail: Record<string, unknown>) => void;

type KioskContents = Pick<WebContents, 'on' | 'setWindowOpenHandler' | 'loadURL'>;
type KioskSession = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> & { webRequest: Pick<Session['webRequest'], 'onBeforeRequest'> };

/** Enforces the rules on a kiosk window's contents and session; a refused URL never loads. */
export function guardKioskNavigation(contents: KioskContents, session: KioskSession, rules: Rules, log: Log = () => undefined): void {
  const check = (event: Event, url: string) => {
    const verdict = kioskNavigation(url, rules);
    if (verdict.allowed) return;
    event.preventDefault();
    log('kiosk.navigation-refused', { url, reason: verdict.reason });
  };
  contents.on('will-navigate', check);
  contents.on('will-redirect', check);
  contents.on('will-frame-navigate', (event) => check(event, event.url));
  // New windows never open; an allowed link opens in the kiosk window itself.
  contents.setWindowOpenHandler(({ url }) => {
    if (kioskNavigation(url, rules).allowed) void contents.loadURL(url);
    else log('kiosk.navigation-refused', { url, reason: 'new-window' });
    return { action: 'deny' };
  });
  // The network layer too: a document or frame request to a refused URL is cancelled before it is sent.
  session.webRequest.onBeforeRequest((details, callback) => {
    const document = details.resourceType === 'mainFrame' || details.resourceType === 'subFrame';
    const verdict = document ? kioskNavigation(details.url, rules) : { allowed: true as const };
    if (!verdict.allowed) log('kiosk.request-cancelled', { url: details.url, reason: verdict.reason });
    callback({ cancel: !verdict.allowed });
  });
  denyPermissions(session);
}

export interface KioskClock {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

/** After `minutes` without input, `restart()` (back to the home URL, a fresh session). */
export class IdleRestart {
  private timer: unknown;

  constructor(
    private readonly minutes: number | null,
    private readonly restart: () => void,
    private readonly clock: KioskClock = { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout) },
  ) {
    this.activity();
  }

  /** Input happened: the countdown starts again. */
  activity(): void {
    if (this.minutes === null) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.restart();
      this.activity();
    }, this.minutes * 60_000);
  }
}

/** Signage: a page that fails to load is loaded again after 2 s, 4 s … 5 min; a load that works resets it. */
export function reloadSignageOnFailure(contents: Pick<WebContents, 'on' | 'reload'>, clock: KioskClock, log: Log = () => undefined): void {
  let failures = 0;
  contents.on('did-fail-load', (_event, code, description, _url, isMainFrame) => {
    if (!isMainFrame) return;
    failures++;
    const wait = signageRetryMs(failures);
    log('signage.load-failed', { code, description, retryInMs: wait });
    clock.setTimeout(() => contents.reload(), wait);
  });
  contents.on('did-finish-load', () => {
    failures = 0;
  });
}

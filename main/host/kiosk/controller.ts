// The kiosk browser after setup, for every host: what the toolbar's buttons do (back, forward,
// home, end session), the idle restart, signage's reloads with backoff, and the verdict on every
// document the kiosk is asked to load (protocol/kiosk.ts), logged when refused. A host — the
// Electron window (main/host/electron/kiosk.ts) or Chromium driven over the DevTools protocol
// (cdp.ts) — enforces the verdicts outside the page and carries out what this asks of its view.
import { kioskNavigation, signageRetryMs, type NavigationVerdict } from '../../../protocol/kiosk.js';
import { KioskSchema, type KioskEndState } from '../../../protocol/profile.js';
import type { CodedError } from '../../../protocol/errors/report.js';
import { parseJsonDocument } from '../../../protocol/validation.js';

/** Where device setup leaves the kiosk's settings (main/providers/kiosk.ts). */
export const KIOSK_CONFIG = '/etc/selfdeploy/kiosk.json';

export class KioskConfigError extends Error implements CodedError {
  override name = 'KioskConfigError';
  readonly code = 'KIOSK_CONFIG_INVALID' as const;
}

/** The kiosk settings from kiosk.json, validated as the profile's kiosk end state (browser or signage). */
export function readKioskConfig(text: string, path = KIOSK_CONFIG): KioskEndState & { homeUrl: string } {
  const kiosk = parseJsonDocument(text, KioskSchema, path, (message) => new KioskConfigError(message));
  if (kiosk.mode === 'app' || !kiosk.homeUrl) throw new KioskConfigError(`${path}: the kiosk is in "${kiosk.mode}" mode; the kiosk browser shows only "browser" and "signage" kiosks`);
  return { ...kiosk, homeUrl: kiosk.homeUrl };
}

/** What the toolbar (toolbar.ts) may ask; anything else is ignored. */
export const KIOSK_COMMANDS = ['back', 'forward', 'home', 'end-session', 'activity'] as const;
export type KioskCommand = (typeof KIOSK_COMMANDS)[number];

/** What a host's view of the kiosk page can do. */
export interface KioskView {
  load(url: string): Promise<void>;
  back(): Promise<void>;
  forward(): Promise<void>;
  reload(): Promise<void>;
  /** Cookies, storage and cache of the session: a fresh start for the next visitor. */
  clearSession(): Promise<void>;
  /** Forgets the back/forward history (after the home page of a fresh session loaded). */
  clearHistory(): Promise<void>;
}

export interface KioskClock {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

export const systemClock: KioskClock = { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout) };

export type KioskLog = (event: string, detail: Record<string, unknown>) => void;

export class KioskController {
  private idleTimer: unknown;
  private signageTimer: unknown;
  private failures = 0;
  private closed = false;

  constructor(
    readonly config: KioskEndState & { homeUrl: string },
    private readonly view: KioskView,
    private readonly clock: KioskClock = systemClock,
    private readonly log: KioskLog = () => undefined,
  ) {}

  /** Whether the toolbar shows and input reaches the page (signage takes none). */
  get interactive(): boolean {
    return this.config.mode === 'browser';
  }

  /** Loads the home URL and starts the idle countdown. */
  async start(): Promise<void> {
    this.activity();
    await this.view.load(this.config.homeUrl);
  }

  /** The verdict on a document (page, frame, redirect, new window) the kiosk is asked to load; a refusal is logged. */
  verdict(url: string, how: string): NavigationVerdict {
    const verdict = kioskNavigation(url, this.config);
    if (!verdict.allowed) this.log('kiosk.navigation-refused', { url, reason: verdict.reason, how });
    return verdict;
  }

  /** A command from the toolbar or the page's input; unknown text is ignored (the page shares the toolbar's DOM). */
  async command(raw: unknown): Promise<void> {
    const command = KIOSK_COMMANDS.find((known) => known === raw);
    if (!command || this.closed) return;
    this.activity();
    if (command === 'activity') return;
    if (!this.interactive) return;
    if (command === 'back' && this.config.showNavigationButtons) await this.view.back();
    else if (command === 'forward' && this.config.showNavigationButtons) await this.view.forward();
    else if (command === 'home' && this.config.showHomeButton) await this.view.load(this.config.homeUrl);
    else if (command === 'end-session' && this.config.showEndSessionButton) await this.restart('end-session');
  }

  /** The main page failed to load: signage tries again after 2 s, 4 s … 5 min. */
  loadFailed(url: string, error: string): void {
    if (this.config.mode !== 'signage' || this.closed) return;
    this.failures++;
    const wait = signageRetryMs(this.failures);
    this.log('signage.load-failed', { url, error, retryInMs: wait });
    if (this.signageTimer !== undefined) this.clock.clearTimeout(this.signageTimer);
    this.signageTimer = this.clock.setTimeout(() => {
      this.signageTimer = undefined;
      void this.view.reload();
    }, wait);
  }

  /** The main page loaded: the backoff starts over. */
  loadSucceeded(): void {
    this.failures = 0;
  }

  close(): void {
    this.closed = true;
    for (const timer of [this.idleTimer, this.signageTimer]) if (timer !== undefined) this.clock.clearTimeout(timer);
  }

  /** Input happened: the idle countdown starts again. */
  private activity(): void {
    if (this.config.idleRestartMinutes === null || this.closed) return;
    if (this.idleTimer !== undefined) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = this.clock.setTimeout(() => {
      this.idleTimer = undefined;
      void this.restart('idle');
      this.activity();
    }, this.config.idleRestartMinutes * 60_000);
  }

  /** A fresh session on the home URL: after idle time, or when the visitor ends theirs. */
  private async restart(why: 'idle' | 'end-session'): Promise<void> {
    this.log('kiosk.session-restarted', { why });
    await this.view.clearSession();
    await this.view.load(this.config.homeUrl);
    await this.view.clearHistory();
  }
}

// The kiosk browser in Chromium, enforced from outside the page over the DevTools protocol (the
// counterpart of the Electron window's guard): every target — the kiosk page, its frames, any
// window a page opens — is attached paused, and every document request (page, frame, redirect)
// waits for KioskController's verdict before it is sent: a refused one never leaves the browser
// (the page stays where it was); new windows are closed and an allowed one's URL opens in the
// kiosk page. The toolbar runs in an isolated world and reaches the controller through a binding.
import { KioskController, type KioskClock, type KioskLog, type KioskView, systemClock } from './controller.js';
import type { Cdp, CdpEvent } from './chromium.js';
import { KIOSK_BINDING, KIOSK_WORLD, toolbarScript } from './toolbar.js';
import type { KioskEndState } from '../../../protocol/profile.js';

interface TargetInfo {
  targetId: string;
  type: string;
  url: string;
  openerId?: string;
}

interface HistoryEntry {
  id: number;
  url: string;
}

/** Permissions nothing in the kiosk is granted (and never asked about). */
const DENIED = ['geolocation', 'notifications', 'camera', 'microphone', 'midi', 'clipboard-read', 'display-capture', 'idle-detection', 'local-fonts', 'window-management', 'storage-access'];

/** URLs a committed page may have that are no document request: the blank page and the browser's error page. */
const NOT_LOADED = /^(about:blank|chrome-error:\/\/chromewebdata\/)/;

export class CdpKiosk implements KioskView {
  readonly controller: KioskController;
  private main: { sessionId: string; targetId: string } | undefined;
  private readonly sessions = new Map<string, TargetInfo>();
  private readonly origins = new Set<string>();
  private readonly unsubscribe: () => void;
  private mainReady!: () => void;
  private readonly mainAttached = new Promise<void>((resolve) => (this.mainReady = resolve));

  private constructor(
    private readonly cdp: Cdp,
    config: KioskEndState & { homeUrl: string },
    clock: KioskClock,
    private readonly log: KioskLog,
  ) {
    this.controller = new KioskController(config, this, clock, log);
    this.unsubscribe = cdp.onEvent((event) => void this.handle(event).catch((error: unknown) => log('kiosk.devtools-error', { method: event.method, message: (error as Error).message })));
  }

  /** Takes over the browser behind `cdp`: attaches to its page (or opens one) and loads the home URL. */
  static async open(cdp: Cdp, config: KioskEndState & { homeUrl: string }, options: { clock?: KioskClock; log?: KioskLog } = {}): Promise<CdpKiosk> {
    const kiosk = new CdpKiosk(cdp, config, options.clock ?? systemClock, options.log ?? (() => undefined));
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'deny' });
    for (const name of DENIED) await cdp.send('Browser.setPermission', { permission: { name }, setting: 'denied' }).catch(() => undefined);
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true });
    // Pages that existed before: attach to the first one as the kiosk page.
    const { targetInfos } = await cdp.send<{ targetInfos: TargetInfo[] }>('Target.getTargets');
    const page = targetInfos.find((target) => target.type === 'page');
    if (page && !kiosk.main) await cdp.send('Target.attachToTarget', { targetId: page.targetId, flatten: true });
    else if (!page) await cdp.send('Target.createTarget', { url: 'about:blank' });
    await kiosk.mainAttached;
    await kiosk.controller.start();
    return kiosk;
  }

  /** The kiosk page's session on this connection (for a host that wants to look at the page). */
  get sessionId(): string | undefined {
    return this.main?.sessionId;
  }

  /** What the kiosk page shows now. */
  async showing(): Promise<{ url: string; title: string }> {
    const { result } = await this.cdp.send<{ result: { value: { url: string; title: string } } }>('Runtime.evaluate', { expression: '({ url: location.href, title: document.title })', returnByValue: true }, await this.mainSession());
    return result.value;
  }

  close(): void {
    this.controller.close();
    this.unsubscribe();
  }

  // ---- KioskView ----

  /** Navigates the kiosk page; resolves once the page loaded (or the navigation failed or was refused). */
  async load(url: string): Promise<void> {
    const main = await this.mainSession();
    let done!: () => void;
    const loaded = new Promise<void>((resolve) => (done = resolve));
    const stop = this.cdp.onEvent((event) => {
      if (event.method === 'Page.loadEventFired' && event.sessionId === main) done();
    });
    const timer = setTimeout(done, 10_000);
    try {
      const started = await this.cdp.send<{ errorText?: string }>('Page.navigate', { url }, main);
      if (!started.errorText) await loaded;
    } finally {
      clearTimeout(timer);
      stop();
    }
  }

  async back(): Promise<void> {
    await this.step(-1);
  }

  async forward(): Promise<void> {
    await this.step(1);
  }

  async reload(): Promise<void> {
    await this.cdp.send('Page.reload', {}, await this.mainSession());
  }

  async clearSession(): Promise<void> {
    const main = await this.mainSession();
    await this.cdp.send('Storage.clearCookies', {});
    await this.cdp.send('Network.clearBrowserCache', {}, main);
    for (const origin of this.origins) await this.cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' }, main);
    this.origins.clear();
  }

  async clearHistory(): Promise<void> {
    await this.cdp.send('Page.resetNavigationHistory', {}, await this.mainSession());
  }

  // ---- the browser's events ----

  private async handle(event: CdpEvent): Promise<void> {
    const { params, sessionId } = event;
    switch (event.method) {
      case 'Target.attachedToTarget':
        return this.attached(params['sessionId'] as string, params['targetInfo'] as TargetInfo);
      case 'Target.detachedFromTarget':
        this.sessions.delete(params['sessionId'] as string);
        if (this.main?.sessionId === params['sessionId']) this.log('kiosk.page-closed', {});
        return;
      case 'Fetch.requestPaused':
        return this.paused(sessionId!, params);
      case 'Runtime.bindingCalled':
        if (params['name'] === KIOSK_BINDING && sessionId && this.sessions.has(sessionId)) await this.controller.command(params['payload']);
        return;
      case 'Page.frameNavigated':
        return this.navigated(sessionId, params['frame'] as { id: string; parentId?: string; url: string; urlFragment?: string; unreachableUrl?: string });
    }
  }

  private async attached(sessionId: string, target: TargetInfo): Promise<void> {
    const send = (method: string, params: Record<string, unknown> = {}) => this.cdp.send(method, params, sessionId);
    if ((target.type !== 'page' && target.type !== 'iframe') || target.targetId === this.main?.targetId) {
      // Workers and the like load no documents; another session on the kiosk page changes nothing.
      await send('Runtime.runIfWaitingForDebugger').catch(() => undefined);
      return;
    }
    const isMain = target.type === 'page' && !this.main && !target.openerId;
    this.sessions.set(sessionId, target);
    if (isMain) this.main = { sessionId, targetId: target.targetId };
    await send('Fetch.enable', { patterns: [{ urlPattern: '*', resourceType: 'Document', requestStage: 'Request' }] });
    await send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true });
    if (target.type === 'page' && !isMain) {
      // Another window (window.open, a target=_blank link): its first document request is taken
      // (paused() below) and the window closed; one that never asks for a document closes soon too.
      await send('Runtime.runIfWaitingForDebugger');
      setTimeout(() => void this.closeWindow(target.targetId), 2000).unref();
      return;
    }
    await send('Page.enable');
    await send('Runtime.enable');
    await send('Runtime.addBinding', { name: KIOSK_BINDING, executionContextName: KIOSK_WORLD });
    await send('Page.addScriptToEvaluateOnNewDocument', { source: toolbarScript(this.controller.config), worldName: KIOSK_WORLD, runImmediately: true });
    await send('Runtime.runIfWaitingForDebugger');
    if (isMain) this.mainReady();
  }

  /** A document request, held until the verdict: sent on, or failed before it leaves the browser. */
  private async paused(sessionId: string, params: Record<string, unknown>): Promise<void> {
    const requestId = params['requestId'] as string;
    const url = (params['request'] as { url: string }).url;
    const target = this.sessions.get(sessionId);
    const topFrame = target?.type === 'page' && params['frameId'] === target.targetId;
    const how = params['redirectedRequestId'] ? 'redirect' : topFrame ? 'navigation' : 'frame';
    if (target?.type === 'page' && sessionId !== this.main?.sessionId) {
      // A window being opened: never shown; its document opens in the kiosk page instead, if allowed.
      await this.cdp.send('Fetch.failRequest', { requestId, errorReason: 'Aborted' }, sessionId).catch(() => undefined);
      await this.closeWindow(target.targetId);
      if (this.controller.verdict(url, 'new-window').allowed) await this.load(url);
      return;
    }
    if (this.controller.verdict(url, how).allowed) {
      this.origins.add(new URL(url).origin);
      await this.cdp.send('Fetch.continueRequest', { requestId }, sessionId);
    } else {
      // The kiosk page stays on what it shows; a frame shows the browser's "blocked" page.
      await this.cdp.send('Fetch.failRequest', { requestId, errorReason: topFrame ? 'Aborted' : 'BlockedByClient' }, sessionId);
    }
  }

  /** What committed in the kiosk page: signage's failures, and a backstop for anything that bypassed the requests. */
  private async navigated(sessionId: string | undefined, frame: { id: string; parentId?: string; url: string; unreachableUrl?: string }): Promise<void> {
    if (!this.main || sessionId !== this.main.sessionId || frame.parentId) return;
    if (frame.unreachableUrl) return this.controller.loadFailed(frame.unreachableUrl, 'unreachable');
    if (NOT_LOADED.test(frame.url)) return;
    if (!this.controller.verdict(frame.url, 'committed').allowed) {
      this.log('kiosk.navigation-undone', { url: frame.url });
      await this.load(this.controller.config.homeUrl);
      return;
    }
    this.controller.loadSucceeded();
  }

  private async closeWindow(targetId: string): Promise<void> {
    const closed = await this.cdp.send<{ success?: boolean }>('Target.closeTarget', { targetId }).catch(() => ({ success: false }));
    if (closed.success) this.log('kiosk.window-closed', {});
  }

  private async step(offset: -1 | 1): Promise<void> {
    const main = await this.mainSession();
    const { currentIndex, entries } = await this.cdp.send<{ currentIndex: number; entries: HistoryEntry[] }>('Page.getNavigationHistory', {}, main);
    const entry = entries[currentIndex + offset];
    if (entry) await this.cdp.send('Page.navigateToHistoryEntry', { entryId: entry.id }, main);
  }

  private async mainSession(): Promise<string> {
    await this.mainAttached;
    return this.main!.sessionId;
  }
}

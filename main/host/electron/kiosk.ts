// The kiosk after setup, in the Electron main process: the site loads in a window the page cannot
// steer past the profile's rules — every navigation, redirect, frame and new window is judged here
// by the kiosk controller (main/host/kiosk/controller.ts) before anything loads. The toolbar
// (main/host/kiosk/toolbar.ts) runs in an isolated world of the page and reaches the controller
// through the kiosk preload's one function; the controller's view of the page is the window's
// web contents.
import type { Event, IpcMain, IpcMainEvent, Session, WebContents } from 'electron';

import type { KioskController, KioskView } from '../kiosk/controller.js';
import { toolbarScript } from '../kiosk/toolbar.js';
import { denyPermissions } from './window.js';

/** The isolated world the toolbar runs in (kiosk-preload.cts exposes the binding there). */
export const KIOSK_WORLD_ID = 1001;
export const KIOSK_CHANNEL = 'selfdeploy:kiosk';

type Log = (event: string, detail: Record<string, unknown>) => void;
type Judge = Pick<KioskController, 'verdict'>;
type KioskContents = Pick<WebContents, 'on' | 'setWindowOpenHandler' | 'loadURL'>;
type KioskSession = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> & { webRequest: Pick<Session['webRequest'], 'onBeforeRequest'> };

/** Enforces the controller's verdicts on a kiosk window's contents and session; a refused URL never loads. */
export function guardKioskNavigation(contents: KioskContents, session: KioskSession, judge: Judge, log: Log = () => undefined): void {
  const check = (how: string) => (event: Event, url: string) => {
    if (!judge.verdict(url, how).allowed) event.preventDefault();
  };
  contents.on('will-navigate', check('navigation'));
  contents.on('will-redirect', check('redirect'));
  contents.on('will-frame-navigate', (event) => check('frame')(event, event.url));
  // New windows never open; an allowed link opens in the kiosk window itself.
  contents.setWindowOpenHandler(({ url }) => {
    if (judge.verdict(url, 'new-window').allowed) void contents.loadURL(url);
    log('kiosk.window-closed', {});
    return { action: 'deny' };
  });
  // The network layer too: a document or frame request to a refused URL is cancelled before it is sent.
  session.webRequest.onBeforeRequest((details, callback) => {
    const document = details.resourceType === 'mainFrame' || details.resourceType === 'subFrame';
    callback({ cancel: document && !judge.verdict(details.url, 'request').allowed });
  });
  denyPermissions(session);
}

type ViewContents = Pick<WebContents, 'loadURL' | 'reload'> & { navigationHistory: Pick<WebContents['navigationHistory'], 'goBack' | 'goForward' | 'clear'> };
type ViewSession = Pick<Session, 'clearStorageData' | 'clearCache'>;

/** The controller's view of the kiosk window. */
export class ElectronKioskView implements KioskView {
  constructor(
    private readonly contents: ViewContents,
    private readonly session: ViewSession,
  ) {}

  async load(url: string): Promise<void> {
    // A refused or failed load rejects; the controller has logged the refusal, signage retries a failure.
    await this.contents.loadURL(url).catch(() => undefined);
  }
  back(): Promise<void> {
    this.contents.navigationHistory.goBack();
    return Promise.resolve();
  }
  forward(): Promise<void> {
    this.contents.navigationHistory.goForward();
    return Promise.resolve();
  }
  reload(): Promise<void> {
    this.contents.reload();
    return Promise.resolve();
  }
  async clearSession(): Promise<void> {
    await this.session.clearStorageData();
    await this.session.clearCache();
  }
  clearHistory(): Promise<void> {
    this.contents.navigationHistory.clear();
    return Promise.resolve();
  }
}

type PageContents = Pick<WebContents, 'on' | 'executeJavaScriptInIsolatedWorld' | 'mainFrame'>;

/**
 * Connects the page to the controller: the toolbar injected into every document, its commands
 * taken only from this window's main frame, load failures and successes for signage, and (for
 * signage) no keyboard input at all.
 */
export function attachKioskPage(contents: PageContents, ipc: Pick<IpcMain, 'on'>, controller: KioskController, log: Log = () => undefined): void {
  const script = toolbarScript(controller.config);
  contents.on('dom-ready', () => {
    contents.executeJavaScriptInIsolatedWorld(KIOSK_WORLD_ID, [{ code: script }]).catch((error: unknown) => log('kiosk.toolbar-failed', { message: (error as Error).message }));
  });
  ipc.on(KIOSK_CHANNEL, (event: IpcMainEvent, command: unknown) => {
    if (event.sender !== contents || event.senderFrame !== contents.mainFrame) return;
    void controller.command(command);
  });
  contents.on('did-fail-load', (_event, code, description, url, isMainFrame) => {
    // -3 (ABORTED) is a navigation the kiosk refused or the page replaced: the page stays.
    if (isMainFrame && code !== -3) controller.loadFailed(url, `${code} ${description}`);
  });
  contents.on('did-finish-load', () => controller.loadSucceeded());
  contents.on('before-input-event', (event) => {
    if (controller.interactive) void controller.command('activity');
    else event.preventDefault(); // signage takes no input
  });
}

// The ESP window and what it may do: a full-screen kiosk window whose renderer has no Node, runs
// sandboxed and isolated from its preload, loads only app://esp, opens nothing, navigates nowhere
// else, is granted no permission, and cannot be closed while the profile blocks device use.
import type { BrowserWindow, BrowserWindowConstructorOptions, Event, Session, WebContents } from 'electron';

/** Where the renderer is served from (app-protocol.ts): a custom, privileged, standard scheme. */
export const ESP_ORIGIN = 'app://esp';
export const ESP_URL = `${ESP_ORIGIN}/index.html`;

export function espWindowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    kiosk: true,
    fullscreen: true,
    autoHideMenuBar: true,
    show: false,
    backgroundColor: '#ffffff',
    title: 'Setting up your device',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      devTools: false,
    },
  };
}

function isEspUrl(url: string): boolean {
  return url.startsWith(`${ESP_ORIGIN}/`);
}

type Contents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;
type PermissionSession = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>;

/** Denies navigation away from the ESP, new windows, webviews and every permission request. */
export function lockDown(contents: Contents, session: PermissionSession, log: (event: string, detail: Record<string, unknown>) => void = () => undefined): void {
  const stay = (event: Event, url: string) => {
    if (isEspUrl(url)) return;
    event.preventDefault();
    log('window.navigation-refused', { url });
  };
  contents.on('will-navigate', stay);
  contents.on('will-redirect', stay);
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('window.webview-refused', {});
  });
  contents.setWindowOpenHandler(({ url }) => {
    log('window.open-refused', { url });
    return { action: 'deny' };
  });
  denyPermissions(session, (permission) => log('window.permission-refused', { permission }));
}

/** No permission (camera, location, notifications …) is granted to what a window shows. */
export function denyPermissions(session: PermissionSession, refused: (permission: string) => void = () => undefined): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    refused(permission);
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
}

/** While `blocked()` says so (setup running and the profile's esp.blockDeviceUse), the window stays. */
export function guardClose(window: Pick<BrowserWindow, 'on'>, blocked: () => boolean): void {
  window.on('close', (event) => {
    if (blocked()) event.preventDefault();
  });
}

// The ESP window's lockdown, with a stand-in of the few Electron objects it touches (no test may
// load electron; these modules take Electron's objects as arguments).
import { describe, expect, it } from 'vitest';

import { ESP_URL, espWindowOptions, guardClose, lockDown } from './window.js';

type Handler = (...args: unknown[]) => unknown;

function fakeContents() {
  const handlers = new Map<string, Handler>();
  let openHandler: Handler | undefined;
  let permissionRequest: Handler | undefined;
  let permissionCheck: Handler | undefined;
  const contents = {
    on: (name: string, handler: Handler) => {
      handlers.set(name, handler);
      return contents;
    },
    setWindowOpenHandler: (handler: Handler) => void (openHandler = handler),
  };
  const session = {
    setPermissionRequestHandler: (handler: Handler) => void (permissionRequest = handler),
    setPermissionCheckHandler: (handler: Handler) => void (permissionCheck = handler),
  };
  const event = () => {
    const e = { prevented: false, preventDefault: () => void (e.prevented = true) };
    return e;
  };
  return { contents, session, handlers, event, open: () => openHandler!, request: () => permissionRequest!, check: () => permissionCheck! };
}

describe('the ESP window', () => {
  it('has no Node, is sandboxed and isolated from its preload, has no devtools, and is a kiosk', () => {
    const options = espWindowOptions('/opt/selfdeploy/preload.cjs');
    expect(options).toMatchObject({ kiosk: true, fullscreen: true, show: false });
    expect(options.webPreferences).toMatchObject({
      preload: '/opt/selfdeploy/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      devTools: false,
    });
    expect(ESP_URL).toBe('app://esp/index.html');
  });

  it('navigates only within app://esp, opens no window, attaches no webview and grants no permission', () => {
    const fake = fakeContents();
    const refused: string[] = [];
    // The stand-ins carry only what lockDown uses.
    lockDown(fake.contents as never, fake.session as never, (event) => refused.push(event));
    for (const name of ['will-navigate', 'will-redirect']) {
      const away = fake.event();
      fake.handlers.get(name)!(away, 'https://evil.example/');
      expect(away.prevented, name).toBe(true);
      const within = fake.event();
      fake.handlers.get(name)!(within, 'app://esp/index.html#page');
      expect(within.prevented, name).toBe(false);
    }
    const lookalike = fake.event();
    fake.handlers.get('will-navigate')!(lookalike, 'app://esp.evil.example/');
    expect(lookalike.prevented).toBe(true);
    const webview = fake.event();
    fake.handlers.get('will-attach-webview')!(webview);
    expect(webview.prevented).toBe(true);
    expect(fake.open()({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    let granted: boolean | undefined;
    fake.request()(null, 'media', (allowed: boolean) => (granted = allowed));
    expect(granted).toBe(false);
    expect(fake.check()(null, 'geolocation')).toBe(false);
    expect(refused).toEqual(['window.navigation-refused', 'window.navigation-refused', 'window.navigation-refused', 'window.webview-refused', 'window.open-refused', 'window.permission-refused']);
  });

  it('cannot be closed while the profile blocks device use', () => {
    let blocked = true;
    let onClose: Handler | undefined;
    guardClose({ on: (_name: string, handler: Handler) => void (onClose = handler) } as never, () => blocked);
    const first = { prevented: false, preventDefault: () => void (first.prevented = true) };
    onClose!(first);
    expect(first.prevented).toBe(true);
    blocked = false;
    const second = { prevented: false, preventDefault: () => void (second.prevented = true) };
    onClose!(second);
    expect(second.prevented).toBe(false);
  });
});

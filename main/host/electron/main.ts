// The Electron main process: the agent's engine (as `selfdeploy ui` runs it) behind the ESP window.
// One instance only; the renderer comes from app://esp (never file://) with the ESP's CSP; the
// window is locked down (window.ts) and bridged to the session over checked IPC (ipc.ts).
// Started as: selfdeploy-app --server URL --ca FILE [--tcti …] [--helper SOCKET | --root DIR] [--state DIR]
//   (--first-boot: quit once provisioned; selfdeploy-firstboot.service starts it so)
// or, in the kiosk account's session after setup: selfdeploy-app --kiosk
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { BrowserWindow, app, ipcMain, protocol } from 'electron';

import { openAgent, serviceOf } from '../../agent/agent.js';
import { DEFAULT_SOCKET } from '../../helper/protocol.js';
import type { Executor } from '../../agent/executor.js';
import { resetDevice } from '../../agent/reset.js';
import { RESTART_FOR_UPDATE } from '../../updates/package.js';
import { rendererDir as installedRenderer } from '../../installation/layout.js';
import { rendererCsp, rendererFile } from '../renderer-files.js';
import { HostSession } from '../session.js';
import { bridge } from './ipc.js';
import { KIOSK_CONFIG, KioskController, readKioskConfig, systemClock } from '../kiosk/controller.js';
import { ElectronKioskView, attachKioskPage, guardKioskNavigation } from './kiosk.js';
import { ESP_URL, espWindowOptions, guardClose, lockDown } from './window.js';

/** How long the Done page shows on first boot before the app quits. */
const FIRST_BOOT_DONE_MS = 5_000;

protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

/**
 * `--kiosk`: the kiosk session after setup (started by /usr/lib/selfdeploy/kiosk-session as the
 * kiosk account): the profile's home URL full screen, every navigation judged by the kiosk
 * controller and enforced here (kiosk.ts), the toolbar in the page's isolated world, idle restart,
 * signage reloads with backoff. Mode "app" never reaches here (the session runs the app).
 */
function runKiosk(configPath: string): void {
  void app.whenReady().then(() => {
    const kiosk = readKioskConfig(readFileSync(configPath, 'utf8'), configPath);
    const window = new BrowserWindow({
      kiosk: true,
      fullscreen: true,
      autoHideMenuBar: true,
      backgroundColor: '#000000',
      webPreferences: { preload: join(import.meta.dirname, 'kiosk-preload.cjs'), contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false, devTools: false },
    });
    const contents = window.webContents;
    const log = (event: string, detail: Record<string, unknown>) => process.stdout.write(JSON.stringify({ at: new Date().toISOString(), event, ...detail }) + '\n');
    const controller = new KioskController(kiosk, new ElectronKioskView(contents, contents.session), systemClock, log);
    guardKioskNavigation(contents, contents.session, controller, log);
    attachKioskPage(contents, ipcMain, controller, log);
    void controller.start();
  });
}

if (process.argv.includes('--kiosk')) {
  runKiosk(KIOSK_CONFIG);
} else if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let window: BrowserWindow | undefined;
  app.on('second-instance', () => window?.focus());
  app.on('web-contents-created', (_event, contents) => contents.on('will-attach-webview', (event) => event.preventDefault()));
  void app.whenReady().then(async () => {
    const { values } = parseArgs({
      args: process.argv.slice(app.isPackaged ? 1 : 2),
      strict: false,
      options: { server: { type: 'string' }, ca: { type: 'string' }, tcti: { type: 'string' }, helper: { type: 'string' }, root: { type: 'string' }, state: { type: 'string' }, identity: { type: 'string' } },
    });
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const executor: Executor = str(values.root) ? { root: str(values.root)! } : { helper: str(values.helper) ?? DEFAULT_SOCKET };
    const state = str(values.state) ?? '/var/lib/selfdeploy';
    // The packaged app updates as a package: the helper installs the deb, the app exits for its unit to start the new version.
    const options = { server: str(values.server) ?? '', ca: str(values.ca) ?? '', tcti: str(values.tcti), executor, state, identity: str(values.identity), updates: 'package' as const };
    const agent = await openAgent(options, serviceOf(options));
    const rendererDir = installedRenderer();
    protocol.handle('app', (request) => {
      const url = new URL(request.url);
      const file = url.host === 'esp' ? rendererFile(rendererDir, url.pathname) : { status: 404 as const };
      return new Response(file.body ?? null, {
        status: file.status,
        headers: { 'Content-Security-Policy': rendererCsp(null), 'X-Content-Type-Options': 'nosniff', ...(file.contentType ? { 'Content-Type': file.contentType } : {}) },
      });
    });
    const session = new HostSession({
      engine: (decideContinue, askOobe) => agent.engine(decideContinue, askOobe),
      reset: () => resetDevice({ state, executor }),
      state,
      network: agent.network,
      facts: () => agent.facts(),
      log: agent.log,
    });
    window = new BrowserWindow(espWindowOptions(join(import.meta.dirname, 'preload.cjs')));
    lockDown(window.webContents, window.webContents.session, agent.log);
    // Until setup succeeded, the window stays when the profile blocks device use (or is not known yet).
    guardClose(window, () => session.current()?.status !== 'succeeded' && (session.current()?.rules?.blockDeviceUse ?? true));
    const disconnect = bridge(ipcMain, window.webContents, session, agent.log);
    window.once('ready-to-show', () => window?.show());
    await window.loadURL(ESP_URL);
    // First boot (selfdeploy-firstboot.service, in cage): once provisioned, the Done page shows a
    // moment and the app quits, so the display manager (or the kiosk's auto-logon) comes next.
    if (process.argv.includes('--first-boot')) {
      session.onOutcome((outcome) => {
        if (outcome.status === 'provisioned') setTimeout(() => app.quit(), FIRST_BOOT_DONE_MS);
      });
    }
    // A critical update is installed: exit so that the unit starts the new version, which resumes from the journal.
    session.onOutcome((outcome) => {
      // OS updates that need the device restarted: the same exit, while the device restarts (setup resumes from the journal after).
      if (outcome.status === 'restart' || outcome.status === 'reboot') void session.close().then(() => agent.close()).then(() => app.exit(RESTART_FOR_UPDATE));
    });
    void session.start();
    app.on('window-all-closed', () => {
      disconnect();
      void session.close().then(() => agent.close()).then(() => app.quit());
    });
  });
}

// The kiosk window's preload (sandboxed, so CommonJS): gives the toolbar's isolated world — never
// the page's own — one function that sends a command string to the main process, which checks the
// sender and ignores anything that is not a known command (main/host/kiosk/controller.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
import electron = require('electron');

const { contextBridge, ipcRenderer } = electron;

// The same values as KIOSK_WORLD_ID / KIOSK_CHANNEL (kiosk.ts) and KIOSK_BINDING (toolbar.ts): a
// sandboxed preload cannot load the modules that define them.
contextBridge.exposeInIsolatedWorld(1001, 'selfdeployKiosk', (command: unknown) => {
  if (typeof command === 'string' && command.length <= 32) ipcRenderer.send('selfdeploy:kiosk', command);
});

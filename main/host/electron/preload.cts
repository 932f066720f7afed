// The ESP window's preload (sandboxed, so CommonJS): exposes exactly the UI contract's transport
// through contextBridge — send a string, subscribe to strings — and nothing of Electron or Node.
// Every subscription returns the function that removes that very listener.
import type { IpcRendererEvent } from 'electron';

// A sandboxed preload is CommonJS: `import x = require()` is how TypeScript writes that.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import electron = require('electron');

const { contextBridge, ipcRenderer } = electron;

const CHANNEL = 'selfdeploy:ipc';

contextBridge.exposeInMainWorld('selfdeploy', {
  send(raw: string): void {
    if (typeof raw === 'string') ipcRenderer.send(CHANNEL, raw);
  },
  onMessage(listener: (raw: string) => void): () => void {
    const wrapped = (_event: IpcRendererEvent, raw: unknown) => {
      if (typeof raw === 'string') listener(raw);
    };
    ipcRenderer.on(CHANNEL, wrapped);
    return () => {
      ipcRenderer.removeListener(CHANNEL, wrapped);
    };
  },
});

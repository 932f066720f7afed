// The UI contract over Electron IPC: one channel each way, strings of JSON that the session parses.
// Every message's sender is checked — the ESP window's own webContents, its main frame, on
// app://esp — before the session sees it; anything else is dropped and logged.
import type { IpcMain, IpcMainEvent, WebContents } from 'electron';

import { MAX_IPC_MESSAGE_BYTES } from '../../../protocol/ipc.js';
import type { HostSession } from '../session.js';
import { ESP_ORIGIN } from './window.js';

export const IPC_CHANNEL = 'selfdeploy:ipc';

type EspContents = Pick<WebContents, 'send' | 'isDestroyed' | 'mainFrame'>;

export function validSender(event: Pick<IpcMainEvent, 'sender' | 'senderFrame'>, contents: EspContents): boolean {
  const frame = event.senderFrame;
  return event.sender === contents && frame !== null && frame === contents.mainFrame && frame.url.startsWith(`${ESP_ORIGIN}/`);
}

/** Connects the ESP window to the session; returns the function that disconnects it. */
export function bridge(
  ipcMain: Pick<IpcMain, 'on' | 'removeListener'>,
  contents: EspContents,
  session: HostSession,
  log: (event: string, detail: Record<string, unknown>) => void = () => undefined,
): () => void {
  const connection = session.connect((message) => {
    if (!contents.isDestroyed()) contents.send(IPC_CHANNEL, JSON.stringify(message));
  });
  const listener = (event: IpcMainEvent, raw: unknown) => {
    if (!validSender(event, contents)) {
      log('ipc.sender-refused', { url: event.senderFrame?.url ?? null });
      return;
    }
    let message: unknown;
    if (typeof raw === 'string' && raw.length <= MAX_IPC_MESSAGE_BYTES) {
      try {
        message = JSON.parse(raw);
      } catch {
        message = undefined;
      }
    }
    void connection.receive(message);
  };
  ipcMain.on(IPC_CHANNEL, listener);
  return () => {
    ipcMain.removeListener(IPC_CHANNEL, listener);
    connection.close();
  };
}

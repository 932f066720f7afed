// The contract over Electron IPC, with stand-ins for ipcMain and the ESP window's webContents.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { HostMessageSchema, type HostMessage } from '../../../protocol/ipc.js';
import { HostSession } from '../session.js';
import { IPC_CHANNEL, bridge, validSender } from './ipc.js';

function setup() {
  const mainFrame = { url: 'app://esp/index.html' };
  const sent: HostMessage[] = [];
  const contents = {
    mainFrame,
    isDestroyed: () => false,
    send: (channel: string, raw: string) => {
      expect(channel).toBe(IPC_CHANNEL);
      sent.push(HostMessageSchema.parse(JSON.parse(raw)));
    },
  };
  let listener: ((event: unknown, raw: unknown) => void) | undefined;
  let removed = false;
  const ipcMain = {
    on: (channel: string, handler: (event: unknown, raw: unknown) => void) => {
      expect(channel).toBe(IPC_CHANNEL);
      listener = handler;
      return ipcMain;
    },
    removeListener: () => {
      removed = true;
      return ipcMain;
    },
  };
  const session = new HostSession({ engine: () => Promise.reject(new Error('not in this test')), reset: () => Promise.reject(new Error('no')), state: '/nonexistent' });
  const refused: string[] = [];
  const disconnect = bridge(ipcMain as never, contents as never, session, (event) => refused.push(event));
  const fromEsp = { sender: contents, senderFrame: mainFrame };
  return { contents, mainFrame, sent, refused, disconnect, fromEsp, send: (event: unknown, raw: unknown) => listener!(event, raw), removed: () => removed };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('the UI contract over Electron IPC', () => {
  it('answers the ESP window’s main frame on app://esp', async () => {
    const t = setup();
    t.send(t.fromEsp, JSON.stringify({ id: 1, command: 'subscribe', args: {} }));
    await flush();
    expect(t.sent).toMatchObject([{ type: 'reply', id: 1, ok: true, result: { schema: 1, status: 'running' } }]);
  });

  it('drops messages from another webContents, a subframe or another origin, and says why in the log', async () => {
    const t = setup();
    const subscribe = JSON.stringify({ id: 1, command: 'subscribe', args: {} });
    t.send({ sender: {}, senderFrame: t.mainFrame }, subscribe);
    t.send({ sender: t.contents, senderFrame: { url: 'app://esp/index.html' } }, subscribe); // not the main frame
    t.send({ sender: t.contents, senderFrame: null }, subscribe);
    t.mainFrame.url = 'https://evil.example/';
    t.send(t.fromEsp, subscribe);
    await flush();
    expect(t.sent).toEqual([]);
    expect(t.refused).toEqual(['ipc.sender-refused', 'ipc.sender-refused', 'ipc.sender-refused', 'ipc.sender-refused']);
    expect(validSender({ sender: t.contents, senderFrame: t.mainFrame } as never, t.contents as never)).toBe(false);
  });

  it('answers what is not the contract with IPC_INVALID, and stops listening when disconnected', async () => {
    const t = setup();
    t.send(t.fromEsp, 'not json');
    t.send(t.fromEsp, { id: 2, command: 'subscribe' }); // an object, not the string the preload sends
    await flush();
    expect(t.sent).toMatchObject([
      { type: 'reply', id: null, ok: false, error: { code: 'IPC_INVALID' } },
      { type: 'reply', id: null, ok: false, error: { code: 'IPC_INVALID' } },
    ]);
    t.disconnect();
    expect(t.removed()).toBe(true);
  });

  it('uses the channel the preload uses', () => {
    const preload = readFileSync(join(import.meta.dirname, 'preload.cts'), 'utf8');
    expect(preload).toContain(`const CHANNEL = '${IPC_CHANNEL}';`);
    // Every subscription hands back its own remover (not a new closure that removes nothing).
    expect(preload).toMatch(/ipcRenderer\.on\(CHANNEL, wrapped\);[\s\S]*ipcRenderer\.removeListener\(CHANNEL, wrapped\)/);
  });
});

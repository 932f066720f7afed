// The dev host with a real engine run (swtpm, the real service over HTTPS): a renderer connected
// over its WebSocket folds the ESP events into exactly the engine's snapshot, gets only the buttons
// the profile and the moment allow, and cannot connect without the run's secret from this origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import { applyEspEvent, type EspSnapshot } from '../../../protocol/esp.js';
import { HostMessageSchema, IPC_PROTOCOL, type HostMessage } from '../../../protocol/ipc.js';
import { LabDevice } from '../../deploy/testing/lab-device.js';
import type { HostSession } from '../session.js';
import { DevHost } from './server.js';

/** A renderer's connection: sends commands, keeps every host message. */
class Renderer {
  readonly messages: HostMessage[] = [];
  private nextId = 1;
  private waiters: (() => void)[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.messages.push(HostMessageSchema.parse(JSON.parse(data.toString('utf8'))));
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static open(host: DevHost, options: { secret?: string; origin?: string; protocols?: string[] } = {}): Promise<Renderer> {
    const ws = new WebSocket(host.ipcUrl, options.protocols ?? [IPC_PROTOCOL, `secret.${options.secret ?? host.secret}`], { origin: options.origin ?? host.originUrl });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Renderer(ws)));
      ws.once('unexpected-response', (_, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Waits for the first message that `match` accepts, from the start of the connection. */
  async next<T extends HostMessage>(match: (message: HostMessage) => message is T, timeoutMs = 60_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (let seen = 0; ; ) {
      for (; seen < this.messages.length; seen++) if (match(this.messages[seen]!)) return this.messages[seen] as T;
      if (Date.now() > until) throw new Error('no such message');
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        setTimeout(wake, 200);
      });
    }
  }

  async call(command: string, args: unknown = {}): Promise<Extract<HostMessage, { type: 'reply' }>> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, command, args }));
    return this.next((m): m is Extract<HostMessage, { type: 'reply' }> => m.type === 'reply' && m.id === id);
  }

  send(raw: string): void {
    this.ws.send(raw);
  }

  /** The snapshot a UI builds: the last snapshot it was given, with every later event folded in. */
  folded(): EspSnapshot | null {
    let snapshot: EspSnapshot | null = null;
    for (const message of this.messages) {
      if (message.type === 'snapshot') snapshot = message.snapshot;
      else if (message.type === 'reply' && message.ok && (message.result as { schema?: number })?.schema === 1) snapshot = message.result as EspSnapshot;
      else if (message.type === 'esp' && snapshot && message.event.seq > snapshot.seq) snapshot = applyEspEvent(snapshot, message.event);
    }
    return snapshot;
  }

  close(): void {
    this.ws.close();
  }
}

describe('the dev host', () => {
  let device: LabDevice;
  let session: HostSession;
  let host: DevHost;
  let closeSession: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    device = await LabDevice.create('LAB-DEVHOST');
    await device.register();
    ({ session, close: closeSession } = device.hostSession(device.fresh()));
    host = new DevHost({ session });
    await host.start();
  });

  afterAll(async () => {
    await host?.close();
    await closeSession?.();
    await device?.close();
  });

  it('refuses a WebSocket without the run’s secret, from another origin, or without the contract’s protocol', async () => {
    await expect(Renderer.open(host, { secret: 'x'.repeat(43) })).rejects.toThrow('HTTP 403');
    await expect(Renderer.open(host, { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(Renderer.open(host, { protocols: [`secret.${host.secret}`] })).rejects.toThrow();
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#secret=[A-Za-z0-9_-]{43}$/);
  });

  it('streams the run to a renderer, which folds the events into exactly the engine’s snapshot', async () => {
    const outcome = session.start();
    const renderer = await Renderer.open(host);
    const subscribed = await renderer.call('subscribe');
    expect(subscribed).toMatchObject({ ok: true, result: { schema: 1 } });
    expect((await outcome).status).toBe('provisioned');
    await renderer.next((m): m is HostMessage => m.type === 'esp' && m.event.type === 'succeeded');
    expect(renderer.folded()).toEqual(session.current());
    renderer.close();
  });

  it('answers only the buttons the moment and the profile allow, and malformed messages with IPC_INVALID', async () => {
    const renderer = await Renderer.open(host);
    await renderer.call('subscribe');
    expect(await renderer.call('retry')).toMatchObject({ ok: false, error: { code: 'ESP_ACTION_NOT_ALLOWED', message: expect.stringContaining('a setup that failed') } });
    expect(await renderer.call('decide', { continueAnyway: true })).toMatchObject({ ok: false, error: { code: 'ESP_ACTION_NOT_ALLOWED' } });
    expect(await renderer.call('format', {})).toMatchObject({ ok: false, error: { code: 'IPC_INVALID' } });
    expect(await renderer.call('connectWifi', { ssid: 'x', psk: 'short' })).toMatchObject({ ok: false, error: { code: 'IPC_INVALID', message: expect.stringContaining('psk') } });
    renderer.send('not json');
    expect(await renderer.next((m): m is Extract<HostMessage, { type: 'reply' }> => m.type === 'reply' && m.id === null)).toMatchObject({ ok: false, error: { code: 'IPC_INVALID' } });
    // The demo profile allows collecting logs.
    expect(await renderer.call('collectLogs')).toMatchObject({ ok: true, result: { path: expect.stringContaining('diagnostics-') } });
    renderer.close();
  });

  it('resets the device on request; after a failure, Try again starts a new run that completes once the fault is cleared', async () => {
    const renderer = await Renderer.open(host);
    await renderer.call('subscribe');
    // The device is deployed: after a reset, its new self-deploy is blocked until the record goes.
    expect(await renderer.call('reset')).toMatchObject({ ok: true, result: { started: true } });
    const failed = await renderer.next((m): m is Extract<HostMessage, { type: 'esp' }> => m.type === 'esp' && m.event.type === 'failed');
    expect(failed.event).toMatchObject({ failure: { code: 'REENROLLMENT_BLOCKED', hresult: '0x80180014' } });
    await session.settled();
    expect(renderer.folded()).toMatchObject({ status: 'failed', failure: { code: 'REENROLLMENT_BLOCKED' } });

    await device.resetRecord();
    expect(await renderer.call('retry')).toMatchObject({ ok: true, result: { started: true } });
    const succeeded = renderer.messages.length;
    await renderer.next((m): m is HostMessage => renderer.messages.indexOf(m) >= succeeded && m.type === 'esp' && m.event.type === 'succeeded');
    await session.settled();
    expect(renderer.folded()).toEqual(session.current());
    expect(session.current()).toMatchObject({ status: 'succeeded' });
    renderer.close();
  });
});

// The service misbehaving mid-sequence — stopped, answering 503, slow, resetting connections —
// with the engine in-process against the real service (HTTPS through a fault proxy) and a real
// swtpm: the agent waits it out and completes, or fails with the right code once the ESP timeout
// passes. A virtual clock makes minutes of waiting take milliseconds where a test needs them.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findStep } from '../../protocol/esp.js';
import type { ClockPort } from './ports.js';
import { FaultProxy } from './testing/fault-proxy.js';
import { LabDevice } from './testing/lab-device.js';

/** Real time plus an offset that sleeping advances at once. */
class VirtualClock implements ClockPort {
  constructor(public offsetMs = 0) {}
  now = () => Date.now() + this.offsetMs;
  sleep = (ms: number) => {
    this.offsetMs += ms;
    return new Promise<void>((resolve) => setImmediate(resolve));
  };
}

type Fault = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

describe('the agent against a misbehaving service', () => {
  let device: LabDevice;
  let proxy: FaultProxy;
  let fault: Fault | undefined;
  const seen: string[] = [];

  beforeAll(async () => {
    device = await LabDevice.create('LAB-0003', {
      onRequest: async (request, reply) => {
        seen.push(`${request.method} ${request.url.split('?')[0]}`);
        await fault?.(request, reply);
      },
    });
    await device.register();
    proxy = new FaultProxy({ host: '127.0.0.1', port: Number(device.service.url!.port) });
    await proxy.start();
  });

  afterAll(async () => {
    await proxy?.stop();
    await device?.close();
  });

  const deploy = (options: Parameters<LabDevice['runEngine']>[0] = {}) => device.runEngine({ server: proxy.url, ...options });

  async function resetDevice(): Promise<void> {
    fault = undefined;
    await device.resetRecord();
  }

  it('waits while the service is stopped during device setup, and completes when it is back', async () => {
    let stopped = false;
    const { outcome, retries } = await deploy({
      onEvent: (event) => {
        if (!stopped && event.type === 'step' && event.step === 'apps' && event.state === 'in-progress') {
          stopped = true;
          void proxy.stop().then(() => setTimeout(() => void proxy.start(), 3000));
        }
      },
    });
    expect(stopped).toBe(true);
    expect(outcome).toMatchObject({ status: 'provisioned' });
    expect(retries).toBeGreaterThan(0);
    await resetDevice();
  }, 120_000);

  it('retries through 503 answers and completes', async () => {
    let refused = 0;
    fault = async (request, reply) => {
      if (request.url.startsWith('/v1/mdm/assignments') && refused < 4) {
        refused++;
        await reply.code(503).header('retry-after', '1').type('application/problem+json').send({ type: 'urn:selfdeploy:problem:INTERNAL', title: 'Unavailable', status: 503, code: 'INTERNAL' });
      }
    };
    const { outcome } = await deploy();
    expect(outcome).toMatchObject({ status: 'provisioned' });
    expect(refused).toBe(4);
    await resetDevice();
  }, 120_000);

  it('completes when the service is slow', async () => {
    fault = async (request) => {
      if (request.url.startsWith('/v1/join') || request.url.startsWith('/v1/mdm/')) await new Promise((resolve) => setTimeout(resolve, 1500));
    };
    const started = Date.now();
    const { outcome } = await deploy();
    expect(outcome).toMatchObject({ status: 'provisioned' });
    expect(Date.now() - started).toBeGreaterThan(1500 * 4);
    await resetDevice();
  }, 120_000);

  it('completes when connections are reset mid-sequence', async () => {
    let cut = false;
    const { outcome } = await deploy({
      onEvent: (event) => {
        if (!cut && event.type === 'step' && event.step === 'registering-mdm' && event.state === 'in-progress') {
          cut = true;
          proxy.reset(4);
        }
      },
    });
    expect(outcome).toMatchObject({ status: 'provisioned' });
    expect(proxy.resetCount).toBeGreaterThanOrEqual(4);
    await resetDevice();
  }, 120_000);

  it('fails with ESP_TIMEOUT (0x800705B4) when the service stays away past the ESP timeout', async () => {
    const clock = new VirtualClock();
    let stopped = false;
    const { outcome, snapshot } = await deploy({
      clock,
      onEvent: (event) => {
        if (!stopped && event.type === 'step' && event.step === 'registering-mdm' && event.state === 'in-progress') {
          stopped = true;
          void proxy.stop();
        }
      },
    });
    await proxy.start();
    expect(outcome.status).toBe('failed');
    const failure = outcome.status === 'failed' ? outcome.failure : undefined;
    expect(failure).toMatchObject({ code: 'ESP_TIMEOUT', hresult: '0x800705B4', step: 'registering-mdm' });
    expect(failure?.detail).toContain('registering for management');
    expect(findStep(snapshot, 'registering-mdm').state).toBe('timed-out');
    expect(snapshot.status).toBe('failed');
    // The demo profile allows 30 minutes: the agent waited them out (in virtual time).
    expect(clock.offsetMs).toBeGreaterThan(29 * 60_000);
    await resetDevice();
  }, 120_000);

  it('fails with SERVICE_UNREACHABLE when the service never answers before the profile', async () => {
    await proxy.stop();
    const clock = new VirtualClock();
    const { outcome, snapshot } = await deploy({ clock, preflightWaitMs: 60_000 });
    await proxy.start();
    expect(outcome).toMatchObject({ status: 'failed', failure: { code: 'SERVICE_UNREACHABLE', step: 'network' } });
    expect(findStep(snapshot, 'network').state).toBe('failed');
  }, 60_000);

  it('fails with CLOCK_SKEW when the device clock is more than five minutes off, either way', async () => {
    for (const offset of [6 * 60_000, -6 * 60_000]) {
      const { outcome } = await deploy({ clock: new VirtualClock(offset) });
      expect(outcome).toMatchObject({ status: 'failed', failure: { code: 'CLOCK_SKEW', step: 'network' } });
    }
    const { outcome } = await deploy({ clock: new VirtualClock(2 * 60_000) });
    expect(outcome.status).toBe('provisioned');
    await resetDevice();
  }, 60_000);
});

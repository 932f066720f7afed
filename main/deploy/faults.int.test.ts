// The service misbehaving mid-sequence — stopped, answering 503/502/429, slow, resetting or
// dropping connections, losing its answer after it did the work, stalling mid-body — with the
// engine in-process against the real service (HTTPS through the lab's fault proxy) and a real
// swtpm: the agent waits it out and completes, enrolled once, or fails with the right code once
// the ESP timeout passes. A virtual clock makes minutes of waiting take milliseconds where a test
// needs them.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findStep } from '../../protocol/esp.js';
import type { ClockPort } from './clock.js';
import { FaultProxy, type FaultRule } from '../../lab/fault-proxy.js';
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
    proxy = await FaultProxy.inFrontOf(device.service.url!, device.service.dataDir);
    device.service.publicUrls.push(proxy.url.origin); // the agent reaches the service through the proxy
  });

  afterAll(async () => {
    await proxy?.close();
    await device?.close();
  });

  const deploy = (options: Parameters<LabDevice['runEngine']>[0] = {}) => device.runEngine({ server: proxy.url, ...options });

  async function resetDevice(): Promise<void> {
    fault = undefined;
    proxy.setRules([]);
    await device.resetRecord();
  }

  /** Device certificates the service has issued to the lab device so far (one per join). */
  const issued = async () => (await device.service.request({ method: 'GET', url: `/v1/admin/devices/${device.deviceId}` })).json<{ certificatesIssued: number }>().certificatesIssued;

  /** Deploys through `rules`; the outcome, and how many certificates the service issued meanwhile. */
  async function deployThrough(rules: FaultRule[], seed = 1) {
    proxy.setRules(rules, seed);
    const before = await issued();
    const result = await deploy();
    const faults = { ...proxy.stats.faults };
    proxy.setRules([]);
    return { ...result, faults, certificates: (await issued()) - before };
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

  it('completes through 502 and 429 answers drawn at random from a seed, enrolled once', async () => {
    const { outcome, faults, certificates } = await deployThrough(
      [
        { fault: { kind: 'status', status: 429, retryAfterSeconds: 1 }, probability: 0.25 },
        { fault: { kind: 'status', status: 502 }, probability: 0.2 },
      ],
      7,
    );
    expect(outcome).toMatchObject({ status: 'provisioned' });
    expect((faults['status@request'] ?? 0)).toBeGreaterThanOrEqual(3);
    expect(certificates).toBe(1);
    await resetDevice();
  }, 120_000);

  it('waits out 429s from a proxy that knows none of the service’s codes — on the app’s download, and longer than one call’s retries — and completes', async () => {
    const { outcome, faults } = await deployThrough([
      { fault: { kind: 'status', status: 429, retryAfterSeconds: 1 }, match: /^GET \/v1\/content\//, nth: 1 },
      { fault: { kind: 'status', status: 429, retryAfterSeconds: 1 }, match: /^GET \/v1\/mdm\/assignments$/, times: 8 },
    ]);
    expect(outcome).toMatchObject({ status: 'provisioned' });
    expect(faults['status@request']).toBe(9);
    await resetDevice();
  }, 120_000);

  it('completes when the service did the work but its answer was lost, at every step of the sequence, enrolled once', async () => {
    const steps = ['POST /v1/deploy/profile', 'POST /v1/attest/challenge', 'POST /v1/attest/response', 'POST /v1/join', 'POST /v1/token', 'POST /v1/mdm/enroll', 'GET /v1/mdm/assignments', 'POST /v1/mdm/status', 'POST /v1/deploy/complete'];
    const { outcome, faults, certificates } = await deployThrough(
      steps.map((line, i): FaultRule => ({ fault: i % 2 ? { kind: 'drop' } : { kind: 'reset' }, stage: 'response', match: new RegExp(`^${line.replace(/\//g, '\\/')}$`), nth: 1 })),
    );
    expect(outcome).toMatchObject({ status: 'provisioned' });
    expect((faults['reset@response'] ?? 0) + (faults['drop@response'] ?? 0)).toBe(steps.length);
    expect(certificates).toBe(1);
    const record = (await device.service.request({ method: 'GET', url: `/v1/admin/devices/${device.deviceId}` })).json<{ state: string; deviceName: string }>();
    expect(record.state).toBe('deployed');
    expect(outcome.status === 'provisioned' && outcome.deviceName).toBe(record.deviceName);
    await resetDevice();
  }, 120_000);

  it('completes when an answer stalls mid-body: the agent gives up on it after its request timeout and asks again', async () => {
    const started = Date.now();
    const { outcome, faults } = await deployThrough([{ fault: { kind: 'stall', afterBytes: 16 }, match: /^GET \/v1\/mdm\/assignments$/, nth: 1 }]);
    expect(outcome).toMatchObject({ status: 'provisioned' });
    expect(faults['stall@response']).toBe(1);
    expect(Date.now() - started).toBeGreaterThan(10_000); // the request timeout it waited out
    await resetDevice();
  }, 120_000);

  it('completes with 150 ms of latency before every request', async () => {
    const { outcome, faults } = await deployThrough([
      { fault: { kind: 'latency', ms: 150 }, stage: 'request' },
    ]);
    expect(outcome).toMatchObject({ status: 'provisioned' });
    expect(faults['latency@request']).toBeGreaterThan(10);
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

// The network step with fake ports (no service): Wi-Fi through the port, the medium it reports,
// the service's clock, and the codes of each way the network can fail before the profile is known.
import { describe, expect, it } from 'vitest';

import { findStep } from '../../../protocol/esp.js';
import { ServiceProblem } from '../../../protocol/node/https-client.js';
import type { IdentitySource } from '../../identity/identity.js';
import type { NetworkPort } from '../../network/port.js';
import { DeployEngine } from '../engine.js';
import { fakeDevice, harness, up, wiredNetwork } from '../testing/fakes.js';
import { networkStep } from './network.js';

const noIdentity: IdentitySource = { description: 'the test firmware', read: () => Promise.resolve({ serial: null, manufacturer: null, model: '', smbiosUuid: null, macs: [], diskSerials: [] }) };

/** An engine over fakes whose firmware has no identity: it gets as far as the profile step. */
function engine(network: NetworkPort, probe?: () => Promise<never>, extra: { wifi?: { ssid: string; psk: string | null } } = {}) {
  const device = fakeDevice({ api: probe ? { probe } : {}, engine: { network, identity: noIdentity, preflightWaitMs: 30_000, ...extra } });
  return new DeployEngine(device.options);
}

describe('the network step', () => {
  it('joins the Wi-Fi it was given through the port when nothing is up, then goes on', async () => {
    let joined: [string, string | null] | undefined;
    const network: NetworkPort = {
      status: () => Promise.resolve(joined ? up('wireless', 'wlan0') : up('none')),
      resolve: () => Promise.resolve(['192.0.2.10']),
      connectWifi: (ssid, psk) => {
        joined = [ssid, psk];
        return Promise.resolve();
      },
    };
    const e = engine(network, undefined, { wifi: { ssid: 'Staging', psk: 'bench-passphrase' } });
    const outcome = await e.run();
    expect(joined).toEqual(['Staging', 'bench-passphrase']);
    expect(findStep(e.current(), 'network')).toMatchObject({ state: 'succeeded', detail: expect.stringContaining('Wi-Fi (wlan0)') });
    expect(e.current().network).toEqual({ medium: 'wireless', interface: 'wlan0' });
    // It got as far as the identity, which the fake firmware does not have.
    expect(outcome).toMatchObject({ status: 'failed', failure: { code: 'IDENTITY_INCOMPLETE', step: 'profile' } });
  });

  it('says NETWORK_UNAVAILABLE when Wi-Fi cannot be joined or no port can join it', async () => {
    const failing: NetworkPort = { status: () => Promise.resolve(up('none')), resolve: () => Promise.resolve([]), connectWifi: () => Promise.reject(new Error('secrets were required')) };
    expect(await engine(failing, undefined, { wifi: { ssid: 'Staging', psk: null } }).run()).toMatchObject({ status: 'failed', failure: { code: 'NETWORK_UNAVAILABLE', detail: expect.stringContaining('secrets were required') } });
    const portless: NetworkPort = { status: () => Promise.resolve(up('none')), resolve: () => Promise.resolve([]) };
    expect(await engine(portless, undefined, { wifi: { ssid: 'Staging', psk: null } }).run()).toMatchObject({ failure: { code: 'NETWORK_UNAVAILABLE', detail: expect.stringContaining('NetworkManager provider') } });
  });

  it('waits for a network, then says NETWORK_UNAVAILABLE', async () => {
    let checks = 0;
    const network: NetworkPort = { status: () => Promise.resolve((checks++, up('none'))), resolve: () => Promise.resolve([]) };
    expect(await engine(network).run()).toMatchObject({ failure: { code: 'NETWORK_UNAVAILABLE', step: 'network' } });
    expect(checks).toBeGreaterThan(3);
  });

  it('says DNS_FAILED when the service name does not resolve', async () => {
    const network: NetworkPort = { status: () => Promise.resolve(up('wired')), resolve: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })) };
    expect(await engine(network).run()).toMatchObject({ failure: { code: 'DNS_FAILED', detail: expect.stringContaining('deploy.example does not resolve') } });
  });

  it('says SERVICE_UNREACHABLE when nothing answers, after waiting', async () => {
    const network: NetworkPort = { status: () => Promise.resolve(up('wired')), resolve: () => Promise.resolve(['192.0.2.10']) };
    let probes = 0;
    const probe = () => {
      probes++;
      return Promise.reject(new ServiceProblem('SERVICE_UNREACHABLE', 'ECONNREFUSED'));
    };
    expect(await engine(network, probe).run()).toMatchObject({ failure: { code: 'SERVICE_UNREACHABLE', step: 'network' } });
    expect(probes).toBeGreaterThan(3);
  });

  it('reports the medium and the service round trip, and shows the network page while nothing is up', async () => {
    let checks = 0;
    const h = harness({ engine: { network: { status: () => Promise.resolve(checks++ < 2 ? up('none') : up('wired', 'enp3s0')), resolve: () => Promise.resolve(['192.0.2.10']) } } });
    expect(await networkStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Ethernet (enp3s0), service answered in 3 ms' });
    expect(h.events.filter((e) => e.type === 'context' && e.context.network?.medium === 'none')).toHaveLength(1);
    expect(h.context.progress.journal.network).toEqual({ medium: 'wired', interface: 'enp3s0' });
  });

  it('refuses a service whose clock is more than five minutes off, either way — within it, goes on', async () => {
    for (const [offsetMinutes, ok] of [[7, false], [-7, false], [4, true]] as const) {
      const h = harness({ engine: { network: wiredNetwork() } });
      h.context.options.api.probe = () => Promise.resolve({ status: 200, date: new Date(h.clock.now() + offsetMinutes * 60_000).toUTCString(), roundTripMs: 10 });
      const run = networkStep.run(h.context);
      if (ok) await expect(run).resolves.toMatchObject({ state: 'succeeded' });
      else await expect(run).rejects.toMatchObject({ code: 'CLOCK_SKEW', step: 'network' });
    }
  });

  it('skips name resolution for a service at an IP address', async () => {
    const h = harness({ engine: { network: { status: () => Promise.resolve(up('wired')), resolve: () => Promise.reject(new Error('must not be asked')) } } });
    const ip = harness({ engine: { network: { status: () => Promise.resolve(up('wired')), resolve: () => Promise.reject(new Error('must not be asked')) } } });
    Object.defineProperty(ip.context.options.api, 'server', { value: new URL('https://[::1]:8443') });
    await expect(networkStep.run(ip.context)).resolves.toMatchObject({ state: 'succeeded' });
    await expect(networkStep.run(h.context)).rejects.toMatchObject({ code: 'DNS_FAILED' });
  });
});

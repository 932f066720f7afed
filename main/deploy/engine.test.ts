// The engine's network step with fake ports (one module, no service): Wi-Fi through the port, the
// media it reports, and the codes of each way the network can fail before the profile is known.
import { describe, expect, it } from 'vitest';

import { findStep } from '../../protocol/esp.js';
import { ServiceProblem } from '../../protocol/node/https-client.js';
import type { IdentitySource } from '../identity/identity.js';
import type { TpmPort } from '../tpm/port.js';
import { DeployEngine, type EngineOptions } from './engine.js';
import { MemoryJournal } from './journal.js';
import type { BackendPort, ClockPort, NetworkPort, NetworkStatus } from './ports.js';

class FakeClock implements ClockPort {
  t = Date.parse('2026-11-26T10:00:00Z');
  now = () => this.t;
  sleep = (ms: number) => {
    this.t += ms;
    return Promise.resolve();
  };
}

function engine(network: NetworkPort, api: Partial<BackendPort>, extra: Partial<EngineOptions> = {}) {
  const clock = new FakeClock();
  const noIdentity: IdentitySource = { description: 'the test firmware', read: () => Promise.resolve({ serial: null, manufacturer: null, model: '', smbiosUuid: null, macs: [], diskSerials: [] }) };
  return new DeployEngine({
    tpm: {} as TpmPort,
    identity: noIdentity,
    api: { server: new URL('https://deploy.example:8443'), probe: () => Promise.resolve({ status: 200, date: new Date(clock.t).toUTCString(), roundTripMs: 3 }), ...api } as BackendPort,
    providers: {} as EngineOptions['providers'],
    journal: new MemoryJournal(),
    enrollment: { load: () => undefined, save: () => undefined },
    network,
    contentDir: '/nonexistent',
    clock,
    agent: { version: 't', os: { name: 'x', version: 'y', kernel: 'z' }, hostname: 'h' },
    preflightWaitMs: 30_000,
    ...extra,
  });
}

const up = (medium: NetworkStatus['medium'], iface = 'eth0'): NetworkStatus => ({ medium, interface: medium === 'none' ? null : iface });

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
    const e = engine(network, {}, { wifi: { ssid: 'Staging', psk: 'bench-passphrase' } });
    const outcome = await e.run();
    expect(joined).toEqual(['Staging', 'bench-passphrase']);
    expect(findStep(e.current(), 'network')).toMatchObject({ state: 'succeeded', detail: expect.stringContaining('Wi-Fi (wlan0)') });
    expect(e.current().network).toEqual({ medium: 'wireless', interface: 'wlan0' });
    // It got as far as the identity, which the fake firmware does not have.
    expect(outcome).toMatchObject({ status: 'failed', failure: { code: 'IDENTITY_INCOMPLETE', step: 'profile' } });
  });

  it('says NETWORK_UNAVAILABLE when Wi-Fi cannot be joined or no port can join it', async () => {
    const failing: NetworkPort = { status: () => Promise.resolve(up('none')), resolve: () => Promise.resolve([]), connectWifi: () => Promise.reject(new Error('secrets were required')) };
    expect(await engine(failing, {}, { wifi: { ssid: 'Staging', psk: null } }).run()).toMatchObject({ status: 'failed', failure: { code: 'NETWORK_UNAVAILABLE', detail: expect.stringContaining('secrets were required') } });
    const portless: NetworkPort = { status: () => Promise.resolve(up('none')), resolve: () => Promise.resolve([]) };
    expect(await engine(portless, {}, { wifi: { ssid: 'Staging', psk: null } }).run()).toMatchObject({ failure: { code: 'NETWORK_UNAVAILABLE', detail: expect.stringContaining('NetworkManager provider') } });
  });

  it('waits for a network, then says NETWORK_UNAVAILABLE', async () => {
    let checks = 0;
    const network: NetworkPort = { status: () => Promise.resolve((checks++, up('none'))), resolve: () => Promise.resolve([]) };
    expect(await engine(network, {}).run()).toMatchObject({ failure: { code: 'NETWORK_UNAVAILABLE', step: 'network' } });
    expect(checks).toBeGreaterThan(3);
  });

  it('says DNS_FAILED when the service name does not resolve', async () => {
    const network: NetworkPort = { status: () => Promise.resolve(up('wired')), resolve: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })) };
    expect(await engine(network, {}).run()).toMatchObject({ failure: { code: 'DNS_FAILED', detail: expect.stringContaining('deploy.example does not resolve') } });
  });

  it('says SERVICE_UNREACHABLE when nothing answers, after waiting', async () => {
    const network: NetworkPort = { status: () => Promise.resolve(up('wired')), resolve: () => Promise.resolve(['192.0.2.10']) };
    let probes = 0;
    const probe = () => {
      probes++;
      return Promise.reject(new ServiceProblem('SERVICE_UNREACHABLE', 'ECONNREFUSED'));
    };
    expect(await engine(network, { probe }).run()).toMatchObject({ failure: { code: 'SERVICE_UNREACHABLE', step: 'network' } });
    expect(probes).toBeGreaterThan(3);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { SystemNetwork, terseFields } from './system.js';

/**
 * A stand-in nmcli (NetworkManager does not run in this container): records each call's argv and
 * stdin, prints a scan, and fails activation when told to.
 */
function fakeNmcli(behaviour: { upStatus?: number; upStderr?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-nmcli-'));
  const calls = join(dir, 'calls');
  const script = join(dir, 'nmcli');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      `printf '%s\\n' "$*" >> '${calls}'`,
      `printf 'stdin:' >> '${calls}'; cat >> '${calls}'; printf '\\n' >> '${calls}'`,
      'case "$*" in',
      `  *"device wifi list"*) printf '%s\\n' '*:Fabrikam\\: Lobby:WPA2:80' ' :Guest::40' ' :Fabrikam\\: Lobby:WPA2:60' ' :Corp:WPA2 802.1X:70' ' :Home:WPA3 SAE:30' ' ::WPA2:90' ;;`,
      `  *"connection up"*) echo '${behaviour.upStderr ?? ''}' >&2; exit ${behaviour.upStatus ?? 0} ;;`,
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { network: new SystemNetwork({ nmcli: script }), calls: () => readFileSync(calls, 'utf8') };
}

describe('Wi-Fi through NetworkManager', () => {
  it('lists networks in range once each, strongest first, with their security, leaving hidden ones out', async () => {
    const { network } = fakeNmcli();
    expect(await network.scanWifi()).toEqual([
      { ssid: 'Fabrikam: Lobby', security: 'wpa2', signal: 80, connected: true },
      { ssid: 'Corp', security: 'enterprise', signal: 70, connected: false },
      { ssid: 'Guest', security: 'open', signal: 40, connected: false },
      { ssid: 'Home', security: 'wpa3', signal: 30, connected: false },
    ]);
  });

  it('joins with the key on stdin, never in the arguments other users can read', async () => {
    const { network, calls } = fakeNmcli();
    await network.connectWifi('Fabrikam Lobby', 'correct horse battery');
    const log = calls();
    expect(log).toContain('connection add type wifi con-name selfdeploy-oobe ifname * ssid Fabrikam Lobby connection.autoconnect yes wifi-sec.key-mgmt wpa-psk');
    expect(log).toContain('--wait 45 connection up id selfdeploy-oobe passwd-file /dev/stdin\nstdin:802-11-wireless-security.psk:correct horse battery\n');
    expect(log.split('\n').filter((line) => !line.startsWith('stdin:')).join('\n')).not.toContain('correct horse');
  });

  it('says the key was not accepted when NetworkManager asks for secrets again', async () => {
    const { network } = fakeNmcli({ upStatus: 4, upStderr: 'Error: Connection activation failed: Secrets were required, but not provided.' });
    await expect(network.connectWifi('Lobby', 'wrong-key-123')).rejects.toThrow('the key was not accepted');
  });

  it('refuses keys and SSIDs NetworkManager would refuse, before calling it', async () => {
    const { network, calls } = fakeNmcli();
    await expect(network.connectWifi('Lobby', 'short')).rejects.toThrow('8 to 63 characters');
    await expect(network.connectWifi('x'.repeat(33), null)).rejects.toThrow('1 to 32 characters');
    expect(() => calls()).toThrow(); // nmcli never ran
  });

  it('says so when NetworkManager is not installed', async () => {
    await expect(new SystemNetwork({ nmcli: '/nonexistent/nmcli' }).scanWifi()).rejects.toThrow('NetworkManager (nmcli) is not installed');
  });

  it('reads terse nmcli fields with escaped colons and backslashes', () => {
    expect(terseFields('*:a\\:b:c\\\\d:')).toEqual(['*', 'a:b', 'c\\d', '']);
  });
});

// The device's network as the engine's network step sees it: the medium of the interface that
// carries the default route (systeminformation), name resolution (the system resolver), and Wi-Fi
// through NetworkManager's nmcli — scan, and join with the key passed on stdin, never in argv
// where any user could read it from /proc.
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';

import si from 'systeminformation';

import { passphraseProblem, ssidProblem } from './wifi.js';
import type { NetworkPort, NetworkStatus, WifiNetwork } from './port.js';

/** The connection profile the OOBE's Wi-Fi page makes (network items bring their own). */
export const OOBE_CONNECTION = 'selfdeploy-oobe';

interface Nmcli {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Splits one line of `nmcli --terse --escape yes` output at unescaped colons. */
export function terseFields(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) current += line[++i];
    else if (c === ':') {
      fields.push(current);
      current = '';
    } else current += c;
  }
  fields.push(current);
  return fields;
}

export class SystemNetwork implements NetworkPort {
  constructor(private readonly options: { nmcli?: string; timeoutSeconds?: number } = {}) {}

  async status(): Promise<NetworkStatus> {
    const name = await si.networkInterfaceDefault();
    if (!name) return { medium: 'none', interface: null };
    const list = await si.networkInterfaces();
    const found = (Array.isArray(list) ? list : [list]).find((n) => n.iface === name);
    if (!found || found.operstate === 'down') return { medium: 'none', interface: null };
    return { medium: found.type === 'wireless' || /^wl/.test(name) ? 'wireless' : 'wired', interface: name };
  }

  async resolve(host: string): Promise<string[]> {
    const addresses = await lookup(host, { all: true });
    return addresses.map((a) => a.address);
  }

  private nmcli(args: string[], stdin?: string): Promise<Nmcli> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.nmcli ?? 'nmcli', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), (this.options.timeoutSeconds ?? 60) * 1000);
      child.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Error(error.code === 'ENOENT' ? 'NetworkManager (nmcli) is not installed' : error.message));
      });
      child.once('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
      child.stdin.end(stdin ?? '');
    });
  }

  /** The Wi-Fi networks in range, strongest first, one entry per SSID (hidden ones left out). */
  async scanWifi(): Promise<WifiNetwork[]> {
    const result = await this.nmcli(['--terse', '--escape', 'yes', '--fields', 'IN-USE,SSID,SECURITY,SIGNAL', 'device', 'wifi', 'list', '--rescan', 'auto']);
    if (result.status !== 0) throw new Error(`nmcli could not scan: ${result.stderr.trim() || `exit status ${result.status}`}`);
    const best = new Map<string, WifiNetwork>();
    for (const line of result.stdout.split('\n').filter(Boolean)) {
      const [inUse, ssid, security, signal] = terseFields(line);
      if (!ssid) continue;
      const secured = security !== undefined && security !== '' && security !== '--';
      const network: WifiNetwork = {
        ssid,
        security: !secured ? 'open' : /802\.1X/.test(security) ? 'enterprise' : /SAE|WPA3/.test(security) ? 'wpa3' : 'wpa2',
        signal: Math.max(0, Math.min(100, Number(signal) || 0)),
        connected: inUse === '*',
      };
      const seen = best.get(ssid);
      if (!seen || network.signal > seen.signal || network.connected) best.set(ssid, { ...network, connected: network.connected || (seen?.connected ?? false) });
    }
    return [...best.values()].sort((a, b) => b.signal - a.signal);
  }

  /**
   * Joins a WPA2/WPA3-personal or open network: a connection profile "selfdeploy-oobe" (replaced
   * each time) activated with its key read from stdin (nmcli passwd-file).
   */
  async connectWifi(ssid: string, psk: string | null): Promise<void> {
    const problem = ssidProblem(ssid) ?? (psk === null ? null : passphraseProblem(psk));
    if (problem) throw new Error(problem);
    await this.nmcli(['connection', 'delete', 'id', OOBE_CONNECTION]); // none there is fine
    const add = ['connection', 'add', 'type', 'wifi', 'con-name', OOBE_CONNECTION, 'ifname', '*', 'ssid', ssid, 'connection.autoconnect', 'yes'];
    if (psk !== null) add.push('wifi-sec.key-mgmt', 'wpa-psk', 'wifi-sec.psk-flags', '0');
    const added = await this.nmcli(add);
    if (added.status !== 0) throw new Error(`nmcli could not add the connection: ${added.stderr.trim()}`);
    const up = await this.nmcli(['--wait', '45', 'connection', 'up', 'id', OOBE_CONNECTION, ...(psk !== null ? ['passwd-file', '/dev/stdin'] : [])], psk !== null ? `802-11-wireless-security.psk:${psk}\n` : undefined);
    if (up.status !== 0) {
      const reason = /[Ss]ecrets were required|802-1[xX] supplicant|wrong password/.test(up.stderr) ? 'the key was not accepted' : up.status === 3 ? 'it did not connect within 45 s' : up.stderr.trim() || `nmcli exit status ${up.status}`;
      throw new Error(reason);
    }
  }
}

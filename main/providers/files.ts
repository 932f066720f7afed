// The file providers: apply Device setup items, OOBE settings and the end state as files in a
// target — the system's own places (/etc/NetworkManager/system-connections, the CA store,
// /etc/default/locale, LightDM auto-logon for the kiosk) under its root: "/" on a device, a
// scratch directory in labs and tests. Every change goes through `Target`, which refuses paths
// that leave the root and records each change before making it, so "Reset device" undoes it all.
// Packages are unpacked (dpkg-deb, tar) into a private staging directory first and then placed
// file by file; maintainer scripts do not run. `detect` looks at what is in place.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { DeployProfileResponse } from '../../protocol/api/deploy.js';
import type { CodedError } from '../../protocol/errors/report.js';
import { itemKey, type AssignedItem } from '../../protocol/items.js';
import type { DeploymentProfile } from '../../protocol/profile.js';
import type { ApplyContext, ProvidersPort } from '../deploy/ports.js';
import type { TargetPort } from './target.js';

const run = promisify(execFile);

export class ItemError extends Error implements CodedError {
  override name = 'ItemError';

  constructor(
    readonly code: 'ITEM_FAILED' | 'ITEM_NOT_DETECTED',
    message: string,
  ) {
    super(message);
  }
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

function safe(name: string, what: string): string {
  if (!SAFE_NAME.test(name) || name.includes('..')) throw new ItemError('ITEM_FAILED', `${what} "${name}" cannot name a file`);
  return name;
}

/** Escapes a value for a NetworkManager keyfile (GLib key file syntax). */
function keyfileValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t').replace(/^ /, '\\s');
}

/** en-US → en_US.UTF-8; zh-Hant-TW → zh_TW.UTF-8. */
export function localeOf(tag: string): string {
  const parts = tag.split('-');
  const region = parts.slice(1).find((p) => /^[A-Za-z]{2}$/.test(p));
  return `${parts[0]!.toLowerCase()}${region ? `_${region.toUpperCase()}` : ''}.UTF-8`;
}

export const APPLY_LOG = '/var/log/selfdeploy/applied.log';

/** The file an item of this kind puts in place, and its bytes and mode — what detect compares. */
interface Placed {
  path: string;
  content: string;
  mode: number;
}

export class FileProviders implements ProvidersPort {
  constructor(readonly target: TargetPort) {}

  /** The keys (id@version) the apply log records. */
  async applied(): Promise<string[]> {
    const log = await this.target.readFile(APPLY_LOG);
    if (!log) return [];
    return log
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { key: string }).key);
  }

  private async logApplied(item: AssignedItem, detail: Record<string, unknown>): Promise<void> {
    const before = (await this.target.readFile(APPLY_LOG))?.toString('utf8') ?? '';
    const line = JSON.stringify({ key: itemKey(item), kind: item.kind, name: item.name, at: new Date().toISOString(), ...detail });
    await this.target.writeFile(itemKey(item), APPLY_LOG, `${before}${line}\n`);
  }

  private async matches(placed: Placed): Promise<boolean> {
    const stat = await this.target.stat(placed.path);
    if (stat?.type !== 'file' || stat.mode !== placed.mode) return false;
    return (await this.target.readFile(placed.path))?.toString('utf8') === placed.content;
  }

  /** The one file a policy, certificate or network item puts in place. */
  private placed(item: AssignedItem): Placed | undefined {
    switch (item.kind) {
      case 'policy':
        return { path: `/etc/selfdeploy/policies/${safe(item.name, 'policy')}.json`, content: JSON.stringify({ version: item.version, ...item.payload }, null, 2) + '\n', mode: 0o644 };
      case 'certificate': {
        const payload = item.payload;
        if (payload.type === 'device-client') throw new ItemError('ITEM_FAILED', 'device client certificates need the certificate provider, which this version does not have');
        let certificate: X509Certificate;
        try {
          certificate = new X509Certificate(payload.pem);
        } catch {
          throw new ItemError('ITEM_FAILED', `certificate "${item.name}" is not a valid PEM certificate`);
        }
        if (!certificate.ca) throw new ItemError('ITEM_FAILED', `certificate "${item.name}" is not a CA certificate, so it cannot be a trusted root`);
        return { path: `/usr/local/share/ca-certificates/selfdeploy/${safe(item.name, 'certificate')}.crt`, content: certificate.toString(), mode: 0o644 };
      }
      case 'network': {
        const n = item.payload;
        const lines = ['[connection]', `id=${keyfileValue(item.name)}`];
        if (n.type === 'wifi') {
          lines.push('type=wifi', `autoconnect=${n.autoConnect}`, '', '[wifi]', 'mode=infrastructure', `ssid=${keyfileValue(n.ssid)}`, `hidden=${n.hidden}`);
          if (n.security !== 'open') {
            lines.push('', '[wifi-security]', `key-mgmt=${n.security === 'wpa3-sae' ? 'sae' : n.security === 'wpa2-eap-tls' ? 'wpa-eap' : 'wpa-psk'}`);
            if (n.psk) lines.push(`psk=${keyfileValue(n.psk)}`);
          }
          lines.push('', '[ipv4]', 'method=auto', '', '[ipv6]', 'method=auto');
        } else if (n.type === 'wired-8021x') {
          lines.push('type=ethernet', '', '[802-1x]', 'eap=tls', `identity=${keyfileValue(n.identity)}`, '', '[ipv4]', 'method=auto');
        } else {
          lines.push('type=wireguard', '', '[wireguard]', '', `[wireguard-peer.${n.peerPublicKey}]`, `endpoint=${keyfileValue(n.endpoint)}`, `allowed-ips=${n.allowedIps.join(';')};`, '', '[ipv4]', `address1=${n.address}`, 'method=manual');
        }
        // Holds the Wi-Fi key: readable by root only, as NetworkManager requires.
        return { path: `/etc/NetworkManager/system-connections/selfdeploy-${safe(item.name, 'network')}.nmconnection`, content: lines.join('\n') + '\n', mode: 0o600 };
      }
      default:
        return undefined;
    }
  }

  private markerOf(item: AssignedItem): Placed | undefined {
    if (item.kind === 'app') return { path: `/var/lib/selfdeploy/packages/${safe(item.payload.package, 'package')}`, content: `${item.payload.version}\n`, mode: 0o644 };
    if (item.kind === 'script') return { path: `/var/lib/selfdeploy/scripts/${safe(item.name, 'script')}`, content: `${itemKey(item)}\n`, mode: 0o644 };
    return undefined;
  }

  async applyOobe(settings: { language: string | null; keyboard: string | null }): Promise<void> {
    if (settings.language) await this.target.writeFile('oobe', '/etc/default/locale', `LANG=${localeOf(settings.language)}\n`);
    if (settings.keyboard) {
      const primary = settings.keyboard.split('-')[0]!.toLowerCase();
      await this.target.writeFile('oobe', '/etc/default/keyboard', `XKBMODEL="pc105"\nXKBLAYOUT="${primary === 'en' ? 'us' : primary}"\n`);
    }
  }

  async detect(item: AssignedItem): Promise<boolean> {
    const placed = this.placed(item);
    if (placed) return this.matches(placed);
    if (item.kind === 'app') return this.detected(item);
    return this.matches(this.markerOf(item)!);
  }

  private async detected(item: Extract<AssignedItem, { kind: 'app' }>): Promise<boolean> {
    const rule = item.payload.detection;
    if (!rule) return this.matches(this.markerOf(item)!);
    if (rule.type === 'file-exists') return (await this.target.stat(rule.path)) !== null;
    return this.matches({ path: `/var/lib/selfdeploy/packages/${safe(rule.package, 'package')}`, content: `${rule.version}\n`, mode: 0o644 });
  }

  async apply(item: AssignedItem, context: ApplyContext): Promise<void> {
    const key = itemKey(item);
    const placed = this.placed(item);
    if (placed) {
      await this.target.writeFile(key, placed.path, placed.content, placed.mode);
      if (item.kind === 'certificate') await this.target.command(key, ['update-ca-certificates'], ['update-ca-certificates', '--fresh']);
      if (item.kind === 'network') await this.target.command(key, ['nmcli', 'connection', 'reload'], ['nmcli', 'connection', 'reload']);
      await this.logApplied(item, { path: placed.path });
      return;
    }
    if (item.kind === 'app') {
      const app = item.payload;
      const pkg = safe(app.package, 'package');
      const file = await context.fetchContent(app.content, (received, total) => context.progress(received / total, `Downloading ${(received / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`));
      context.progress(1, 'Installing');
      if (app.installer === 'deb') await this.unpack(key, ['dpkg-deb', '-x', file], '/', item);
      else if (app.installer === 'tar') await this.unpack(key, ['tar', '-x', '--no-same-owner', '--no-same-permissions', '-f', file], `/opt/${pkg}`, item);
      else if (app.installer === 'appimage') await this.target.writeFile(key, `/opt/${pkg}/${pkg}.AppImage`, readFileSync(file), 0o755);
      else await this.target.runScript(key, { file, interpreter: 'sh', timeoutSeconds: 600, logPath: `/var/log/selfdeploy/scripts/${pkg}-installer.log`, name: item.name });
      const marker = this.markerOf(item)!;
      await this.target.writeFile(key, marker.path, marker.content, marker.mode);
      if (app.detection && !(await this.detected(item))) {
        const rule = app.detection;
        throw new ItemError('ITEM_NOT_DETECTED', `app "${item.name}" installed, but ${rule.type === 'file-exists' ? `${rule.path} does not exist` : `${rule.package} is not at version ${rule.version}`}`);
      }
      await this.logApplied(item, { package: pkg, version: app.version });
      return;
    }
    if (item.kind === 'script') {
      const file = await context.fetchContent(item.payload.content);
      context.progress(0.5, 'Running');
      await this.target.runScript(key, { file, interpreter: item.payload.interpreter, timeoutSeconds: item.payload.timeoutSeconds, logPath: `/var/log/selfdeploy/scripts/${safe(item.name, 'script')}.log`, name: item.name });
      const marker = this.markerOf(item)!;
      await this.target.writeFile(key, marker.path, marker.content, marker.mode);
      await this.logApplied(item, {});
    }
  }

  /**
   * Unpacks into a private staging directory with `argv` (dpkg-deb -x FILE / tar -xf FILE; the
   * directory is appended), then places every entry under `destination` through the target: each
   * path checked, each change recorded. Set-user-ID and set-group-ID bits are dropped.
   */
  private async unpack(key: string, argv: string[], destination: string, item: AssignedItem): Promise<void> {
    const staging = mkdtempSync(join(tmpdir(), 'selfdeploy-unpack-'));
    try {
      const [command, ...args] = argv;
      const into = command === 'tar' ? ['-C', staging] : [staging];
      try {
        await run(command!, [...args, ...into], { timeout: 600_000, maxBuffer: 4 * 1024 * 1024 });
      } catch (error) {
        const stderr = String((error as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-3).join(' / ');
        throw new ItemError('ITEM_FAILED', `${command} could not unpack "${item.name}": ${stderr || (error as Error).message}`);
      }
      // Every entry is checked before anything is placed: a package with one bad path changes nothing.
      const entries: { path: string; source: string; kind: 'dir' | 'file' | 'symlink'; mode: number }[] = [];
      const walk = async (dir: string, device: string): Promise<void> => {
        for (const name of readdirSync(dir).sort()) {
          const source = join(dir, name);
          const path = `${device === '/' ? '' : device}/${name}`;
          const stat = lstatSync(source);
          if (stat.isDirectory()) {
            await this.target.check(path);
            entries.push({ path, source, kind: 'dir', mode: 0o755 });
            await walk(source, path);
          } else if (stat.isSymbolicLink()) {
            await this.target.check(path, readlinkSync(source));
            entries.push({ path, source, kind: 'symlink', mode: 0 });
          } else if (stat.isFile()) {
            await this.target.check(path);
            entries.push({ path, source, kind: 'file', mode: stat.mode & 0o777 });
          }
        }
      };
      await walk(staging, destination);
      if (destination !== '/') await this.target.ensureDir(key, destination, 0o755);
      for (const entry of entries) {
        if (entry.kind === 'dir') await this.target.ensureDir(key, entry.path, entry.mode);
        else if (entry.kind === 'symlink') await this.target.writeSymlink(key, entry.path, readlinkSync(entry.source));
        else await this.target.writeFile(key, entry.path, readFileSync(entry.source), entry.mode);
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  async configureEndState(endState: DeploymentProfile['endState'], device: { deviceName: string | null; branding: DeployProfileResponse['branding'] }): Promise<void> {
    const key = 'end-state';
    if (device.deviceName) await this.target.writeFile(key, '/etc/hostname', `${device.deviceName}\n`);
    await this.target.writeFile(key, '/etc/selfdeploy/end-state.json', JSON.stringify({ ...endState, organization: device.branding.organizationName }, null, 2) + '\n');
    if (endState.type === 'kiosk') {
      await this.target.writeFile(key, '/etc/selfdeploy/kiosk.json', JSON.stringify(endState, null, 2) + '\n');
      if (endState.autoLogon) {
        await this.target.writeFile(key, '/etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf', `[Seat:*]\nautologin-user=${endState.localAccount.name}\nautologin-user-timeout=0\nautologin-session=selfdeploy-kiosk\n`);
      }
    }
  }
}

// The file providers: apply Device setup items, OOBE settings and the end state as files in a
// target — the system's own places (/etc/NetworkManager/system-connections, the CA store,
// /etc/default/locale, LightDM auto-logon for the kiosk) under its root: "/" on a device, a
// scratch directory in labs and tests. Every change goes through `Target`, which refuses paths
// that leave the root and records each change before making it, so "Reset device" undoes it all.
// Packages are unpacked (dpkg-deb, tar) into a private staging directory first and then placed
// file by file; maintainer scripts do not run. `detect` looks at what is in place.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { DeployProfileResponse } from '../../protocol/api/deploy.js';
import type { CodedError } from '../../protocol/errors/report.js';
import { itemKey, type AssignedItem } from '../../protocol/items.js';
import type { DeploymentProfile } from '../../protocol/profile.js';
import type { ApplyContext, ProvidersPort } from '../deploy/ports.js';
import type { ChangeLog } from './changes.js';
import { Target } from './target.js';

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
  readonly target: Target;

  constructor(root: string, changes: ChangeLog) {
    this.target = new Target(root, changes);
  }

  get root(): string {
    return this.target.root;
  }

  /** The keys (id@version) the apply log records. */
  applied(): string[] {
    try {
      return readFileSync(this.target.place(APPLY_LOG), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { key: string }).key);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private logApplied(item: AssignedItem, detail: Record<string, unknown>): void {
    const place = this.target.place(APPLY_LOG);
    const before = existsSync(place) ? readFileSync(place, 'utf8') : '';
    const line = JSON.stringify({ key: itemKey(item), kind: item.kind, name: item.name, at: new Date().toISOString(), ...detail });
    this.target.writeFile(itemKey(item), APPLY_LOG, `${before}${line}\n`);
  }

  private matches(placed: Placed): boolean {
    const place = this.target.place(placed.path);
    if (!existsSync(place)) return false;
    const stat = lstatSync(place);
    return stat.isFile() && (stat.mode & 0o7777) === placed.mode && readFileSync(place, 'utf8') === placed.content;
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

  applyOobe(settings: { language: string | null; keyboard: string | null }): Promise<void> {
    if (settings.language) this.target.writeFile('oobe', '/etc/default/locale', `LANG=${localeOf(settings.language)}\n`);
    if (settings.keyboard) {
      const primary = settings.keyboard.split('-')[0]!.toLowerCase();
      this.target.writeFile('oobe', '/etc/default/keyboard', `XKBMODEL="pc105"\nXKBLAYOUT="${primary === 'en' ? 'us' : primary}"\n`);
    }
    return Promise.resolve();
  }

  detect(item: AssignedItem): Promise<boolean> {
    const placed = this.placed(item);
    if (placed) return Promise.resolve(this.matches(placed));
    if (item.kind === 'app' && item.payload.detection) return Promise.resolve(this.detected(item));
    return Promise.resolve(this.matches(this.markerOf(item)!));
  }

  private detected(item: Extract<AssignedItem, { kind: 'app' }>): boolean {
    const rule = item.payload.detection;
    if (!rule) return this.matches(this.markerOf(item)!);
    if (rule.type === 'file-exists') return existsSync(this.target.place(rule.path));
    return this.matches({ path: `/var/lib/selfdeploy/packages/${safe(rule.package, 'package')}`, content: `${rule.version}\n`, mode: 0o644 });
  }

  async apply(item: AssignedItem, context: ApplyContext): Promise<void> {
    const key = itemKey(item);
    const placed = this.placed(item);
    if (placed) {
      this.target.writeFile(key, placed.path, placed.content, placed.mode);
      if (item.kind === 'certificate') await this.target.command(key, ['update-ca-certificates'], ['update-ca-certificates', '--fresh']);
      if (item.kind === 'network') await this.target.command(key, ['nmcli', 'connection', 'reload'], ['nmcli', 'connection', 'reload']);
      this.logApplied(item, { path: placed.path });
      return;
    }
    if (item.kind === 'app') {
      const app = item.payload;
      const pkg = safe(app.package, 'package');
      const file = await context.fetchContent(app.content, (received, total) => context.progress(received / total, `Downloading ${(received / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`));
      context.progress(1, 'Installing');
      if (app.installer === 'deb') await this.unpack(key, ['dpkg-deb', '-x', file], '/', item);
      else if (app.installer === 'tar') await this.unpack(key, ['tar', '-x', '--no-same-owner', '--no-same-permissions', '-f', file], `/opt/${pkg}`, item);
      else if (app.installer === 'appimage') this.target.writeFile(key, `/opt/${pkg}/${pkg}.AppImage`, readFileSync(file), 0o755);
      else await this.runScript(item, file, 'sh', 600);
      const marker = this.markerOf(item)!;
      this.target.writeFile(key, marker.path, marker.content, marker.mode);
      if (app.detection && !this.detected(item)) {
        const rule = app.detection;
        throw new ItemError('ITEM_NOT_DETECTED', `app "${item.name}" installed, but ${rule.type === 'file-exists' ? `${rule.path} does not exist` : `${rule.package} is not at version ${rule.version}`}`);
      }
      this.logApplied(item, { package: pkg, version: app.version });
      return;
    }
    if (item.kind === 'script') {
      const file = await context.fetchContent(item.payload.content);
      context.progress(0.5, 'Running');
      await this.runScript(item, file, item.payload.interpreter, item.payload.timeoutSeconds);
      const marker = this.markerOf(item)!;
      this.target.writeFile(key, marker.path, marker.content, marker.mode);
      this.logApplied(item, {});
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
      const walk = (dir: string, device: string) => {
        for (const name of readdirSync(dir).sort()) {
          const source = join(dir, name);
          const path = `${device === '/' ? '' : device}/${name}`;
          const stat = lstatSync(source);
          if (stat.isDirectory()) {
            this.target.place(path);
            entries.push({ path, source, kind: 'dir', mode: 0o755 });
            walk(source, path);
          } else if (stat.isSymbolicLink()) {
            this.target.checkSymlink(path, readlinkSync(source));
            entries.push({ path, source, kind: 'symlink', mode: 0 });
          } else if (stat.isFile()) {
            this.target.place(path);
            entries.push({ path, source, kind: 'file', mode: stat.mode & 0o777 });
          }
        }
      };
      walk(staging, destination);
      if (destination !== '/') this.target.ensureDir(key, destination, 0o755);
      for (const entry of entries) {
        if (entry.kind === 'dir') this.target.ensureDir(key, entry.path, entry.mode);
        else if (entry.kind === 'symlink') this.target.writeSymlink(key, entry.path, readlinkSync(entry.source));
        else this.target.writeFile(key, entry.path, readFileSync(entry.source), entry.mode);
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  private async runScript(item: AssignedItem, file: string, interpreter: 'sh' | 'bash', timeoutSeconds: number): Promise<void> {
    const key = itemKey(item);
    const logPath = `/var/log/selfdeploy/scripts/${safe(item.name, 'script')}.log`;
    const cap = (text: string) => (text.length > 256 * 1024 ? `${text.slice(0, 256 * 1024)}\n[output cut at 256 KiB]\n` : text);
    try {
      const { stdout, stderr } = await run(`/bin/${interpreter}`, [file], {
        cwd: this.target.root,
        timeout: timeoutSeconds * 1000,
        killSignal: 'SIGKILL',
        maxBuffer: 4 * 1024 * 1024,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SELFDEPLOY_ROOT: this.target.root, SELFDEPLOY_ITEM: item.name },
      });
      this.target.writeFile(key, logPath, cap(`${stdout}${stderr}`), 0o600);
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string; code?: number; killed?: boolean; signal?: string };
      this.target.writeFile(key, logPath, cap(`${failure.stdout ?? ''}${failure.stderr ?? ''}`), 0o600);
      const why = failure.killed || failure.signal === 'SIGKILL' ? `did not finish within ${timeoutSeconds} s` : `exited with status ${failure.code ?? '?'}`;
      const tail = String(failure.stderr ?? '').trim().split('\n').slice(-2).join(' / ');
      throw new ItemError('ITEM_FAILED', `script "${item.name}" ${why}${tail ? `: ${tail}` : ''} (log: ${logPath})`);
    }
  }

  configureEndState(endState: DeploymentProfile['endState'], device: { deviceName: string | null; branding: DeployProfileResponse['branding'] }): Promise<void> {
    const key = 'end-state';
    if (device.deviceName) this.target.writeFile(key, '/etc/hostname', `${device.deviceName}\n`);
    this.target.writeFile(key, '/etc/selfdeploy/end-state.json', JSON.stringify({ ...endState, organization: device.branding.organizationName }, null, 2) + '\n');
    if (endState.type === 'kiosk') {
      this.target.writeFile(key, '/etc/selfdeploy/kiosk.json', JSON.stringify(endState, null, 2) + '\n');
      if (endState.autoLogon) {
        this.target.writeFile(key, '/etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf', `[Seat:*]\nautologin-user=${endState.localAccount.name}\nautologin-user-timeout=0\nautologin-session=selfdeploy-kiosk\n`);
      }
    }
    return Promise.resolve();
  }
}

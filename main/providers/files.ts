// The file providers: apply Device setup items, OOBE settings and the end state as files under a
// root directory — the system's own places (/etc/NetworkManager/system-connections, the CA store,
// /etc/default/locale, LightDM auto-logon) inside `root`. With root "/" on a device this writes
// the real configuration; in labs and tests a scratch directory shows exactly what would change.
// Packages are unpacked with dpkg-deb or tar, not installed through dpkg (no maintainer scripts):
// the NetworkManager/apt/systemd providers are their own issue. Every item is recorded in an
// apply log once it is in place; `detect` reads it, so an item is never applied twice.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { appendFileSync, chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

import type { DeployProfileResponse } from '../../protocol/api/deploy.js';
import type { CodedError } from '../../protocol/errors/report.js';
import { itemKey, type AssignedItem } from '../../protocol/items.js';
import type { DeploymentProfile } from '../../protocol/profile.js';
import type { ApplyContext, ProvidersPort } from '../deploy/ports.js';
import { writeFileDurably } from '../storage/durable-file.js';

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

export class FileProviders implements ProvidersPort {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** A path inside the root; refuses anything that would leave it. */
  path(...parts: string[]): string {
    const path = resolve(this.root, ...parts.map((p) => p.replace(/^\/+/, '')));
    if (path !== this.root && !path.startsWith(this.root === sep ? sep : this.root + sep)) throw new ItemError('ITEM_FAILED', `${parts.join('/')} is outside the root`);
    return path;
  }

  get applyLog(): string {
    return this.path('var/log/selfdeploy/applied.log');
  }

  /** The keys (id@version) the apply log records. */
  applied(): string[] {
    try {
      return readFileSync(this.applyLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { key: string }).key);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private logApplied(item: AssignedItem, detail: Record<string, unknown>): void {
    mkdirSync(dirname(this.applyLog), { recursive: true, mode: 0o755 });
    appendFileSync(this.applyLog, JSON.stringify({ key: itemKey(item), kind: item.kind, name: item.name, at: new Date().toISOString(), ...detail }) + '\n', { mode: 0o644 });
    const fd = openSync(this.applyLog, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private write(relative: string, content: string, mode = 0o644): string {
    const path = this.path(relative);
    writeFileDurably(path, content, mode);
    chmodSync(path, mode);
    return path;
  }

  applyOobe(settings: { language: string | null; keyboard: string | null }): Promise<void> {
    if (settings.language) this.write('etc/default/locale', `LANG=${localeOf(settings.language)}\n`);
    if (settings.keyboard) {
      const primary = settings.keyboard.split('-')[0]!.toLowerCase();
      this.write('etc/default/keyboard', `XKBMODEL="pc105"\nXKBLAYOUT="${primary === 'en' ? 'us' : primary}"\n`);
    }
    return Promise.resolve();
  }

  detect(item: AssignedItem): Promise<boolean> {
    if (item.kind === 'app' && item.payload.detection?.type === 'file-exists' && existsSync(this.path(item.payload.detection.path))) return Promise.resolve(true);
    return Promise.resolve(this.applied().includes(itemKey(item)));
  }

  async apply(item: AssignedItem, context: ApplyContext): Promise<void> {
    switch (item.kind) {
      case 'policy': {
        const path = this.write(`etc/selfdeploy/policies/${safe(item.name, 'policy')}.json`, JSON.stringify({ version: item.version, ...item.payload }, null, 2) + '\n');
        this.logApplied(item, { path });
        return;
      }
      case 'certificate': {
        const payload = item.payload;
        if (payload.type === 'device-client') {
          throw new ItemError('ITEM_FAILED', 'device client certificates need the certificate provider, which this version does not have');
        }
        let certificate: X509Certificate;
        try {
          certificate = new X509Certificate(payload.pem);
        } catch {
          throw new ItemError('ITEM_FAILED', `certificate "${item.name}" is not a valid PEM certificate`);
        }
        if (!certificate.ca) throw new ItemError('ITEM_FAILED', `certificate "${item.name}" is not a CA certificate, so it cannot be a trusted root`);
        const path = this.write(`usr/local/share/ca-certificates/selfdeploy/${safe(item.name, 'certificate')}.crt`, certificate.toString());
        this.logApplied(item, { path, fingerprint: certificate.fingerprint256 });
        return;
      }
      case 'network': {
        const name = safe(item.name, 'network');
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
        const path = this.write(`etc/NetworkManager/system-connections/selfdeploy-${name}.nmconnection`, lines.join('\n') + '\n', 0o600);
        this.logApplied(item, { path });
        return;
      }
      case 'app': {
        const app = item.payload;
        const pkg = safe(app.package, 'package');
        const file = await context.fetchContent(app.content, (received, total) => context.progress(received / total, `Downloading ${(received / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`));
        context.progress(1, 'Installing');
        const target = this.path(`opt/${pkg}`);
        mkdirSync(target, { recursive: true, mode: 0o755 });
        if (app.installer === 'deb') {
          await this.tool('dpkg-deb', ['-x', file, this.root], item);
        } else if (app.installer === 'tar') {
          // GNU tar strips leading "/" and refuses "..": nothing lands outside the target.
          await this.tool('tar', ['-x', '--no-same-owner', '--no-same-permissions', '-f', file, '-C', target], item);
        } else if (app.installer === 'appimage') {
          copyFileSync(file, join(target, `${pkg}.AppImage`));
          chmodSync(join(target, `${pkg}.AppImage`), 0o755);
        } else {
          await this.runScript(item, file, 'sh', 600);
        }
        this.write(`var/lib/selfdeploy/packages/${pkg}`, `${app.version}\n`);
        if (app.detection?.type === 'file-exists' && !existsSync(this.path(app.detection.path))) {
          throw new ItemError('ITEM_NOT_DETECTED', `app "${item.name}" installed, but ${app.detection.path} does not exist`);
        }
        if (app.detection?.type === 'deb-version') {
          const installed = this.installedVersion(app.detection.package);
          if (installed !== app.detection.version) {
            throw new ItemError('ITEM_NOT_DETECTED', `app "${item.name}" installed, but ${app.detection.package} is ${installed ?? 'not installed'}, not ${app.detection.version}`);
          }
        }
        this.logApplied(item, { package: pkg, version: app.version });
        return;
      }
      case 'script': {
        const file = await context.fetchContent(item.payload.content);
        context.progress(0.5, 'Running');
        await this.runScript(item, file, item.payload.interpreter, item.payload.timeoutSeconds);
        this.logApplied(item, {});
        return;
      }
    }
  }

  private installedVersion(pkg: string): string | null {
    try {
      return readFileSync(this.path(`var/lib/selfdeploy/packages/${safe(pkg, 'package')}`), 'utf8').trim();
    } catch {
      return null;
    }
  }

  private async tool(command: string, args: string[], item: AssignedItem): Promise<void> {
    try {
      await run(command, args, { timeout: 600_000, maxBuffer: 4 * 1024 * 1024 });
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-3).join(' / ');
      throw new ItemError('ITEM_FAILED', `${command} could not unpack "${item.name}": ${stderr || (error as Error).message}`);
    }
  }

  private async runScript(item: AssignedItem, file: string, interpreter: 'sh' | 'bash', timeoutSeconds: number): Promise<void> {
    const log = this.path(`var/log/selfdeploy/scripts/${safe(item.name, 'script')}.log`);
    mkdirSync(dirname(log), { recursive: true, mode: 0o755 });
    try {
      const { stdout, stderr } = await run(`/bin/${interpreter}`, [file], {
        cwd: this.root,
        timeout: timeoutSeconds * 1000,
        killSignal: 'SIGKILL',
        maxBuffer: 4 * 1024 * 1024,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SELFDEPLOY_ROOT: this.root, SELFDEPLOY_ITEM: item.name },
      });
      writeFileDurably(log, `${stdout}${stderr}`, 0o600);
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string; code?: number; killed?: boolean; signal?: string };
      writeFileDurably(log, `${failure.stdout ?? ''}${failure.stderr ?? ''}`, 0o600);
      const why = failure.killed || failure.signal === 'SIGKILL' ? `did not finish within ${timeoutSeconds} s` : `exited with status ${failure.code ?? '?'}`;
      const tail = String(failure.stderr ?? '').trim().split('\n').slice(-2).join(' / ');
      throw new ItemError('ITEM_FAILED', `script "${item.name}" ${why}${tail ? `: ${tail}` : ''} (log: ${log})`);
    }
  }

  configureEndState(endState: DeploymentProfile['endState'], device: { deviceName: string | null; branding: DeployProfileResponse['branding'] }): Promise<void> {
    if (device.deviceName) this.write('etc/hostname', `${device.deviceName}\n`);
    this.write('etc/selfdeploy/end-state.json', JSON.stringify({ ...endState, organization: device.branding.organizationName }, null, 2) + '\n');
    if (endState.type === 'kiosk') {
      const account = endState.localAccount.name;
      this.write('etc/selfdeploy/kiosk.json', JSON.stringify(endState, null, 2) + '\n');
      if (endState.autoLogon) {
        this.write('etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf', `[Seat:*]\nautologin-user=${account}\nautologin-user-timeout=0\nautologin-session=selfdeploy-kiosk\n`);
      }
    }
    return Promise.resolve();
  }
}

// The file providers: apply Device setup items, OOBE settings and the end state to a target — the
// system's own places under its root: "/" on a device (through the privileged helper), a scratch
// directory in labs and tests. Each kind has its module here (policies, networks, apps, system,
// kiosk, directory); this class dispatches, keeps the apply log and answers `detect` from what is in place.
// Every change goes through the target, which refuses paths that leave the root and records each
// change before making it, so "Reset device" undoes it all.
import { itemKey, type AssignedItem } from '../../protocol/items.js';
import type { DeploymentProfile } from '../../protocol/profile.js';
import type { Directory, SignInEndState } from '../../protocol/sign-in.js';
import type { ApplyContext, ApplyResult, EndStateDevice, ProvidersPort } from './port.js';
import { appDetected, installApp, installerLog, markerInPlace, runScriptItem, scriptLog, scriptMarker } from './apps.js';
import { clientCertificateInPlace, clientCertificatePaths, issueClientCertificate, trustedRootPlan } from './certificates.js';
import { directoryPlan } from './directory.js';
import { kioskPlan } from './kiosk.js';
import { loginScreenPlan } from './login-screen.js';
import { installedDebs } from './apps.js';
import { sharedDevicePlan } from './shared-device.js';
import { networkPlan } from './networks.js';
import { carryOut, inPlace, textOf, type Plan } from './placed.js';
import { policyPlan } from './policies.js';
import { deviceNamePlan, oobePlan, type OobeSettings } from './system.js';
import { PLACES } from '../target/places.js';
import type { OsUpdateResult, TargetPort } from '../target/port.js';


export const APPLY_LOG: string = PLACES.applyLog;

export class FileProviders implements ProvidersPort {
  constructor(readonly target: TargetPort) {}

  /** The keys (id@version) the apply log records. */
  async applied(): Promise<string[]> {
    const log = await textOf(this.target, APPLY_LOG);
    if (!log) return [];
    return log
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { key: string }).key);
  }

  private async logApplied(item: AssignedItem, detail: Record<string, unknown>): Promise<void> {
    const before = (await textOf(this.target, APPLY_LOG)) ?? '';
    const line = JSON.stringify({ key: itemKey(item), kind: item.kind, name: item.name, at: new Date().toISOString(), ...detail });
    await this.target.writeFile(itemKey(item), APPLY_LOG, `${before}${line}\n`);
  }

  /** What a policy, trusted root or network item puts in place; undefined for the others. */
  private async plan(item: AssignedItem, deviceName?: string | null): Promise<(Plan & { detail?: string | null }) | undefined> {
    switch (item.kind) {
      case 'policy':
        return policyPlan(this.target, item, deviceName);
      case 'network':
        return networkPlan(this.target, item);
      case 'certificate':
        return item.payload.type === 'trusted-root' ? trustedRootPlan({ name: item.name, payload: item.payload }) : undefined;
      default:
        return undefined;
    }
  }

  async applyOobe(settings: OobeSettings): Promise<void> {
    await carryOut(this.target, 'oobe', await oobePlan(this.target, settings));
  }

  async detect(item: AssignedItem, deviceName?: string | null): Promise<boolean> {
    if (item.kind === 'app') return appDetected(this.target, item);
    if (item.kind === 'script') return markerInPlace(this.target, scriptMarker(item));
    if (item.kind === 'certificate' && item.payload.type === 'device-client') return clientCertificateInPlace(this.target, item.name);
    return inPlace(this.target, (await this.plan(item, deviceName))!);
  }

  async apply(item: AssignedItem, context: ApplyContext): Promise<ApplyResult> {
    const key = itemKey(item);
    // The helper changes the system only for items the service assigned: it asks with this token.
    const token = await context.authorization?.();
    if (token) this.target.authorize?.(token);
    let result: ApplyResult;
    /** What the apply log names as this item's place on the device. */
    let places: string[];
    if (item.kind === 'app') {
      result = await installApp(this.target, key, item, context);
      places = [item.payload.installer === 'deb' ? `dpkg:${item.payload.package}` : `/opt/${item.payload.package}`];
    } else if (item.kind === 'script') {
      result = await runScriptItem(this.target, key, item, context);
      places = [scriptLog(item.name)];
    } else if (item.kind === 'certificate' && item.payload.type === 'device-client') {
      await issueClientCertificate(this.target, key, item, context);
      result = { rebootRequired: false, detail: 'Key in the TPM; certificate issued' };
      places = Object.values(clientCertificatePaths(item.name));
    } else {
      const plan = (await this.plan(item, context.deviceName))!;
      await carryOut(this.target, key, plan);
      result = { rebootRequired: false, detail: plan.detail ?? null };
      places = plan.files.map((file) => file.path);
    }
    await this.logApplied(item, {
      places,
      ...(item.kind === 'app' ? { package: item.payload.package, version: item.payload.version } : {}),
      ...(result.rebootRequired ? { rebootRequired: true } : {}),
    });
    return result;
  }

  async deviceLogs(items: readonly AssignedItem[]): Promise<{ path: string; content: Buffer }[]> {
    const paths = [APPLY_LOG, PLACES.osUpdatesLog];
    for (const item of items) {
      if (item.kind === 'script') paths.push(scriptLog(item.name));
      // Whichever installer ran (apt, a shell installer), its output is at the app's one installer log.
      if (item.kind === 'app') paths.push(installerLog(item.payload.package));
    }
    const logs: { path: string; content: Buffer }[] = [];
    for (const path of paths) {
      const content = await this.target.readFile(path).catch(() => null);
      if (content) logs.push({ path, content });
    }
    return logs;
  }

  applyOsUpdates(request: { mode: 'security' | 'packages'; packages: string[]; timeoutSeconds: number }): Promise<OsUpdateResult> {
    return this.target.upgradePackages({ ...request, logPath: PLACES.osUpdatesLog });
  }

  restartForUpdates(): Promise<boolean> {
    return this.target.reboot();
  }

  async configureEndState(endState: DeploymentProfile['endState'], device: EndStateDevice): Promise<void> {
    // Everything is planned (and checked) before anything is changed.
    const plans: Plan[] = [];
    if (device.deviceName) plans.push(await deviceNamePlan(this.target, device.deviceName));
    const organization = device.branding.organizationName;
    plans.push({ files: [{ path: PLACES.endState, content: JSON.stringify({ ...endState, organization }, null, 2) + '\n', mode: 0o644 }], commands: [] });
    if (endState.type === 'kiosk') plans.push(await kioskPlan(this.target, endState, organization));
    else {
      if (endState.directory) plans.push(await directoryPlan(this.target, endState.directory, device.primaryUser ?? null, endState.sharedDevice, device.deviceName ?? null));
      if (endState.sharedDevice) plans.push(sharedDevicePlan(endState.sharedDevice, endState.directory !== null));
      // GDM reads its login screen from a dconf database, which dconf compiles (gdm3 depends on it);
      // LightDM's GTK greeter its drop-ins. A scratch target (a lab, an image) gets both.
      const live = this.target.live;
      const gdm = !live || (await this.target.probe(['dconf', 'help'], 10));
      const lightdm = !live || (await installedDebs(this.target)).has('lightdm-gtk-greeter');
      if (gdm || lightdm) plans.push(loginScreenPlan(device.branding, endState.message, { gdm, lightdm }));
    }
    for (const plan of plans) await carryOut(this.target, 'end-state', plan);
  }

  async updateDirectorySignIn(signIn: SignInEndState & { directory: Directory }, primaryUser: string | null): Promise<boolean> {
    const plan = await directoryPlan(this.target, signIn.directory, primaryUser, signIn.sharedDevice);
    if (await inPlace(this.target, plan)) return false;
    await carryOut(this.target, 'end-state', plan);
    return true;
  }
}

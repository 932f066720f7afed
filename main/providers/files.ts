// The file providers: apply Device setup items, OOBE settings and the end state to a target — the
// system's own places under its root: "/" on a device (through the privileged helper), a scratch
// directory in labs and tests. Each kind has its module here (policies, networks, apps, system,
// kiosk); this class dispatches, keeps the apply log and answers `detect` from what is in place.
// Every change goes through the target, which refuses paths that leave the root and records each
// change before making it, so "Reset device" undoes it all.
import { X509Certificate } from 'node:crypto';

import type { DeployProfileResponse } from '../../protocol/api/deploy.js';
import { itemKey, type AssignedItem } from '../../protocol/items.js';
import type { DeploymentProfile } from '../../protocol/profile.js';
import type { ApplyContext, ApplyResult, ProvidersPort } from '../deploy/ports.js';
import { appDetected, installApp, markerInPlace, runScriptItem, scriptMarker } from './apps.js';
import { kioskPlan } from './kiosk.js';
import { networkPlan } from './networks.js';
import { carryOut, inPlace, ItemError, safe, textOf, type Plan } from './placed.js';
import { policyPlan } from './policies.js';
import { deviceNamePlan, oobePlan, type OobeSettings } from './system.js';
import type { TargetPort } from './target.js';


export const APPLY_LOG = '/var/log/selfdeploy/applied.log';

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

  /** What a policy, certificate or network item puts in place; undefined for apps and scripts. */
  private async plan(item: AssignedItem): Promise<(Plan & { detail?: string | null }) | undefined> {
    switch (item.kind) {
      case 'policy':
        return policyPlan(this.target, item);
      case 'network':
        return networkPlan(this.target, item);
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
        return {
          files: [{ path: `/usr/local/share/ca-certificates/selfdeploy/${safe(item.name, 'certificate')}.crt`, content: certificate.toString(), mode: 0o644 }],
          commands: [{ argv: ['update-ca-certificates'], inverse: ['update-ca-certificates', '--fresh'] }],
        };
      }
      default:
        return undefined;
    }
  }

  async applyOobe(settings: OobeSettings): Promise<void> {
    await carryOut(this.target, 'oobe', await oobePlan(this.target, settings));
  }

  async detect(item: AssignedItem): Promise<boolean> {
    if (item.kind === 'app') return appDetected(this.target, item);
    if (item.kind === 'script') return markerInPlace(this.target, scriptMarker(item));
    return inPlace(this.target, (await this.plan(item))!);
  }

  async apply(item: AssignedItem, context: ApplyContext): Promise<ApplyResult> {
    const key = itemKey(item);
    let result: ApplyResult;
    if (item.kind === 'app') result = await installApp(this.target, key, item, context);
    else if (item.kind === 'script') result = await runScriptItem(this.target, key, item, context);
    else {
      const plan = (await this.plan(item))!;
      await carryOut(this.target, key, plan);
      result = { rebootRequired: false, detail: plan.detail ?? null };
    }
    await this.logApplied(item, { ...(item.kind === 'app' ? { package: item.payload.package, version: item.payload.version } : {}), ...(result.rebootRequired ? { rebootRequired: true } : {}) });
    return result;
  }

  async configureEndState(endState: DeploymentProfile['endState'], device: { deviceName: string | null; branding: DeployProfileResponse['branding'] }): Promise<void> {
    // Everything is planned (and checked) before anything is changed.
    const plans: Plan[] = [];
    if (device.deviceName) plans.push(await deviceNamePlan(this.target, device.deviceName));
    const organization = device.branding.organizationName;
    plans.push({ files: [{ path: '/etc/selfdeploy/end-state.json', content: JSON.stringify({ ...endState, organization }, null, 2) + '\n', mode: 0o644 }], commands: [] });
    if (endState.type === 'kiosk') plans.push(await kioskPlan(this.target, endState, organization));
    for (const plan of plans) await carryOut(this.target, 'end-state', plan);
  }
}

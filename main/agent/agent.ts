// The agent's composition root: the service address and CA checked, the state directory and its
// log, the TPM, the executor of device setup, the client, the update source — and engines over
// them, one per run. Every host starts the agent here: `selfdeploy deploy` (terminal ESP),
// `selfdeploy ui` (the React ESP on the dev host) and the Electron app.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

import si from 'systeminformation';

import { UsageError } from '../../protocol/errors/report.js';
import { readCaCertificate } from '../../protocol/node/input-file.js';
import type { EspFailure } from '../../protocol/esp.js';
import type { Diagnostics, OobeChoice, OobePage } from '../../protocol/ipc.js';
import { DeviceApi } from '../backend-client/device-api.js';
import { agentLog } from '../deploy/diagnostics.js';
import { DeployEngine } from '../deploy/engine.js';
import { FileJournal, StateDirError } from '../deploy/journal.js';
import { SystemNetwork } from '../network/system.js';
import { BundleUpdates } from '../updates/bundle.js';
import { FeedClient } from '../updates/feed.js';
import { PackageUpdates } from '../updates/package.js';
import { HelperTarget } from '../helper/client.js';
import { statePath } from '../storage/state-dir.js';
import { openTarget, type Executor } from './executor.js';
import { EnrollmentStore } from '../enrollment/state.js';
import { TpmEnrollment } from '../enrollment/tpm-enrollment.js';
import { VendorEkCertificates } from '../enrollment/vendor-ek-certificates.js';
import { FileIdentitySource, SystemIdentitySource, tpmReport, type IdentitySource } from '../identity/identity.js';
import { runTpmCheck, type CheckLine } from './tpm-check.js';
import { FileProviders } from '../providers/files.js';
import { Tpm } from '../tpm/tpm.js';
import { agentVersion } from '../installation/version.js';

export interface AgentOptions {
  server: string;
  ca: string;
  tcti?: string | undefined;
  executor: Executor;
  state: string;
  identity?: string | undefined;
  preflightWaitSeconds?: number | undefined;
  /** The Wi-Fi to join when no network is up (headless deploy). */
  wifi?: { ssid: string; psk: string | null } | undefined;
  /**
   * How critical updates install: versioned bundles and a restart of this process (the CLIs,
   * default), or the packaged app's deb through selfdeploy-helper (the Electron app).
   */
  updates?: 'bundle' | 'package';
}

/** Checks --server and --ca before anything starts. */
export function serviceOf(options: Pick<AgentOptions, 'server' | 'ca'>): { server: URL; ca: string } {
  let server: URL;
  try {
    server = new URL(options.server);
  } catch {
    throw new UsageError(`--server must be a URL such as https://deploy.example:8443, not "${options.server}"`);
  }
  if (server.protocol !== 'https:') throw new UsageError('--server must be an https:// URL');
  return { server, ca: readCaCertificate(options.ca, '--ca') };
}

/**
 * What the diagnostics panel shows of the agent: its installed version, the service it enrolls
 * into, and the TPM — its connection and the manufacturer the TPM itself reports (null when no TPM
 * is open yet or it does not answer).
 */
export async function agentFacts(parts: { server: URL; tcti: string | undefined; tpm: Pick<Tpm, 'manufacturer'> | undefined; check?: () => Promise<CheckLine[]> }): Promise<Omit<Diagnostics, 'logTail'>> {
  const check = parts.tpm && parts.check ? await parts.check().catch(() => null) : null;
  return {
    agentVersion: agentVersion(),
    service: parts.server.origin,
    tpm: { tcti: parts.tcti ?? null, manufacturer: parts.tpm ? await parts.tpm.manufacturer().catch(() => null) : null },
    tpmCheck: check && check.map(({ check: name, status, message, code }) => ({ check: name, status, message: message.slice(0, 1000), code })),
  };
}

/**
 * The TPM check of the diagnostics panel: `selfdeploy tpm check` over the agent's open TPM and its
 * service, an EK certificate from the vendor counting only when fetched before (the panel waits on no vendor).
 */
export function diagnosticsTpmCheck(parts: { tpm: Tpm; service: { server: URL; ca: string }; state: string; identity: IdentitySource }): Promise<CheckLine[]> {
  return runTpmCheck({ tpm: parts.tpm, service: parts.service, vendor: new VendorEkCertificates({ cacheFile: statePath(parts.state, 'ekCertificate') }), askVendor: false, services: () => [], identity: parts.identity });
}

function identityOf(options: Pick<AgentOptions, 'identity'>): IdentitySource {
  return options.identity ? new FileIdentitySource(options.identity) : new SystemIdentitySource();
}

export interface Agent {
  journal: FileJournal;
  network: SystemNetwork;
  log: (event: string, detail?: Record<string, unknown>) => void;
  /** What the diagnostics panel shows of the agent: version, service, TPM. */
  facts(): Promise<Omit<Diagnostics, 'logTail'>>;
  /** A new engine over the same TPM, client and target (a run: the first, Try again, after Reset). */
  engine(decideContinue: (failure: EspFailure) => Promise<boolean>, askOobe?: (pages: OobePage[]) => Promise<OobeChoice>): Promise<DeployEngine>;
  close(): Promise<void>;
}

function markProvisioned(state: string, log: Agent['log']): void {
  const file = statePath(state, 'provisioned');
  try {
    writeFileSync(`${file}.tmp`, `${new Date().toISOString()}\n`, { mode: 0o644 });
    renameSync(`${file}.tmp`, file);
  } catch (error) {
    log('agent.provisioned-mark-failed', { file, reason: (error as Error).message });
  }
}

export async function openAgent(options: AgentOptions, service: { server: URL; ca: string }, journal = new FileJournal(options.state)): Promise<Agent> {
  try {
    mkdirSync(options.state, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StateDirError(`cannot create the state directory ${options.state}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const log = agentLog(options.state);
  const setup = await openTarget(options.state, options.executor);
  // The TPM is opened by the first engine that needs it: without one, the run fails with
  // TPM_UNAVAILABLE (on the ESP, with Try again) instead of the agent failing to start.
  let tpm: Tpm | undefined;
  const openTpm = async () => (tpm ??= await Tpm.open(options.tcti === undefined ? {} : { tcti: options.tcti }));
  const api = new DeviceApi({ server: service.server, ca: service.ca, timeoutMs: 30_000 });
  // The update feed (public, read before enrollment): critical releases install as bundles in the state directory.
  const updates =
    options.updates === 'package'
      ? setup.target instanceof HelperTarget
        ? new PackageUpdates(new FeedClient(api.http, statePath(options.state, 'content'), true), setup.target)
        : undefined // the app without the helper (a lab root): no package updates
      : new BundleUpdates(new FeedClient(api.http, statePath(options.state, 'updates')), options.state);
  const network = new SystemNetwork();
  const os = await si.osInfo();
  return {
    journal,
    network,
    log,
    engine: async (decideContinue, askOobe) => {
      const opened = await openTpm();
      const identity = identityOf(options);
      const engine = new DeployEngine({
        tpm: opened,
        identity,
        api,
        providers: new FileProviders(setup.target),
        journal,
        enrollment: new TpmEnrollment({ tpm: opened, api, store: new EnrollmentStore(options.state), tpmReport: () => tpmReport(opened, identity), vendorCertificates: new VendorEkCertificates({ cacheFile: statePath(options.state, 'ekCertificate'), log }), log }),
        network,
        contentDir: statePath(options.state, 'content'),
        agent: { version: agentVersion(), os: { name: os.distro, version: os.release, kernel: os.kernel }, hostname: hostname() },
        ...(options.preflightWaitSeconds !== undefined ? { preflightWaitMs: options.preflightWaitSeconds * 1000 } : {}),
        ...(options.wifi ? { wifi: options.wifi } : {}),
        decideContinue,
        ...(askOobe ? { askOobe } : {}),
        ...(updates ? { updates } : {}),
        log,
      });
      // Provisioned: the mark the first-boot unit checks (selfdeploy-firstboot.service), whichever host ran the engine.
      engine.subscribe((event) => {
        if (event.type === 'succeeded') markProvisioned(options.state, log);
      });
      return engine;
    },
    facts: () => agentFacts({ server: service.server, tcti: options.tcti, tpm, check: () => diagnosticsTpmCheck({ tpm: tpm!, service, state: options.state, identity: identityOf(options) }) }),
    close: async () => {
      api.close();
      setup.close();
      await tpm?.close();
    },
  };
}

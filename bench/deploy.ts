// `npm run bench:deploy`: the wall time of a headless self-deploy, split by step, beside the sum
// of the raw TPM operations it needs (through the same addon, on the same swtpm, in the same
// run). The engine runs in-process against the real service over HTTPS on loopback (SQLite) with
// the demo tenant, so the split shows where the time goes: TPM, service round trips, device setup.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { FastifyInstance } from 'fastify';

import { admin as adminApi } from '../protocol/api/endpoints.js';
import { PHASES, type StepId } from '../protocol/esp.js';
import { makeCredential } from '../protocol/node/credential.js';
import { ServiceClient } from '../protocol/node/https-client.js';
import { tpmName } from '../protocol/node/tpm-crypto.js';
import { TpmAlg } from '../protocol/tpm/constants.js';
import { parseTpm2bPublic } from '../protocol/tpm/public.js';
import { buildApp } from '../backend/http/app.js';
import { Store } from '../backend/store/store.js';
import { DataDir } from '../backend/tenant/data-dir.js';
import { initTenant } from '../backend/tenant/init.js';
import { clientAdminCall, seedDemoTenant } from '../lab/demo-tenant.js';
import { SwtpmLab } from '../lab/swtpm.js';
import { DeviceApi } from '../main/backend-client/device-api.js';
import { DeployEngine } from '../main/deploy/engine.js';
import { FileJournal } from '../main/deploy/journal.js';
import { SystemNetwork } from '../main/network/system.js';
import { localTarget } from '../main/agent/executor.js';
import { EnrollmentStore } from '../main/enrollment/state.js';
import { TpmEnrollment } from '../main/enrollment/tpm-enrollment.js';
import { statePath } from '../main/storage/state-dir.js';
import { FileIdentitySource, readDeviceIdentity } from '../main/identity/identity.js';
import { FileProviders } from '../main/providers/files.js';
import { Tpm } from '../main/tpm/tpm.js';

export interface DeployBench {
  runs: number;
  /** Median milliseconds per step (steps that ran). */
  steps: { step: StepId; title: string; medianMs: number }[];
  wholeMedianMs: number;
  /** Median milliseconds of each raw TPM operation a self-deploy needs, through the addon. */
  tpmOperations: { operation: string; count: number; medianMs: number }[];
  tpmSumMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timed(runs: number, operation: () => Promise<unknown>): Promise<number> {
  await operation(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await operation();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** The TPM operations of one self-deploy, each timed through the addon on the same TPM. */
async function tpmBaseline(tcti: string, runs: number): Promise<DeployBench['tpmOperations']> {
  const tpm = await Tpm.open({ tcti });
  try {
    const { ek } = await tpm.primaryEk();
    const ak = await tpm.createAk('ecc');
    const deviceKey = await tpm.createDeviceKey();
    const nonce = randomBytes(32);
    const credential = makeCredential(ek.area, tpmName(parseTpm2bPublic(ak.public)), randomBytes(32));
    const pcrs = [{ hashAlg: TpmAlg.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }];
    // What the agent does: identity (manufacturer, EK), attest (AK, activate, quote), join (device
    // key, certify, CSR signature), sign-in (assertion signature), and loading its keys back.
    return [
      { operation: 'manufacturer (GetCapability)', count: 1, medianMs: await timed(runs, () => tpm.manufacturer()) },
      { operation: 'EK public + certificates', count: 2, medianMs: await timed(runs, () => tpm.primaryEk()) },
      { operation: 'create AK', count: 1, medianMs: await timed(runs, () => tpm.createAk('ecc')) },
      { operation: 'create device key', count: 1, medianMs: await timed(runs, () => tpm.createDeviceKey()) },
      { operation: 'load key', count: 2, medianMs: await timed(runs, () => tpm.loadKey(ak)) },
      { operation: 'ActivateCredential', count: 1, medianMs: await timed(runs, () => tpm.activateCredential({ ak, ek: ek.kind, credentialBlob: credential.idObject, secret: credential.encryptedSecret })) },
      { operation: 'quote PCR 0-7', count: 1, medianMs: await timed(runs, () => tpm.quote({ ak, qualifyingData: nonce, pcrs })) },
      { operation: 'certify device key', count: 1, medianMs: await timed(runs, () => tpm.certify({ key: deviceKey, ak, qualifyingData: nonce })) },
      { operation: 'sign (CSR, assertion)', count: 2, medianMs: await timed(runs, () => tpm.signMessage({ key: deviceKey, message: nonce })) },
    ];
  } finally {
    await tpm.close();
  }
}

export async function runDeployBench(options: { runs?: number; log?: (line: string) => void } = {}): Promise<DeployBench> {
  const runs = options.runs ?? 5;
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-bench-deploy-'));
  const lab = await SwtpmLab.create();
  let app: FastifyInstance | undefined;
  let store: Store | undefined;
  let admin: ServiceClient | undefined;
  try {
    const labTpm = await lab.startTpm();
    const dataDir = join(dir, 'service');
    const init = await initTenant({ dataDir, organizationName: 'Bench', swtpmLocalCa: join(lab.dir, 'ca') });
    const data = new DataDir(dataDir);
    store = await Store.open(`sqlite:${join(dataDir, 'selfdeploy.db')}`);
    let origin = '';
    app = await buildApp({
      store,
      version: 'bench',
      logger: false,
      publicUrls: () => [origin],
      deviceCa: data.deviceCa(),
      deviceRateLimitPerMinute: 100_000,
      https: { key: data.read(data.tlsKeyPath, 'key'), cert: data.read(data.tlsCertPath, 'certificate') },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const server = new URL(`https://127.0.0.1:${(app.server.address() as { port: number }).port}`);
    origin = server.origin;
    const ca = data.read(data.serviceCaPath, 'service CA');
    admin = new ServiceClient({ server, ca, headers: { authorization: `Bearer ${init.adminToken}` } });
    const call = clientAdminCall(admin);

    const identityFile = join(dir, 'identity.json');
    writeFileSync(identityFile, JSON.stringify({ serial: 'BENCH-0001', manufacturer: 'selfdeploy lab', model: 'swtpm VM' }));
    const tpm = await Tpm.open({ tcti: labTpm.tcti });
    const device = await readDeviceIdentity(new FileIdentitySource(identityFile), tpm);
    const { id } = await call(adminApi.devices.add, { body: { hardwareHash: device.hardwareHash } });
    await seedDemoTenant(call, { deviceId: id, rootCaPem: ca });

    const perStep = new Map<StepId, number[]>();
    const whole: number[] = [];
    const api = new DeviceApi({ server, ca });
    try {
      for (let run = 0; run <= runs; run++) {
        const state = join(dir, `state-${run}`);
        const root = join(dir, `root-${run}`);
        mkdirSync(state, { recursive: true });
        const engine = new DeployEngine({
          tpm,
          identity: new FileIdentitySource(identityFile),
          api,
          providers: new FileProviders(localTarget(state, root)),
          journal: new FileJournal(state),
          enrollment: new TpmEnrollment({ tpm, api, store: new EnrollmentStore(state) }),
          network: new SystemNetwork(),
          contentDir: statePath(state, 'content'),
          agent: { version: 'bench', os: { name: 'Debian', version: '12', kernel: 'bench' }, hostname: hostname() },
        });
        const started = performance.now();
        const outcome = await engine.run();
        const elapsed = performance.now() - started;
        if (outcome.status === 'failed') throw new Error(`the self-deploy failed: ${outcome.failure.code} ${outcome.failure.detail ?? ''}`);
        if (outcome.status === 'restart') throw new Error(`the self-deploy wants to restart for update ${outcome.version}`);
        await call(adminApi.devices.deleteRecord, { params: { id } });
        if (run === 0) continue; // warm-up
        whole.push(elapsed);
        for (const phase of engine.current().phases) {
          for (const step of phase.steps) {
            if (!step.startedAt || !step.finishedAt) continue;
            const list = perStep.get(step.id) ?? [];
            list.push(Date.parse(step.finishedAt) - Date.parse(step.startedAt));
            perStep.set(step.id, list);
          }
        }
        log(`self-deploy ${run}/${runs}: ${elapsed.toFixed(0)} ms`);
      }
    } finally {
      api.close();
      await tpm.close();
    }
    const titles = Object.values(PHASES).flatMap((p) => p.steps);
    const steps = titles.filter((s) => perStep.has(s)).map((step) => ({ step, title: step, medianMs: median(perStep.get(step)!) }));
    log('timing the raw TPM operations');
    const tpmOperations = await tpmBaseline(labTpm.tcti, Math.max(5, runs));
    return { runs, steps, wholeMedianMs: median(whole), tpmOperations, tpmSumMs: tpmOperations.reduce((sum, op) => sum + op.count * op.medianMs, 0) };
  } finally {
    admin?.close();
    await app?.close();
    await store?.close();
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatDeployBench(bench: DeployBench): string {
  const tpmSteps = ['securing-hardware', 'joining'];
  const enrollmentMs = bench.steps.filter((s) => tpmSteps.includes(s.step)).reduce((sum, s) => sum + s.medianMs, 0);
  return [
    `Median of ${bench.runs} headless self-deploys (after a warm-up), each from an empty state directory.`,
    '',
    '| Step | Median ms | Share of the whole |',
    '|---|---:|---:|',
    ...bench.steps.map((s) => `| ${s.step} | ${s.medianMs.toFixed(1)} | ${((100 * s.medianMs) / bench.wholeMedianMs).toFixed(1)} % |`),
    `| **whole self-deploy** | **${bench.wholeMedianMs.toFixed(1)}** | 100 % |`,
    '',
    '| Raw TPM operation (addon, same swtpm) | Times per deploy | Median ms |',
    '|---|---:|---:|',
    ...bench.tpmOperations.map((op) => `| ${op.operation} | ${op.count} | ${op.medianMs.toFixed(2)} |`),
    `| **sum per self-deploy** | | **${bench.tpmSumMs.toFixed(1)}** |`,
    '',
    `Whole self-deploy / its raw TPM operations: **${(bench.wholeMedianMs / bench.tpmSumMs).toFixed(1)}×**; ` +
      `securing the hardware + joining (${enrollmentMs.toFixed(1)} ms) / the raw TPM operations: **${(enrollmentMs / bench.tpmSumMs).toFixed(2)}×**.`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runs = Number(process.env['BENCH_ITERATIONS'] ?? 5);
  process.stdout.write(`Self-deploy benchmark: ${runs} runs\n`);
  const bench = await runDeployBench({ runs, log: (line) => process.stderr.write(`  ${line}\n`) });
  process.stdout.write(`${formatDeployBench(bench)}\n`);
  const results = join(import.meta.dirname, '..', '..', 'bench', 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'deploy-latest.json'), JSON.stringify({ measuredAt: new Date().toISOString(), ...bench }, null, 2) + '\n');
}

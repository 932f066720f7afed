// `npm run lab`: the whole product on embedded defaults, headless — a swtpm with EK certificates
// from the lab's own CA, the deployment service on SQLite over HTTPS on loopback, a demo tenant,
// the lab device registered from its own hardware hash, and the agent run to the kiosk. Everything
// lives in the lab directory (.lab); a second run re-deploys the same device.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { admin } from '../protocol/api/endpoints.js';
import { ServiceClient, ServiceProblem } from '../protocol/node/https-client.js';
import { DataDir } from '../backend/tenant/data-dir.js';
import { initTenant } from '../backend/tenant/init.js';
import { FileIdentitySource, readDeviceIdentity } from '../main/identity/identity.js';
import { CHROMIUM } from '../main/host/kiosk/chromium.js';
import { INSTALLED, agentCli, packageRoot } from '../main/installation/layout.js';
import { STATE_FILES } from '../main/storage/state-dir.js';
import { Tpm } from '../main/tpm/tpm.js';
import { DEMO_GROUP, clientAdminCall, seedDemoTenant } from './demo-tenant.js';
import { startServiceProcess, stopProcess, type ServiceProcess } from './service-process.js';
import { SwtpmLab } from './swtpm.js';
import { VisitorSite } from './visitor-site.js';

const AGENT_CLI = agentCli();

export interface ProductLabOptions {
  dir: string;
  /** Stop everything once the agent finished, instead of running until Ctrl-C. */
  once: boolean;
  /** The graphical ESP (`selfdeploy ui`, the dev host) instead of the terminal ESP. */
  ui?: boolean;
  print: (line?: string) => void;
}

/** What the lab device ended as, and where each item landed (from the apply log). */
function describeDevice(rootPath: string, rel: (path: string) => string, print: (line?: string) => void): void {
  const kiosk = JSON.parse(readFileSync(join(rootPath, 'etc', 'selfdeploy', 'end-state.json'), 'utf8')) as { type: string; mode?: string; homeUrl?: string; localAccount?: { name: string } };
  print(
    kiosk.type === 'kiosk'
      ? `The lab device ends at the kiosk: ${kiosk.mode} mode, auto-logon as "${kiosk.localAccount?.name}", home ${kiosk.homeUrl}.`
      : 'The lab device ends at the sign-in screen.',
  );
  print(`What device setup put in place under ${rel(rootPath)}:`);
  for (const line of readFileSync(join(rootPath, 'var', 'log', 'selfdeploy', 'applied.log'), 'utf8').split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { kind: string; name: string; places?: string[] };
    const places = entry.places ?? [];
    print(`  ${entry.kind.padEnd(12)} ${entry.name.padEnd(16)} ${places[0] ?? ''}${places.length > 1 ? ` (+${places.length - 1} more)` : ''}`);
  }
  for (const [what, path] of [['time zone', 'etc/timezone'], ['device name', 'etc/hostname']] as const) {
    if (existsSync(join(rootPath, path))) print(`  ${'device'.padEnd(12)} ${what.padEnd(16)} /${path} (${readFileSync(join(rootPath, path), 'utf8').trim()})`);
  }
  if (kiosk.type === 'kiosk') print(`  ${'end state'.padEnd(12)} ${'kiosk'.padEnd(16)} /usr/lib/selfdeploy/kiosk-session, /etc/gdm3/custom.conf, /etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf`);
}

/**
 * 5. The kiosk browser on what device setup wrote (`selfdeploy kiosk`), over the demo's visitor
 * site on loopback: full screen where a display exists, headless otherwise; it prints what the
 * kiosk shows once it landed on the home URL.
 */
async function startKiosk(rootPath: string, rel: (path: string) => string, print: (line?: string) => void): Promise<{ close(): Promise<void> } | undefined> {
  const config = join(rootPath, 'etc', 'selfdeploy', 'kiosk.json');
  if (!existsSync(config)) return undefined;
  if (!existsSync(CHROMIUM)) {
    print(`lab: ${CHROMIUM} is missing (apt-get install chromium): the kiosk browser is not started`);
    return undefined;
  }
  const site = await VisitorSite.start();
  const display = Boolean(process.env['DISPLAY'] || process.env['WAYLAND_DISPLAY']);
  const args = ['kiosk', '--config', config, ...(display ? [] : ['--headless']), ...site.chromiumArgs.map((arg) => `--browser-arg=${arg}`)];
  print();
  print(`$ selfdeploy kiosk --config ${rel(config)}${display ? '' : ' --headless'} (+ the lab's host mapping for the visitor site)`);
  const child = spawn(process.execPath, [AGENT_CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = await new Promise<{ url: string; title: string } | null>((done) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const entry = JSON.parse(line) as { event: string; url?: string; title?: string };
        if (entry.event === 'kiosk.started') done({ url: entry.url!, title: entry.title! });
        else if (entry.event !== 'kiosk.stopped') print(`kiosk: ${line}`);
      }
    });
    child.once('exit', () => done(null));
  });
  print(started ? `lab: the kiosk browser shows "${started.title}" at ${started.url}${display ? '' : ' (headless: no display here)'}` : 'lab: the kiosk browser did not start (see above)');
  return {
    close: async () => {
      await stopProcess(child);
      await site.close();
    },
  };
}

export async function productLab(options: ProductLabOptions): Promise<number> {
  const { print } = options;
  const dir = resolve(options.dir);
  const rel = (path: string) => relative(process.cwd(), path) || '.';
  const serviceDir = join(dir, 'service');
  const deviceDir = join(dir, 'device');
  mkdirSync(deviceDir, { recursive: true, mode: 0o700 });

  const lab = await SwtpmLab.create({ dir, keep: true, log: (line) => print(`lab: ${line}`) });
  let service: ServiceProcess | undefined;
  let ui: ChildProcess | undefined;
  let kiosk: { close(): Promise<void> } | undefined;
  let client: ServiceClient | undefined;
  try {
    // 1. The TPM.
    if (lab.tpms.length === 0) await lab.provisionMany(1);
    const tpm = lab.tpms[0]!;
    await tpm.start();
    print(`lab: swtpm ${tpm.name} on ${tpm.tcti} (EK certificates from the lab CA ${rel(lab.caRootCertPath)})`);

    // 2. The service: a tenant on SQLite that trusts the lab CA, then `selfdeploy-server start`.
    const data = new DataDir(serviceDir);
    const tokenFile = join(serviceDir, 'lab-admin-token');
    if (!data.initialized) {
      print('lab: creating the tenant "Fabrikam Lobby" (SQLite) that trusts the lab TPM CA and, being a lab, allows virtual TPMs (swtpm)');
      const result = await initTenant({ dataDir: serviceDir, organizationName: 'Fabrikam Lobby', swtpmLocalCa: join(lab.dir, 'ca') });
      writeFileSync(tokenFile, `${result.adminToken}\n`, { mode: 0o600 });
    }
    const token = readFileSync(tokenFile, 'utf8').trim();
    const ca = readFileSync(data.serviceCaPath, 'utf8');
    service = await startServiceProcess(serviceDir, ca);
    const { url, log } = service;
    client = new ServiceClient({ server: url, ca, headers: { authorization: `Bearer ${token}` }, timeoutMs: 30_000 });
    print(`lab: service on ${url.origin} (log ${rel(log)})`);
    const adminConfig = join(dir, 'admin.json');
    writeFileSync(adminConfig, JSON.stringify({ server: url.origin, ca: data.serviceCaPath, token }, null, 2) + '\n', { mode: 0o600 });

    // 3. The lab device: its identity (a VM has no serial), its hash, its registration.
    const identityFile = join(deviceDir, 'identity.json');
    if (!existsSync(identityFile)) {
      const serial = `LAB-${randomBytes(3).toString('hex').toUpperCase()}`;
      writeFileSync(identityFile, JSON.stringify({ serial, manufacturer: 'selfdeploy lab', model: 'swtpm VM' }, null, 2) + '\n');
    }
    const handle = await Tpm.open({ tcti: tpm.tcti });
    const device = await readDeviceIdentity(new FileIdentitySource(identityFile), handle).finally(() => handle.close());
    const serial = device.identity.serial;
    const call = clientAdminCall(client);
    const page = await call(admin.devices.list, { query: { serialPrefix: serial } });
    let registered = page.items.find((d) => d.serial === serial);
    const statePath = join(deviceDir, 'state');
    const rootPath = join(deviceDir, 'root');
    if (registered && registered.state !== 'registered') {
      print(`lab: ${serial} was deployed before; deleting its device record so that it self-deploys again`);
      await call(admin.devices.deleteRecord, { params: { id: registered.id } });
    }
    rmSync(statePath, { recursive: true, force: true });
    rmSync(rootPath, { recursive: true, force: true });
    if (!registered) {
      registered = await call(admin.devices.add, { body: { hardwareHash: device.hardwareHash } });
      print(`lab: registered ${serial} from its hardware hash`);
    }
    let seeded = true;
    try {
      await call(admin.groups.get, { params: { name: DEMO_GROUP } });
    } catch (error) {
      if (!(error instanceof ServiceProblem && error.code === 'NOT_FOUND')) throw error;
      seeded = false;
    }
    if (!seeded) {
      print('lab: demo tenant: branding, kiosk profile, policies (password, Chromium), certificates (a trusted root, a TPM-held client certificate), networks (Wi-Fi, wired 802.1X), an app package (.deb) and a script');
      await seedDemoTenant(call, { deviceId: registered.id, rootCaPem: ca });
    }

    // 4. The agent, to the end: the terminal ESP, or (--ui) the React ESP on the dev host.
    print();
    const agentArgs = ['--server', url.origin, '--ca', data.serviceCaPath, '--tcti', tpm.tcti, '--root', rootPath, '--state', statePath, '--identity', identityFile];
    print(`$ selfdeploy ${options.ui ? 'ui' : 'deploy'} --server ${url.origin} --ca ${rel(data.serviceCaPath)} --tcti ${tpm.tcti} --root ${rel(rootPath)} --state ${rel(statePath)} --identity ${rel(identityFile)}${options.ui ? ' --open' : ''}`);
    let status: number;
    if (options.ui) {
      ui = spawn(process.execPath, [AGENT_CLI, 'ui', ...agentArgs, '--open'], { stdio: ['ignore', 'pipe', 'inherit'] });
      status = await new Promise<number>((done) => {
        let buffered = '';
        ui!.stdout!.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            print(line);
            // The first outcome decides; the ESP keeps serving (Try again, Reset) until Ctrl-C.
            if (line.startsWith('Provisioned:')) done(0);
            if (line.startsWith('Setup stopped:')) done(1);
          }
        });
        ui!.once('exit', (code) => done(code ?? 1));
      });
    } else {
      status = await new Promise<number>((done) => {
        const agent = spawn(process.execPath, [AGENT_CLI, 'deploy', ...agentArgs], { stdio: 'inherit' });
        agent.once('exit', (code) => done(code ?? 1));
      });
    }
    print();
    if (status !== 0) {
      print(`lab: the agent failed (status ${status}); the service log is ${rel(log)}`);
      if (!options.ui || options.once) return status;
    }
    if (status === 0) {
      describeDevice(rootPath, rel, print);
      kiosk = await startKiosk(rootPath, rel, print);
    }
    print('Where to look:');
    print(`  what the device got    find ${rel(rootPath)} -type f`);
    print(`  its journal            ${rel(join(statePath, STATE_FILES.journal))}`);
    print(`  the service            ${url.origin} (log ${rel(log)})`);
    print(`  admin CLI              node ${rel(join(packageRoot(), INSTALLED.adminCli))} --config ${rel(adminConfig)} devices esp ${serial}`);
    if (options.once) return 0;
    print();
    print('The service and the TPM run until you press Ctrl-C.');
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    print('\nlab: stopping');
    return 0;
  } finally {
    await kiosk?.close();
    await stopProcess(ui);
    client?.close();
    await service?.stop();
    await lab.close();
  }
}

// Device setup on a live Debian 13 system, not a scratch root: the agent's deb installed with apt,
// selfdeploy-helper started as its unit says (root, the root's own Node), and `selfdeploy deploy`
// run there as the agent's user against the real service and a swtpm — the demo tenant's whole
// setup carried out by the helper with the live commands really run (apt, useradd,
// update-ca-certificates, locale-gen, dconf update). Then `selfdeploy reset` puts the system back,
// checked against a manifest of the root, the package list and the account databases.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { bootSupport, killNamespace, manifestDiff, type DebianRoot } from '../../lab/debian-root.js';
import type { LabDevice } from './testing/lab-device.js';
import { LiveRoot } from './testing/live-root.js';

const boot = bootSupport();
const ACCOUNT_FILES = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow', '/etc/subuid', '/etc/subgid'];

let live: LiveRoot;
let root: DebianRoot;
let device: LabDevice;
let helper: ReturnType<DebianRoot['start']>;
let before: { manifest: Map<string, string>; packages: string; accounts: string[] };
let deployed: { status: number | null; stdout: string; stderr: string };

/** A free TCP/UDP port number on loopback (FreeRADIUS listens there). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function snapshot(): Promise<typeof before> {
  return {
    manifest: root.manifest(),
    packages: await root.ok(['dpkg-query', '-W', '-f=${Package} ${Version} ${db:Status-Status}\n']),
    accounts: ACCOUNT_FILES.map((file) => root.read(file)),
  };
}

beforeAll(async () => {
  live = await LiveRoot.create({ base: inject('debianRoot'), deb: inject('selfdeployDeb'), name: 'live-test', serial: 'LAB-LIVE-0001', profile: { oobe: { language: 'de-DE', timeZone: 'Europe/Berlin', skipLanguageRegionOnEthernet: false } } });
  ({ root, device } = live);
  before = await snapshot();
  await live.startHelper();
  helper = live.helper;
  deployed = await live.deploy();
}, 900_000);

afterAll(async () => {
  await live?.close();
});

describe('device setup on a live Debian 13 system, through selfdeploy-helper', () => {
  it('provisions the device: selfdeploy deploy as the agent user exits 0 with the kiosk ready', () => {
    expect(deployed.status, `${deployed.stdout}\n${deployed.stderr}\nhelper:\n${helper.output()}`).toBe(0);
    expect(deployed.stdout).toMatch(/Provisioned: device [0-9a-f-]+ \(LOBBY-[A-Z0-9]{4}\), kiosk ready/);
  });

  it('installed the .deb app through apt: it is in dpkg’s database', async () => {
    expect(await root.ok(['dpkg-query', '-W', '-f=${Status} ${Version}', 'lobby-browser'])).toBe('install ok installed 1.0');
    expect(await root.ok(['/opt/lobby-browser/bin/lobby-browser'])).toBe('lobby browser\n');
  });

  it('put the trusted root in the system store: openssl verify with the system bundle passes', async () => {
    writeFileSync(root.path('/tmp/fabrikam-root.pem'), device.service.serviceCa);
    expect(await root.ok(['openssl', 'verify', '-CApath', '/etc/ssl/certs', '/tmp/fabrikam-root.pem'])).toBe('/tmp/fabrikam-root.pem: OK\n');
    expect(await root.ok(['openssl', 'verify', '-CAfile', '/etc/ssl/certs/ca-certificates.crt', '/tmp/fabrikam-root.pem'])).toBe('/tmp/fabrikam-root.pem: OK\n');
  });

  it('made the kiosk account: it exists, its password locked, in no administrator group', async () => {
    const entry = (await root.ok(['getent', 'passwd', 'kiosk'])).trim().split(':');
    expect(Number(entry[2])).toBeGreaterThanOrEqual(1000);
    expect(entry[5]).toBe('/home/kiosk');
    expect((await root.ok(['passwd', '--status', 'kiosk'])).split(' ')[1]).toBe('L');
    const groups = (await root.ok(['id', '-nG', 'kiosk'])).trim().split(' ');
    expect(groups).toEqual(['kiosk']);
    expect(root.read('/etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf')).toContain('autologin-user=kiosk');
  });

  it('generated the locale, and set keyboard, time zone and host name in the files the system reads at boot', async () => {
    expect((await root.ok(['locale', '-a'])).split('\n')).toContain('de_DE.utf8');
    expect(root.read('/etc/default/locale')).toContain('LANG=de_DE.UTF-8');
    expect(root.read('/etc/default/keyboard')).toContain('XKBLAYOUT="de"');
    expect(await root.ok(['readlink', '/etc/localtime'])).toBe('/usr/share/zoneinfo/Europe/Berlin\n');
    expect(await root.ok(['date', '-d', '2026-07-01T12:00:00Z', '+%Z'])).toBe('CEST\n');
    const name = root.read('/etc/hostname').trim();
    expect(name).toMatch(/^LOBBY-[A-Z0-9]{4}$/);
    expect(await root.ok(['getent', 'hosts', name])).toMatch(new RegExp(`^127\\.0\\.1\\.1\\s+${name}`));
  });

  it(`did not run hostnamectl, timedatectl and localectl, which need a running systemd, and said so — ${boot.boot ? 'this machine could boot one' : boot.reason}`, () => {
    const ran = helper
      .output()
      .split('\n')
      .filter((line) => line.includes('"op":"command"') && /(hostnamectl|timedatectl|localectl)/.test(line));
    expect(ran.length).toBeGreaterThanOrEqual(3);
    for (const line of ran) expect(line).toContain('"ran":false');
  });

  it('left network profiles NetworkManager accepts (nmcli --offline reads each keyfile back)', async () => {
    const dir = '/etc/NetworkManager/system-connections';
    const files = (await root.ok(['ls', dir])).trim().split('\n').sort();
    expect(files).toEqual(['selfdeploy-lobby-wifi.nmconnection', 'selfdeploy-lobby-wired.nmconnection']);
    for (const file of files) {
      const read = await root.run(['nmcli', '--offline', 'connection', 'modify', 'connection.autoconnect', 'yes'], { input: readFileSync(root.path(`${dir}/${file}`)) });
      expect(read.status, `${file}: ${read.stderr}`).toBe(0);
      expect(read.stdout).toMatch(/^\[connection\]/m);
    }
  });

  it('ran the script and kept the client certificate with its TPM-held key', async () => {
    expect(root.read('/etc/selfdeploy/welcome.txt')).toMatch(/^configured by /);
    expect(root.read('/etc/selfdeploy/certificates/device-network.tss2.pem')).toMatch(/^-----BEGIN TSS2 PRIVATE KEY-----/);
    expect(await root.ok(['openssl', 'x509', '-noout', '-subject', '-in', '/etc/selfdeploy/certificates/device-network.crt'])).toMatch(/^subject=/);
  });

  it("has an 802.1X key usable through the TPM: tpm2-openssl signs with the key file, and eapol_test — with the deb's OpenSSL configuration for wpa_supplicant — completes EAP-TLS against FreeRADIUS trusting the device CA", async () => {
    const dir = '/etc/selfdeploy/certificates';
    const eap = '/tmp/eap';
    await root.ok(['mkdir', '-p', eap]);
    // wpa_supplicant.service gets OpenSSL with the tpm2 provider from the deb's drop-in.
    const dropIn = root.read('/usr/lib/systemd/system/wpa_supplicant.service.d/50-selfdeploy-tpm2.conf');
    const opensslConf = /^Environment=OPENSSL_CONF=(\S+)$/m.exec(dropIn)?.[1];
    expect(opensslConf).toBe('/usr/share/selfdeploy/openssl-tpm2.cnf');
    const verified = await root.run(['systemd-analyze', 'verify', 'wpa_supplicant.service']);
    expect(verified.status, verified.stderr).toBe(0);
    const tpmEnv = { OPENSSL_CONF: opensslConf!, TPM2OPENSSL_TCTI: device.tpm.tcti };
    // The wired profile names the client certificate and its key: the TSS2 key file as DER.
    const profile = root.read('/etc/NetworkManager/system-connections/selfdeploy-lobby-wired.nmconnection');
    const key = /^private-key=(.+)$/m.exec(profile)?.[1];
    const certificate = /^client-cert=(.+)$/m.exec(profile)?.[1];
    expect(key).toBe(`${dir}/device-network.tss2.der`);

    writeFileSync(root.path(`${eap}/message`), 'sign me');
    for (const file of [`${dir}/device-network.tss2.pem`, key!]) {
      await root.ok(['openssl', 'dgst', '-sha256', '-sign', file, '-out', `${eap}/signature`, `${eap}/message`], { env: tpmEnv });
      // Checked without the TPM, against the public key of the certificate the service issued.
      await root.ok(['sh', '-c', `openssl x509 -in ${certificate} -pubkey -noout > ${eap}/public.pem`]);
      expect(await root.ok(['openssl', 'dgst', '-sha256', '-verify', `${eap}/public.pem`, '-signature', `${eap}/signature`, `${eap}/message`])).toBe('Verified OK\n');
    }

    // A RADIUS server with its own certificate (a test CA), trusting the tenant's device CA for clients.
    const ca = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'];
    await root.ok(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${eap}/radius-ca.key`, '-out', `${eap}/radius-ca.pem`, '-days', '2', '-subj', '/CN=RADIUS test CA', ...ca]);
    await root.ok(['openssl', 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${eap}/server.key`, '-out', `${eap}/server.csr`, '-subj', '/CN=radius.fabrikam.example']);
    await root.ok(['openssl', 'x509', '-req', '-in', `${eap}/server.csr`, '-CA', `${eap}/radius-ca.pem`, '-CAkey', `${eap}/radius-ca.key`, '-CAcreateserial', '-out', `${eap}/server.pem`, '-days', '2']);
    const [port, innerPort] = [await freePort(), await freePort()];
    const raddb = `${eap}/raddb`;
    await root.ok(['cp', '-a', '/etc/freeradius/3.0', raddb]);
    await root.ok(['sed', '-i', '-e', 's#^\\(\\s*\\)private_key_password = .*#\\1private_key_password = ""#', '-e', `s#^\\(\\s*\\)private_key_file = .*#\\1private_key_file = ${eap}/server.key#`, '-e', `s#^\\(\\s*\\)certificate_file = .*#\\1certificate_file = ${eap}/server.pem#`, '-e', `s#^\\(\\s*\\)ca_file = .*#\\1ca_file = ${dir}/device-network.chain.pem#`, `${raddb}/mods-available/eap`]);
    await root.ok(['sed', '-i', `s/port = 18120/port = ${innerPort}/`, `${raddb}/sites-available/inner-tunnel`]);
    writeFileSync(root.path(`${raddb}/sites-available/default`), `server default {\n  listen {\n    type = auth\n    ipaddr = 127.0.0.1\n    port = ${port}\n  }\n  authorize {\n    eap {\n      ok = return\n    }\n  }\n  authenticate {\n    eap\n  }\n  post-auth {\n  }\n}\n`);
    await root.ok(['sh', '-c', `chmod 0644 ${eap}/server.key && chown -R freerad:freerad ${raddb}`]);
    const radius = root.start(['freeradius', '-X', '-d', raddb]);
    try {
      const deadline = Date.now() + 30_000;
      while (!radius.output().includes('Ready to process requests')) {
        if (radius.exitCode !== null || Date.now() > deadline) throw new Error(`FreeRADIUS did not start:\n${radius.output().slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      writeFileSync(
        root.path(`${eap}/eapol.conf`),
        `network={\n  key_mgmt=IEEE8021X\n  eap=TLS\n  identity="kiosk@fabrikam.example"\n  ca_cert="${eap}/radius-ca.pem"\n  domain_match="radius.fabrikam.example"\n  client_cert="${certificate}"\n  private_key="${key}"\n}\n`,
      );
      const eapol = (env: Record<string, string>) => root.run(['eapol_test', '-c', `${eap}/eapol.conf`, '-a', '127.0.0.1', '-p', String(port), '-s', 'testing123', '-t', '20'], { env });
      const tlsLines = (text: string) => text.split('\n').filter((line) => /TLS|SSL|private|key|error|fail|alert/i.test(line)).slice(-60).join('\n');
      const done = await eapol(tpmEnv);
      expect(done.stdout.trim().split('\n').at(-1), `${tlsLines(done.stdout + done.stderr)}\nFreeRADIUS:\n${tlsLines(radius.output())}`).toBe('SUCCESS');
      expect(done.stdout).toContain('tls_use_private_key_file (DER) --> loaded');
      expect(radius.output()).toMatch(/Sent Access-Accept/);
      // The key is only usable through this TPM: with no TPM to answer, the same key file fails.
      const noTpm = await eapol({ ...tpmEnv, TPM2OPENSSL_TCTI: 'swtpm:host=127.0.0.1,port=9' });
      expect(noTpm.stdout.trim().split('\n').at(-1)).toBe('FAILURE');
    } finally {
      killNamespace(radius);
    }
  });

  it('is put back by selfdeploy reset: files, packages and accounts as before, and what reset cannot undo named', async () => {
    const reset = await root.run(['selfdeploy', 'reset', '--json'], { user: 'selfdeploy' });
    expect(reset.status, reset.stdout + reset.stderr).toBe(0);
    const report = JSON.parse(reset.stdout) as { left: string[]; notUndone: string[] };
    expect(report.left).toEqual([]);
    // The demo script's own change (it writes /etc/selfdeploy/welcome.txt) has no inverse: reset names it.
    expect(report.notUndone).toEqual(['script "welcome": what it changed itself']);
    helper.kill('SIGTERM');
    const after = await snapshot();
    expect(after.packages).toBe(before.packages);
    expect(after.accounts).toEqual(before.accounts);
    const diff = manifestDiff(before.manifest, after.manifest);
    // What reset leaves, by design: apt's and dpkg's records and logs, the account databases' backup
    // copies, the logs setup kept (/var/log/selfdeploy), the helper's own state, the agent's state
    // directory — and what the script changed itself, which it named.
    const left = /^\/(var\/lib\/dpkg\/|var\/log\/(apt|dpkg\.log|alternatives\.log|selfdeploy)|var\/lib\/apt\/extended_states|etc\/(passwd|group|shadow|gshadow|subuid|subgid)-$|var\/lib\/selfdeploy-helper|var\/lib\/selfdeploy(\/|$))/;
    expect({ added: diff.added.filter((p) => !left.test(p)), removed: diff.removed.filter((p) => !left.test(p)), changed: diff.changed.filter((p) => !left.test(p)) }).toEqual({ added: ['/etc/selfdeploy/welcome.txt'], removed: [], changed: [] });
  });
});

// The headless agent end to end, as a technician runs it: `selfdeploy hash` and `selfdeploy
// deploy` against the real service over HTTPS and a real swtpm, applying the demo tenant's items
// under a scratch root.
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DeviceEspSchema, DeviceSchema } from '../../protocol/api/admin.js';
import { admin } from '../../protocol/api/endpoints.js';
import { EspEventSchema } from '../../protocol/esp.js';
import { parseTpm2bPublic, publicKeyJwk } from '../../protocol/tpm/public.js';
import { parseTss2PrivateKeyPem, tss2PrivateKeyDer } from '../../protocol/tpm/key-file.js';
import { DEMO_APP_MARKER } from '../../lab/demo-tenant.js';
import { LabDevice, runCli } from './testing/lab-device.js';

describe('selfdeploy deploy', () => {
  let device: LabDevice;

  beforeAll(async () => {
    device = await LabDevice.create();
  });

  afterAll(async () => {
    await device?.close();
  });

  it('refuses an unregistered device with DEVICE_NOT_REGISTERED and shows the hash to register', async () => {
    const result = await device.deploy(device.fresh());
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('DEVICE_NOT_REGISTERED');
    const hash = /Hardware hash to register[^\n]*\n {2}(\S+)/.exec(result.stderr)?.[1];
    expect(hash).toMatch(/^[A-Za-z0-9+/]+=*$/);
    await device.register();
    expect(hash).toBe(device.hardwareHash);
  });

  it('self-deploys: attests, joins, enrolls, applies every item under the root, completes and prepares the kiosk', async () => {
    const paths = device.fresh();
    const result = await device.deploy(paths);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Provisioned: device [0-9a-f-]{36} \(LOBBY-\d{4}\), kiosk ready/);
    const root = (path: string) => join(paths.root, path);
    expect(JSON.parse(readFileSync(root('etc/selfdeploy/policies/password-length.json'), 'utf8'))).toMatchObject({ kind: 'password', minLength: 12 });
    expect(readFileSync(root('usr/local/share/ca-certificates/selfdeploy/fabrikam-root.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
    const wifi = root('etc/NetworkManager/system-connections/selfdeploy-lobby-wifi.nmconnection');
    expect(readFileSync(wifi, 'utf8')).toContain('ssid=Fabrikam Lobby');
    expect(statSync(wifi).mode & 0o777).toBe(0o600);
    expect(readFileSync(root(DEMO_APP_MARKER), 'utf8')).toContain('lobby browser');
    expect(readFileSync(root('etc/selfdeploy/welcome.txt'), 'utf8')).toBe('configured by welcome\n');
    expect(readFileSync(root('etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf'), 'utf8')).toContain('autologin-user=kiosk');
    expect(readFileSync(root('etc/hostname'), 'utf8')).toMatch(/^LOBBY-\d{4}\n$/);
    expect(readFileSync(root('etc/timezone'), 'utf8')).toBe('Europe/Berlin\n');
    expect(JSON.parse(readFileSync(root('etc/chromium/policies/managed/selfdeploy-kiosk-browser.json'), 'utf8'))).toMatchObject({ URLBlocklist: ['*'] });

    // The device client certificate: issued by the device CA for a key that is in the TPM (its file
    // holds the TPM's wrapped blob), and the wired 802.1X profile that uses it.
    const cert = new X509Certificate(readFileSync(root('etc/selfdeploy/certificates/device-network.crt')));
    const deviceCa = new X509Certificate(readFileSync(root('etc/selfdeploy/certificates/device-network.chain.pem')));
    expect(cert.verify(deviceCa.publicKey)).toBe(true);
    expect(cert.subject).toBe(`CN=${device.deviceId}`);
    const keyFile = readFileSync(root('etc/selfdeploy/certificates/device-network.tss2.pem'), 'utf8');
    expect(statSync(root('etc/selfdeploy/certificates/device-network.tss2.pem')).mode & 0o777).toBe(0o600);
    const blob = parseTss2PrivateKeyPem(keyFile);
    expect(blob.parent).toBe(0x81000001);
    const tpmKey = createPublicKey({ key: publicKeyJwk(parseTpm2bPublic(blob.public)), format: 'jwk' });
    expect(cert.publicKey.export({ format: 'der', type: 'spki' }).equals(tpmKey.export({ format: 'der', type: 'spki' }))).toBe(true);
    // The same key file as DER beside it (0600): what the 802.1X profile names, for wpa_supplicant.
    expect(readFileSync(root('etc/selfdeploy/certificates/device-network.tss2.der')).equals(tss2PrivateKeyDer(keyFile))).toBe(true);
    expect(statSync(root('etc/selfdeploy/certificates/device-network.tss2.der')).mode & 0o777).toBe(0o600);
    expect(readFileSync(root('etc/NetworkManager/system-connections/selfdeploy-lobby-wired.nmconnection'), 'utf8')).toContain(
      '[802-1x]\neap=tls;\nidentity=kiosk@fabrikam.example\nca-cert=/usr/local/share/ca-certificates/selfdeploy/fabrikam-root.crt\nclient-cert=/etc/selfdeploy/certificates/device-network.crt\nprivate-key=/etc/selfdeploy/certificates/device-network.tss2.der\nprivate-key-password-flags=4\ndomain-suffix-match=radius.fabrikam.example\n',
    );
    const applied = readFileSync(root('var/log/selfdeploy/applied.log'), 'utf8').trim().split('\n');
    expect(applied.map((line) => (JSON.parse(line) as { kind: string }).kind)).toEqual(['policy', 'policy', 'certificate', 'certificate', 'network', 'network', 'app', 'script']);
    // The Wi-Fi key reached the connection file and nowhere else the agent writes.
    for (const file of ['deploy-journal.json', 'enrollment.json']) expect(readFileSync(join(paths.state, file), 'utf8')).not.toContain('lab-only-passphrase');

    const record = DeviceSchema.parse((await device.service.request({ method: 'GET', url: `/v1/admin/devices/${device.deviceId}` })).json());
    expect(record.state).toBe('deployed');
    // The attestation record: this TPM's EK, the key that signed the quote, the chain's anchor.
    const attestation = await device.service.call(admin.devices.attestation, { params: { id: device.deviceId } });
    expect(attestation).toMatchObject({ ekDigest: record.ekDigest, unverifiedHardware: false });
    expect(attestation.akName).toMatch(/^000b[0-9a-f]{64}$/);
    expect(attestation.pcrs.length).toBeGreaterThan(0);
    expect(attestation.anchors.length).toBeGreaterThan(0);
    expect(attestation.anchors.every((a) => a.subject !== null)).toBe(true);
    // The same, as selfdeploy-admin shows it.
    const adminCli = join(import.meta.dirname, '..', '..', 'dist', 'backend', 'cli', 'admin.js');
    // (asynchronously: the service answers from this process)
    const { stdout: shown } = await promisify(execFile)(process.execPath, [adminCli, 'devices', 'attestation', record.serial], {
      env: { ...process.env, SELFDEPLOY_SERVER: device.service.url!.href, SELFDEPLOY_CA: device.caFile, SELFDEPLOY_TOKEN: device.service.adminToken, XDG_CONFIG_HOME: join(paths.state, 'no-config') },
    });
    expect(shown).toContain(`EK digest     ${record.ekDigest}`);
    expect(shown).toMatch(new RegExp(`^Trusted by    ${attestation.anchors[0]!.subject!}`, 'm'));
    expect(shown).toMatch(/^PCR sha256\[0\] [0-9a-f]{64}$/m);
    const esp = DeviceEspSchema.parse((await device.service.request({ method: 'GET', url: `/v1/admin/devices/${device.deviceId}/esp` })).json());
    expect(esp.snapshot?.status).toBe('succeeded');
    expect(esp.items.map((i) => i.state)).toEqual(Array(8).fill('succeeded'));

    const again = await device.deploy(paths);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('already provisioned');
  });

  it('blocks a second deployment of a deployed device with 0x80180014, and deploys again once the record is deleted', async () => {
    const blocked = await device.deploy(device.fresh());
    expect(blocked.status).toBe(1);
    expect(blocked.stderr).toContain('REENROLLMENT_BLOCKED (0x80180014)');
    expect((await device.service.request({ method: 'DELETE', url: `/v1/admin/devices/${device.deviceId}/record` })).statusCode).toBe(200);
    const paths = device.fresh();
    const result = await device.deploy(paths, {}, ['--json']);
    expect(result.status).toBe(0);
    const events = result.stdout.trim().split('\n').map((line) => EspEventSchema.parse(JSON.parse(line)));
    expect(events.at(-1)?.type).toBe('succeeded');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('re-provisions a wiped device that proves the same TPM when the tenant allows it: audited, its earlier runs kept', async () => {
    const call = device.service.call.bind(device.service);
    const before = await call(admin.devices.get, { params: { id: device.deviceId } });
    expect(before.state).toBe('deployed');
    const runsBefore = (await call(admin.devices.deployments, { params: { id: device.deviceId }, query: { limit: 100 } })).items;
    const settings = await call(admin.tenant.getSettings);
    await call(admin.tenant.putSettings, { body: { ...settings, reprovisionSameTpm: true } });
    try {
      const wiped = device.fresh();
      const result = await device.deploy(wiped);
      expect(result.status, result.stderr).toBe(0);
      const after = await call(admin.devices.get, { params: { id: device.deviceId } });
      expect(after.state).toBe('deployed');
      expect(after.certificatesIssued).toBe(before.certificatesIssued + 1);
      const runs = (await call(admin.devices.deployments, { params: { id: device.deviceId }, query: { limit: 100 } })).items;
      expect(runs).toHaveLength(runsBefore.length + 1);
      expect(runs.slice(1).map((r) => r.id)).toEqual(runsBefore.map((r) => r.id));
      const audit = await call(admin.audit.list, { query: { action: 'reprovisionDevice' } });
      expect(audit.items[0]).toMatchObject({ actor: { kind: 'device', name: `device ${before.serial}`, id: null }, resource: `/v1/admin/devices/${device.deviceId}`, before: { state: 'deployed' }, after: { state: 'registered' } });
    } finally {
      await call(admin.tenant.putSettings, { body: { ...settings, reprovisionSameTpm: false } });
    }
    // Off again: the seed's rule holds.
    const blocked = await device.deploy(device.fresh());
    expect(blocked.stderr).toContain('REENROLLMENT_BLOCKED (0x80180014)');
  });

  it('on a failed required item: uploads a log bundle without secrets, resets on request, and continues when allowed', async () => {
    expect((await device.service.request({ method: 'DELETE', url: `/v1/admin/devices/${device.deviceId}/record` })).statusCode).toBe(200);
    const app = (await device.service.request({ method: 'GET', url: '/v1/admin/apps/lobby-browser' })).json<{ body: Record<string, unknown> }>().body;
    await device.service.request({ method: 'PUT', url: '/v1/admin/apps/lobby-browser', payload: { ...app, detection: { type: 'file-exists', path: '/opt/not-there' } } });
    const profile = (await device.service.request({ method: 'GET', url: '/v1/admin/profiles/lobby-kiosk' })).json<{ profile: { esp: Record<string, unknown> } }>().profile;
    await device.service.request({ method: 'PUT', url: '/v1/admin/profiles/lobby-kiosk', payload: { ...profile, esp: { ...profile.esp, allowContinue: true, customErrorMessage: 'Call the Fabrikam desk on 555-0100.' } } });

    const paths = device.fresh();
    const failed = await device.deploy(paths);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('ITEM_NOT_DETECTED (0x87D1041C)');
    expect(failed.stderr).toContain('\n  Call the Fabrikam desk on 555-0100.\n'); // the profile's words, not the default
    expect(failed.stderr).not.toContain('Setup could not be completed');
    expect(failed.stderr).toContain('To start over: the same command with --reset.');
    expect(failed.stderr).toContain('--continue-on-error');
    const logs = /Logs: (\S+) \(uploaded to the service as ([0-9a-f-]{36})\)/.exec(failed.stderr);
    expect(logs, failed.stderr).not.toBeNull();
    const listing = execFileSync('tar', ['-tzf', logs![1]!], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(listing).toEqual(['agent.log', 'deploy-journal.json', 'device/var/log/selfdeploy/applied.log', 'esp-snapshot.json']);
    expect(gunzipSync(readFileSync(logs![1]!)).toString('latin1')).not.toContain('lab-only-passphrase');
    const uploaded = (await device.service.request({ method: 'GET', url: `/v1/admin/devices/${device.deviceId}/diagnostics` })).json<{ items: { id: string }[] }>();
    expect(uploaded.items.map((d) => d.id)).toContain(logs![2]);

    const reset = await device.deploy(paths, {}, ['--reset']);
    expect(reset.stdout).toMatch(/^Reset: \d+ file\(s\) restored, \d+ removed; the agent's state in /);
    expect(reset.stdout).toContain(`the agent's state in ${paths.state} is cleared`);
    expect(reset.status).toBe(1);
    expect(JSON.parse(readFileSync(join(paths.state, 'deploy-journal.json'), 'utf8'))).toMatchObject({ runs: 1 });

    const continued = await device.deploy(paths, {}, ['--continue-on-error']);
    expect(continued.status, continued.stderr).toBe(0);
    expect(continued.stdout).toContain('kiosk ready');
  });

  it('selfdeploy reset undoes everything setup changed under the root, says what it could not, and clears the agent state', async () => {
    await device.resetRecord();
    const paths = device.fresh();
    mkdirSync(join(paths.root, 'etc'), { recursive: true });
    writeFileSync(join(paths.root, 'etc', 'hostname'), 'factory\n');
    const deployed = await device.deploy(paths, {}, ['--continue-on-error']);
    expect(deployed.status, deployed.stderr).toBe(0);
    expect(readFileSync(join(paths.root, 'etc', 'hostname'), 'utf8')).toMatch(/^LOBBY-/);
    // What keeps the first-boot unit from starting again (ConditionPathExists=!…/provisioned).
    expect(readFileSync(join(paths.state, 'provisioned'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT.*Z\n$/);
    const reset = await runCli(['reset', '--root', paths.root, '--state', paths.state]);
    // The demo script wrote a file of its own: a script's effects are its own, so reset names the
    // script as not undone, says it could not remove the directory holding that file, and exits 1.
    expect(reset.status, reset.stdout).toBe(1);
    expect(reset.stdout).toMatch(/^Reset: \d+ file\(s\) restored, \d+ removed; left as they are: \/etc\/selfdeploy: holds files that setup did not put there; not undone \(no inverse\): script "welcome": what it changed itself; the agent's state in .* is cleared/);
    expect(readdirSync(paths.root, { recursive: true, encoding: 'utf8' }).sort()).toEqual(['etc', 'etc/hostname', 'etc/selfdeploy', 'etc/selfdeploy/welcome.txt']);
    expect(readFileSync(join(paths.root, 'etc', 'hostname'), 'utf8')).toBe('factory\n');
    expect(existsSync(join(paths.state, 'deploy-journal.json'))).toBe(false);
    expect(existsSync(join(paths.state, 'enrollment.json'))).toBe(false);
    expect(existsSync(join(paths.state, 'provisioned'))).toBe(false); // first boot runs again
  });

  it('selfdeploy checkin: records the contact, and uploads logs once when someone asked for them', async () => {
    const paths = device.fresh();
    const checkInArgs = ['checkin', '--server', device.service.url!.href, '--ca', device.caFile, '--tcti', device.tpm.tcti, '--root', paths.root, '--state', paths.state, '--identity', device.identityFile];
    // Before setup there is no credential to check in with.
    const early = await runCli(checkInArgs);
    expect(early.status).toBe(1);
    expect(early.stderr).toContain('DEVICE_NOT_JOINED');

    await device.resetRecord();
    const deployed = await device.deploy(paths, {}, ['--continue-on-error']);
    expect(deployed.status, deployed.stderr).toBe(0);
    const call = device.service.call.bind(device.service);
    const bundles = async () => (await call(admin.devices.diagnostics, { params: { id: device.deviceId } })).items;
    const before = (await bundles()).length;

    const quiet = await runCli(checkInArgs);
    expect(quiet.stderr).toBe('');
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).toBe(`Checked in with ${device.service.url!.origin} as device ${device.deviceId}; next check-in in 1 h.\n`);
    const contacted = await call(admin.devices.get, { params: { id: device.deviceId } });
    expect(Date.now() - Date.parse(contacted.lastContactAt!)).toBeLessThan(60_000);
    expect(await bundles()).toHaveLength(before);

    // A technician asks for the logs; the next check-in uploads them, and the request is answered.
    const asked = await device.service.request({ method: 'POST', url: `/v1/admin/devices/${device.deviceId}/collect-logs`, token: device.service.technicianToken });
    expect(asked.statusCode).toBe(200);
    expect((await call(admin.devices.get, { params: { id: device.deviceId } })).logsRequestedAt).toBe(asked.json<{ requestedAt: string }>().requestedAt);
    const collected = await runCli([...checkInArgs, '--json']);
    expect(collected.status, collected.stderr).toBe(0);
    const outcome = JSON.parse(collected.stdout) as { logs: { uploaded: string; path: string } };
    const now = await bundles();
    expect(now).toHaveLength(before + 1);
    expect(now[0]!.id).toBe(outcome.logs.uploaded);
    expect(existsSync(outcome.logs.path)).toBe(true);
    expect((await call(admin.devices.get, { params: { id: device.deviceId } })).logsRequestedAt).toBeNull();
    // Answered once: the next check-in uploads nothing.
    expect((await runCli(checkInArgs)).status).toBe(0);
    expect(await bundles()).toHaveLength(before + 1);
  });
});

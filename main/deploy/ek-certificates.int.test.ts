// A firmware TPM end to end: a real swtpm that keeps no EK certificate in NV (taken out, as Intel
// PTT and AMD fTPM ship), a loopback stand-in for its vendor's EK certificate service named in the
// profile, the real service over HTTPS — `selfdeploy deploy` and `selfdeploy tpm info` as a
// technician runs them.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { admin } from '../../protocol/api/endpoints.js';
import { EspEventSchema } from '../../protocol/esp.js';
import { EkVendorService } from '../../lab/ek-vendor.js';
import type { TpmReport } from '../cli/tpm-info.js';
import { statePath } from '../storage/state-dir.js';
import { LabDevice, runCli } from './testing/lab-device.js';

describe("a TPM without an EK certificate, and its vendor's EK certificate service", () => {
  let device: LabDevice;
  let vendor: EkVendorService;
  let vendorCa: string;

  beforeAll(async () => {
    device = await LabDevice.create('PTT-0001');
    await device.tpm.removeEkCertificatesFromNv();
    vendor = await EkVendorService.start('intel');
    vendor.add(new Uint8Array(readFileSync(device.tpm.ekCertificatePaths.rsa2048)));
    vendorCa = join(device.dir, 'vendor-ca.pem');
    writeFileSync(vendorCa, vendor.caPem);
    // swtpm says it is made by IBM: the profile names the stand-in as IBM's service, in Intel's scheme.
    await device.register({ timeoutMinutes: 2, profile: { tpm: { ekCertificateServices: [{ manufacturer: 'IBM', format: 'intel', url: vendor.url, ca: vendor.caPem }] } } });
  });

  afterAll(async () => {
    await vendor?.close();
    await device?.close();
  });

  it('lets a technician fetch the certificate once (tpm info --fetch-ek-certificate), in the format the admin registers', async () => {
    const plain = await runCli(['tpm', 'info', '--tcti', device.tpm.tcti, '--json']);
    expect((JSON.parse(plain.stdout) as TpmReport).endorsementKeys).toEqual([expect.objectContaining({ kind: 'rsa-2048', certificate: null })]);
    const fetched = await runCli(['tpm', 'info', '--tcti', device.tpm.tcti, '--json', '--fetch-ek-certificate', '--ek-service', vendor.url, '--ek-service-ca', vendorCa]);
    expect(fetched.stderr).toBe('');
    const report = JSON.parse(fetched.stdout) as TpmReport;
    expect(report.endorsementKeys[0]!.certificate).toMatchObject({ nvIndex: null, fetchedFrom: expect.stringMatching(new RegExp(`^${vendor.url}[A-Za-z0-9_-]+%3D$`)), issuer: 'CN=swtpm-localca' });
    // Without the mirror's CA its answer is not taken.
    const untrusted = await runCli(['tpm', 'info', '--tcti', device.tpm.tcti, '--fetch-ek-certificate', '--ek-service', vendor.url]);
    expect(untrusted.status).toBe(3);
    expect(untrusted.stderr).toContain('EK_CERTIFICATE_SERVICE_UNREACHABLE');
    const misused = await runCli(['tpm', 'info', '--tcti', device.tpm.tcti, '--ek-service', vendor.url]);
    expect(misused.status).toBe(2);
  });

  it('fails with the vendor service’s own code and remedy when it stays away and the EK is not allow-listed', async () => {
    vendor.failure = 'drop';
    const started = Date.now();
    const result = await device.deploy(device.fresh());
    vendor.failure = null;
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('EK_CERTIFICATE_SERVICE_UNREACHABLE');
    expect(result.stderr).toContain('tpm.ekCertificateServices');
    // Waited out for a quarter of the 2-minute ESP timeout, then asked the service, which refused.
    expect(Date.now() - started).toBeGreaterThanOrEqual(30_000);
    expect(vendor.requests.length).toBeGreaterThan(2);
  });

  it('offline: the certificate a technician fetched, registered by the admin tool, lets a device that cannot reach the vendor attest', async () => {
    const fetched = await runCli(['tpm', 'info', '--tcti', device.tpm.tcti, '--json', '--fetch-ek-certificate', '--ek-service', vendor.url, '--ek-service-ca', vendorCa]);
    const report = join(device.dir, 'ptt-0001.json');
    writeFileSync(report, fetched.stdout);
    const adminTool = join(import.meta.dirname, '..', '..', 'dist', 'backend', 'cli', 'admin.js');
    const connection = ['--server', device.service.url!.href, '--ca', device.caFile, '--token', device.service.technicianToken];
    const registered = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [adminTool, 'devices', 'ek-certificate', 'PTT-0001', report, ...connection], (error, stdout, stderr) => resolve({ status: error ? (error.code as number) : 0, stdout, stderr }));
    });
    expect(registered.stderr).toBe('');
    expect(registered.stdout).toContain('Registered the EK certificate of PTT-0001');
    vendor.failure = 'drop';
    const asked = vendor.requests.length;
    try {
      const paths = device.fresh();
      const result = await device.deploy(paths, {}, ['--json']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      // The service said the certificate is registered: the vendor was not asked (nor waited for).
      expect(vendor.requests.length).toBe(asked);
      expect(result.stdout).toContain('TPM attested (EK certificate registered by the administrator)');
      expect((JSON.parse(readFileSync(statePath(paths.state, 'enrollment'), 'utf8')) as { unverifiedHardware: boolean }).unverifiedHardware).toBe(false);
    } finally {
      vendor.failure = null;
      await device.service.call(admin.devices.putEkCertificate, { params: { id: device.deviceId }, body: { pem: null } });
      await device.service.call(admin.devices.deleteRecord, { params: { id: device.deviceId } });
    }
  });

  it('self-deploys with the certificate from the vendor’s service, kept in the state directory', async () => {
    const asked = vendor.requests.length;
    const paths = device.fresh();
    const result = await device.deploy(paths, {}, ['--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const events = result.stdout.trim().split('\n').map((line) => EspEventSchema.parse(JSON.parse(line)));
    expect(events).toContainEqual(expect.objectContaining({ type: 'step', step: 'securing-hardware', state: 'succeeded', detail: "TPM attested (EK certificate from the TPM vendor's service)" }));
    expect(vendor.requests.length).toBe(asked + 1);
    const kept = JSON.parse(readFileSync(statePath(paths.state, 'ekCertificate'), 'utf8')) as { der: string };
    expect(Buffer.from(kept.der, 'base64')).toEqual(readFileSync(device.tpm.ekCertificatePaths.rsa2048));
    // The device is verified hardware: its certificate chained to the lab CA the service trusts.
    expect(existsSync(statePath(paths.state, 'enrollment'))).toBe(true);
    expect((JSON.parse(readFileSync(statePath(paths.state, 'enrollment'), 'utf8')) as { unverifiedHardware: boolean }).unverifiedHardware).toBe(false);
  });
});

describe("an AMD fTPM's certificate, from a service in AMD's scheme", () => {
  let device: LabDevice;
  let vendor: EkVendorService;

  beforeAll(async () => {
    device = await LabDevice.create('FTPM-0001');
    await device.tpm.removeEkCertificatesFromNv();
    vendor = await EkVendorService.start('amd');
    vendor.add(new Uint8Array(readFileSync(device.tpm.ekCertificatePaths.rsa2048)));
    await device.register({ profile: { tpm: { ekCertificateServices: [{ manufacturer: 'IBM', format: 'amd', url: vendor.url, ca: vendor.caPem }] } } });
  });

  afterAll(async () => {
    await vendor?.close();
    await device?.close();
  });

  it('self-deploys with the DER certificate it serves under the hex key of the EK', async () => {
    const paths = device.fresh();
    const result = await device.deploy(paths, {}, ['--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(vendor.requests).toEqual([expect.stringMatching(/^\/pki\/aia\/[0-9a-f]{32}$/)]);
    expect(result.stdout).toContain("TPM attested (EK certificate from the TPM vendor's service)");
  });
});

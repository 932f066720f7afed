// `selfdeploy tpm check` as a technician runs it before registering a device: the built command,
// a real swtpm, the real service over HTTPS — and a TPM made to fail each check in turn (an
// owner password, a virtual TPM the tenant refuses, no EK certificate), nothing registered.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { admin } from '../../protocol/api/endpoints.js';
import { LabDevice, runCli } from '../deploy/testing/lab-device.js';
import { Tpm } from '../tpm/tpm.js';
import type { CheckLine } from '../agent/tpm-check.js';

const exec = promisify(execFile);

describe('selfdeploy tpm check', () => {
  let device: LabDevice;
  let connection: string[];

  beforeAll(async () => {
    device = await LabDevice.create('CHK-0001');
    connection = ['--server', device.service.url!.href, '--ca', device.caFile, '--identity', device.identityFile];
  });

  afterAll(async () => {
    await device?.close();
  });

  const check = async (...args: string[]) => {
    const result = await runCli(['tpm', 'check', '--tcti', device.tpm.tcti, '--json', ...args]);
    const report = JSON.parse(result.stdout) as { pass: boolean; checks: CheckLine[] };
    return { status: result.status, report, byName: Object.fromEntries(report.checks.map((c) => [c.check, c])) };
  };

  it('passes every check for a TPM the service trusts, and changes nothing on the service', async () => {
    const { status, report } = await check(...connection);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual([
      ['tpm', 'pass'],
      ['usable', 'pass'],
      ['ek-certificate', 'pass'],
      ['trusted', 'pass'],
      ['clock', 'pass'],
    ]);
    expect(report.pass).toBe(true);
    expect(status).toBe(0);
    expect(report.checks[3]!.message).toContain('swtpm-localca');
    expect((await device.service.call(admin.devices.list, { query: {} })).items).toEqual([]);
    // For people: one line each.
    const text = await runCli(['tpm', 'check', '--tcti', device.tpm.tcti, ...connection]);
    expect(text.stdout).toContain('ok    TPM 2.0 present and answering');
    expect(text.stdout).toContain('This device would pass "Securing your hardware".');
  });

  it('says what it could not check without the service, and does not call that a pass', async () => {
    const { status, byName } = await check();
    expect([byName['trusted']!.status, byName['clock']!.status]).toEqual(['skipped', 'skipped']);
    expect(status).toBe(1);
  });

  it('fails, with code and remedy, a TPM whose owner hierarchy has a password', async () => {
    const env = { ...process.env, TPM2TOOLS_TCTI: device.tpm.tcti };
    await exec('tpm2_changeauth', ['-c', 'owner', 'set-by-someone'], { env });
    try {
      const { status, byName } = await check(...connection);
      expect(byName['usable']).toMatchObject({ status: 'fail', code: 'TPM_OWNED', message: expect.stringContaining('owner'), remedy: expect.stringContaining('Clear the TPM') });
      expect(status).toBe(1);
    } finally {
      await exec('tpm2_changeauth', ['-c', 'owner', '-p', 'set-by-someone'], { env });
    }
  });

  it('fails a virtual TPM where the tenant refuses them', async () => {
    const settings = await device.service.call(admin.tenant.getSettings);
    await device.service.call(admin.tenant.putSettings, { body: { ...settings, allowVirtualTpms: false } });
    try {
      const { byName } = await check(...connection);
      expect(byName['trusted']).toMatchObject({ status: 'fail', code: 'TPM_VIRTUAL' });
    } finally {
      await device.service.call(admin.tenant.putSettings, { body: settings });
    }
  });

  it('fails a TPM with no EK certificate, and passes it once the service allow-lists its EK', async () => {
    await device.tpm.removeEkCertificatesFromNv();
    const none = await check(...connection, '--ek-service', 'https://127.0.0.1:9/ekcertservice/');
    expect(none.byName['ek-certificate']).toMatchObject({ status: 'fail', code: 'EK_CERTIFICATE_SERVICE_UNREACHABLE' });
    expect(none.byName['trusted']).toMatchObject({ status: 'fail', code: 'EK_NOT_TRUSTED' });
    const tpm = await Tpm.open({ tcti: device.tpm.tcti });
    const { ek } = await tpm.primaryEk();
    await tpm.close();
    await device.service.call(admin.tenant.addTrustAnchors, { body: { ekDigest: Buffer.from(ek.digest).toString('hex'), label: 'bench' } });
    const allowed = await check(...connection, '--ek-service', 'https://127.0.0.1:9/ekcertservice/');
    expect(allowed.byName['trusted']).toMatchObject({ status: 'pass', message: expect.stringContaining('allow-list') });
    expect(allowed.byName['ek-certificate']).toMatchObject({ status: 'pass', message: expect.stringContaining('the service allow-lists this EK') });
    expect(allowed.status).toBe(0);
  });
});

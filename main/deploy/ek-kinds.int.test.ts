// The EK is chosen from what the TPM has: a TPM provisioned with the high-range RSA 3072 EK
// (swtpm --rsa-keysize 3072: RSA 3072 at 0x8101001C with its certificate at 0x01C0001C, and ECC
// P-384) attests with whichever of them has a certificate — from the persistent handle, or made
// again from the TCG template when the handle is gone; a TPM whose certificate is for the
// high-range ECC P-521 EK (H-4, at 0x01C00018; swtpm_setup makes no such EK, so the test issues
// its certificate from a vendor CA) attests with that one — `selfdeploy deploy` against the real service.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { admin } from '../../protocol/api/endpoints.js';
import { TpmAlg, TpmEccCurve } from '../../protocol/tpm/constants.js';
import { YEAR_MS, derOf, labCa, labEkCertificate } from '../../lab/ek-pki.js';
import { Tpm } from '../tpm/tpm.js';
import { statePath } from '../storage/state-dir.js';
import { LabDevice } from './testing/lab-device.js';

const exec = promisify(execFile);
const ekKind = (state: string) => (JSON.parse(readFileSync(statePath(state, 'enrollment'), 'utf8')) as { ekKind: string }).ekKind;

describe('EK kinds', () => {
  let device: LabDevice;

  beforeAll(async () => {
    device = await LabDevice.create('RSA3K-0001', {}, { rsaKeySize: 3072 });
    await device.register();
  });

  afterAll(async () => {
    await device?.close();
  });

  it('reads each EK certificate the TPM holds, by kind and index', async () => {
    const tpm = await Tpm.open({ tcti: device.tpm.tcti });
    try {
      expect((await tpm.ekCertificates()).map((c) => [c.kind, c.nvIndex])).toEqual([
        ['ecc-p384', 0x01c00016],
        ['rsa-3072', 0x01c0001c],
      ]);
      const rsa = await tpm.ekPublic('rsa-3072');
      expect([rsa.persistent, rsa.area.type === 0x0001 && rsa.area.keyBits]).toEqual([true, 3072]);
    } finally {
      await tpm.close();
    }
  });

  it('attests with ECC P-384 while it has a certificate, then with RSA 3072', async () => {
    const first = device.fresh();
    expect((await device.deploy(first)).status).toBe(0);
    expect(ekKind(first.state)).toBe('ecc-p384');
    // Without the P-384 certificate, the RSA 3072 EK is the one with a certificate.
    await exec('tpm2_nvundefine', ['-C', 'p', '0x01c00016'], { env: { ...process.env, TPM2TOOLS_TCTI: device.tpm.tcti } });
    // Another EK in use is another hardware hash (it holds the EK's digest): registered anew.
    await device.reregister();
    const second = device.fresh();
    const result = await device.deploy(second);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(ekKind(second.state)).toBe('rsa-3072');
  });

  it('makes the RSA 3072 EK again from the TCG template when its persistent handle is gone, and it is still the certified key', async () => {
    await exec('tpm2_evictcontrol', ['-C', 'o', '-c', '0x8101001c'], { env: { ...process.env, TPM2TOOLS_TCTI: device.tpm.tcti } });
    const tpm = await Tpm.open({ tcti: device.tpm.tcti });
    try {
      expect((await tpm.ekPublic('rsa-3072')).persistent).toBe(false);
    } finally {
      await tpm.close();
    }
    // The same key, so the same hash: only the device record goes, to deploy again.
    await device.service.request({ method: 'DELETE', url: `/v1/admin/devices/${device.deviceId}/record` });
    const third = device.fresh();
    const result = await device.deploy(third);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(ekKind(third.state)).toBe('rsa-3072');
  });
});

describe('the high-range ECC P-521 EK (H-4)', () => {
  let device: LabDevice;

  beforeAll(async () => {
    device = await LabDevice.create('P521-0001');
    const tpm = await Tpm.open({ tcti: device.tpm.tcti });
    const ek = await tpm.ekPublic('ecc-p521').finally(() => tpm.close());
    // The vendor's certificate for the TPM's P-521 EK, in its H-4 index; no other EK certificate.
    const now = Date.now();
    const vendor = await labCa('Lab P-521 TPM Vendor', new Date(now - YEAR_MS), new Date(now + 20 * YEAR_MS));
    await device.tpm.removeEkCertificatesFromNv();
    await device.tpm.writeNvCertificate(0x01c00018, derOf(await labEkCertificate(ek.area, vendor, new Date(now - YEAR_MS), new Date(now + 15 * YEAR_MS))));
    await device.service.call(admin.tenant.addTrustAnchors, { body: { pem: vendor.certificate.toString('pem'), label: 'Lab P-521 TPM Vendor' } });
    await device.register();
  });

  afterAll(async () => {
    await device?.close();
  });

  it('is made from the TCG template: P-521, SHA-512 names, PolicyB, AES-256-CFB, usable with its empty password', async () => {
    const tpm = await Tpm.open({ tcti: device.tpm.tcti });
    try {
      expect((await tpm.ekCertificates()).map((c) => [c.kind, c.nvIndex])).toEqual([['ecc-p521', 0x01c00018]]);
      const { area, persistent } = await tpm.ekPublic('ecc-p521');
      expect(persistent).toBe(false);
      expect(area.type === TpmAlg.ECC && [area.curve, area.nameAlg, area.symmetric.keyBits, area.x.length, area.y.length]).toEqual([TpmEccCurve.NIST_P521, TpmAlg.SHA512, 256, 66, 66]);
    } finally {
      await tpm.close();
    }
  });

  it('attests with it: the service makes the credential for a P-521 EK (ECDH, KDFe with SHA-512), the TPM activates it', async () => {
    const run = device.fresh();
    const result = await device.deploy(run);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(ekKind(run.state)).toBe('ecc-p521');
  });
});

// An EK certificate issued by an intermediate the service does not have, as many real TPMs'
// are: the failure names the missing link; the intermediate in the TPM's chain NV indices (TCG
// EK Credential Profile, 0x01C00100–0x01C001FF) lets the device attest — a real swtpm provisioned
// that way, `selfdeploy deploy` and `selfdeploy tpm check` against the real service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { admin } from '../../protocol/api/endpoints.js';
import { YEAR_MS, derOf, labCa, labEkCertificate, type LabCa } from '../../lab/ek-pki.js';
import { Tpm } from '../tpm/tpm.js';
import { LabDevice, runCli } from './testing/lab-device.js';

describe('an EK certificate chain the TPM keeps in NV', () => {
  let device: LabDevice;
  let intermediate: LabCa;

  beforeAll(async () => {
    device = await LabDevice.create('CHAIN-0001');
    const now = Date.now();
    const root = await labCa('Lab TPM Vendor Root', new Date(now - 5 * YEAR_MS), new Date(now + 20 * YEAR_MS));
    intermediate = await labCa('Lab TPM Vendor EK Intermediate', new Date(now - 2 * YEAR_MS), new Date(now + 10 * YEAR_MS), root);
    const tpm = await Tpm.open({ tcti: device.tpm.tcti });
    const ek = await tpm.ekPublic('rsa-2048');
    await tpm.close();
    // The TPM's own EK certificate, replaced by one from this vendor's intermediate.
    await device.tpm.removeEkCertificatesFromNv();
    await device.tpm.writeNvCertificate(0x01c00002, derOf(await labEkCertificate(ek.area, intermediate, new Date(now - YEAR_MS), new Date(now + 15 * YEAR_MS))));
    await device.service.call(admin.tenant.addTrustAnchors, { body: { pem: root.certificate.toString('pem'), label: 'Lab TPM Vendor' } });
    await device.register();
  });

  afterAll(async () => {
    await device?.close();
  });

  it('without the intermediate: fails naming the link that is missing and what to add', async () => {
    const result = await device.deploy(device.fresh());
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('EK_CERTIFICATE_UNTRUSTED');
    expect(result.stderr).toContain('whose issuer CN=Lab TPM Vendor EK Intermediate is neither a trust anchor nor among the intermediates the TPM sent');
  });

  it('with the intermediate in the chain NV index: tpm check and the deployment pass', async () => {
    await device.tpm.writeNvCertificate(0x01c00100, derOf(intermediate.certificate));
    const check = await runCli(['tpm', 'check', '--tcti', device.tpm.tcti, '--server', device.service.url!.href, '--ca', device.caFile, '--identity', device.identityFile]);
    expect(check.stdout).toMatch(/ok {4}Trusted by the service +the EK certificate chains to CN=Lab TPM Vendor Root/);
    const result = await device.deploy(device.fresh());
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const anchors = (await device.service.call(admin.tenant.listTrustAnchors)).items;
    expect(anchors.find((a) => a.subject === 'CN=Lab TPM Vendor Root')?.devices).toBe(1);
  });
});

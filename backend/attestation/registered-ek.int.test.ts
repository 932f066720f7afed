// The offline route for a TPM that keeps no EK certificate: an administrator registers the
// certificate a technician fetched from the vendor's service with the device, and the service
// uses it when the device attests without one — checked like one the TPM sent (it must certify
// the EK and chain to a trust anchor). A real swtpm with its certificates taken out of NV, on
// SQLite and PostgreSQL.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { admin, device as deviceApi } from '../../protocol/api/endpoints.js';
import { base64Encode, toHex } from '../../protocol/encoding.js';
import { hash } from '../../lab/identities.js';
import { SwtpmLab, type LabTpm } from '../../lab/swtpm.js';
import type { EndorsementKey, KeyBlob } from '../../main/tpm/port.js';
import { Tpm } from '../../main/tpm/tpm.js';
import { startTestService, type TestService } from '../testing/service.js';

describe.each(['sqlite', 'postgres'] as const)('an EK certificate registered with a device, on %s', (kind) => {
  let lab: SwtpmLab;
  let swtpm: LabTpm;
  let tpm: Tpm;
  let service: TestService;
  let ek: EndorsementKey;
  let ak: KeyBlob;
  let deviceId: string;
  let registration: { serial: string; hardwareHash: string };

  beforeAll(async () => {
    lab = await SwtpmLab.create();
    swtpm = await lab.startTpm();
    await swtpm.removeEkCertificatesFromNv();
    tpm = await Tpm.open({ tcti: swtpm.tcti });
    ({ ek } = await tpm.primaryEk());
    ak = await tpm.createAk();
    service = await startTestService(kind, kind === 'postgres' ? inject('postgresAdminUrl') : undefined, { swtpmLocalCa: join(lab.dir, 'ca') }, { deviceRateLimitPerMinute: 100_000 });
    registration = { serial: 'SN-PTT-1', hardwareHash: hash(71, { serial: 'SN-PTT-1', ekDigest: toHex(ek.digest), tpmManufacturer: 'IBM' }) };
    deviceId = (await service.call(admin.devices.add, { body: { hardwareHash: registration.hardwareHash } })).id;
  });

  afterAll(async () => {
    await tpm?.close();
    await service?.close();
    await lab?.close();
  });

  const challenge = (certificate?: Uint8Array) =>
    service.request({
      method: 'POST',
      url: deviceApi.attestChallenge.path,
      token: null,
      payload: { registration, ek: { public: base64Encode(ek.public), ...(certificate ? { certificate: base64Encode(certificate) } : {}) }, ak: { public: base64Encode(ak.public) } },
    });
  const register = (pem: string | null) => service.request({ method: 'PUT', url: `/v1/admin/devices/${deviceId}/ek-certificate`, payload: { pem }, token: service.technicianToken });
  const code = (response: { json: <T>() => T }) => response.json<{ code: string }>().code;
  const pemOf = (path: string) => `-----BEGIN CERTIFICATE-----\n${readFileSync(path).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;

  it('is used when the device sends none, and makes it verified hardware', async () => {
    expect(code(await challenge())).toBe('EK_NOT_TRUSTED');
    const registered = await register(pemOf(swtpm.ekCertificatePaths.rsa2048));
    expect(registered.statusCode, registered.body).toBe(200);
    expect(registered.json<{ ekCertificate: unknown }>().ekCertificate).toMatchObject({ issuer: 'CN=swtpm-localca', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const response = await challenge();
    expect(response.statusCode, response.body).toBe(200);
    const row = await service.store.db.selectFrom('attestation_challenges').select('unverified_hardware').where('device_id', '=', deviceId).executeTakeFirstOrThrow();
    expect(row.unverified_hardware).toBe(0);
  });

  it('is checked like one the TPM sent: a certificate of another key is refused at attestation', async () => {
    // The TPM's ECC P-384 EK certificate: from the trusted CA, but not for the RSA EK the device attests with.
    expect((await register(pemOf(swtpm.ekCertificatePaths.eccP384))).statusCode).toBe(200);
    expect(code(await challenge())).toBe('EK_CERTIFICATE_MISMATCH');
    // One the device sends itself comes first.
    expect((await challenge(new Uint8Array(readFileSync(swtpm.ekCertificatePaths.rsa2048)))).statusCode).toBe(200);
  });

  it('refuses what is no EK certificate, and forgets it on request', async () => {
    const garbage = await register('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect([garbage.statusCode, code(garbage)]).toEqual([422, 'VALIDATION_FAILED']);
    const ca = await register(readFileSync(lab.caRootCertPath, 'utf8'));
    expect([ca.statusCode, code(ca)]).toEqual([422, 'VALIDATION_FAILED']);
    expect(ca.body).toContain('CA certificate');
    expect((await register(null)).json<{ ekCertificate: unknown }>().ekCertificate).toBeNull();
    expect(code(await challenge())).toBe('EK_NOT_TRUSTED');
    expect((await service.request({ method: 'PUT', url: '/v1/admin/devices/nope/ek-certificate', payload: { pem: null } })).statusCode).toBe(404);
  });
});

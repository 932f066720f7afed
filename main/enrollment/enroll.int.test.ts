// The agent enrolls into the real service over HTTPS with a real swtpm: attestation, join, device
// certificate, token; a second run reuses everything; a deleted device record revokes it.
import 'reflect-metadata';

import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { toHex } from '../../protocol/encoding.js';
import { ServiceProblem } from '../../protocol/node/https-client.js';
import { parseTpm2bPublic, publicKeyJwk } from '../../protocol/tpm/public.js';
import { hash, identity } from '../../lab/identities.js';
import { SwtpmLab, type LabTpm } from '../../lab/swtpm.js';
import { startTestService, type TestService } from '../../backend/testing/service.js';
import { DeviceApi } from '../backend-client/device-api.js';
import { Tpm } from '../tpm/tpm.js';
import { deviceToken, enroll } from './enroll.js';
import { EnrollmentStore, blobFromState } from './state.js';
import { signJwt } from './tpm-signatures.js';

describe.each(['sqlite', 'postgres'] as const)('enrollment on %s', (kind) => {
  let lab: LabTpm;
  let swtpmLab: SwtpmLab;
  let service: TestService;
  let tpm: Tpm;
  let api: DeviceApi;
  let stateDir: string;
  let registration: { serial: string; hardwareHash: string };
  let deviceId: string;

  beforeAll(async () => {
    swtpmLab = await SwtpmLab.create();
    lab = await swtpmLab.startTpm();
    service = await startTestService(kind, kind === 'postgres' ? inject('postgresAdminUrl') : undefined, { swtpmLocalCa: join(swtpmLab.dir, 'ca') }, { https: true });
    tpm = await Tpm.open({ tcti: lab.tcti });
    api = new DeviceApi({ server: service.url!, ca: service.serviceCa });
    stateDir = mkdtempSync(join(tmpdir(), 'selfdeploy-agent-state-'));
    const ekDigest = toHex((await tpm.primaryEk()).ek.digest);
    registration = { serial: identity(1).serial, hardwareHash: hash(1, { ekDigest, tpmManufacturer: 'IBM' }) };
    const added = await service.request({ method: 'POST', url: '/v1/admin/devices', payload: { hardwareHash: registration.hardwareHash } });
    deviceId = added.json<{ id: string }>().id;
    await service.request({ method: 'POST', url: '/v1/admin/groups', payload: { name: 'kiosks', kind: 'static' } });
    await service.request({ method: 'PUT', url: `/v1/admin/groups/kiosks/members/${deviceId}`, payload: {} });
    await service.request({ method: 'PUT', url: '/v1/admin/profiles/kiosk', payload: { deviceName: { template: 'KIOSK-%RAND:4%' } } });
    await service.request({ method: 'POST', url: '/v1/admin/profiles/kiosk/assignments', payload: { group: 'kiosks' } });
  });

  afterAll(async () => {
    api?.close();
    await tpm?.close();
    await service?.close();
    await swtpmLab?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const challenges = async () => Number((await service.store.db.selectFrom('attestation_challenges').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

  it('attests, joins and receives a device certificate for its TPM-resident key', async () => {
    const store = new EnrollmentStore(stateDir);
    const result = await enroll({ tpm, api, store, registration });
    expect(result).toMatchObject({ deviceId, reused: false, unverifiedHardware: false });
    expect(result.deviceName).toMatch(/^KIOSK-\d{4}$/);

    const certificate = new x509.X509Certificate(result.certificate);
    const deviceCa = new x509.X509Certificate(readFileSync(join(service.dataDir, 'device-ca', 'ca.pem'), 'utf8'));
    expect(await certificate.verify({ publicKey: deviceCa.publicKey })).toBe(true);
    expect(certificate.subject).toBe(`CN=${deviceId}`);
    expect(certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([{ type: 'url', value: `urn:uuid:${deviceId}` }]);
    expect(certificate.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual(['1.3.6.1.5.5.7.3.2']);
    const lifetimeDays = (certificate.notAfter.getTime() - certificate.notBefore.getTime()) / 86_400_000;
    expect(Math.round(lifetimeDays)).toBe(365);
    // The certified key is the TPM's device key: the state's blob has the same public key.
    const state = store.load()!;
    const node = new X509Certificate(result.certificate);
    expect(node.publicKey.export({ format: 'jwk' })).toMatchObject(publicKeyJwk(parseTpm2bPublic(blobFromState(state.deviceKey!).public)));

    const view = (await service.request({ method: 'GET', url: `/v1/admin/devices/${deviceId}` })).json<Record<string, unknown>>();
    expect(view).toMatchObject({ state: 'deploying', deviceName: result.deviceName, joinedAt: expect.any(String) });
    const attestation = await service.store.attestations.latestFor(deviceId);
    expect(attestation).toMatchObject({ firmware_version: expect.stringMatching(/^0x[0-9a-f]{16}$/), token_used_at: expect.any(String) });
    expect(JSON.parse(attestation!.pcrs)).toEqual([{ hash: 'sha256', values: expect.objectContaining({ '0': expect.stringMatching(/^[0-9a-f]{64}$/) }) }]);
  });

  it('keeps only TPM-wrapped key blobs and the certificate, readable by the agent only', () => {
    const file = join(stateDir, 'enrollment.json');
    expect(statSync(file).mode & 0o077).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/PRIVATE KEY/);
    expect(JSON.parse(text)).toMatchObject({ deviceId, certificate: expect.stringContaining('BEGIN CERTIFICATE'), ak: { private: expect.any(String) } });
  });

  it('reuses its keys and certificate on a second run instead of enrolling again', async () => {
    const before = await challenges();
    const again = await enroll({ tpm, api, store: new EnrollmentStore(stateDir), registration });
    expect(again).toMatchObject({ deviceId, reused: true });
    expect(await challenges()).toBe(before);
  });

  it('signs in with an assertion signed in the TPM, each assertion once', async () => {
    const store = new EnrollmentStore(stateDir);
    const token = await deviceToken({ tpm, api, store });
    expect(token.accessToken).toMatch(/^sdd_/);
    expect(token.expiresIn).toBe(600);
    expect(await service.store.certificates.verifyAccessToken(token.accessToken)).toBe(deviceId);
    const state = store.load()!;
    const key = blobFromState(state.deviceKey!);
    const now = Math.floor(Date.now() / 1000);
    const assertion = await signJwt({ iss: deviceId, sub: deviceId, aud: api.tokenUrl, jti: 'replayed-assertion-1', exp: now + 60 }, (message) => tpm.signMessage({ key, message }));
    await api.token(() => Promise.resolve(assertion));
    await expect(api.token(() => Promise.resolve(assertion))).rejects.toMatchObject({ code: 'TOKEN_REPLAYED', status: 401 });
  });

  it('is refused a token once its device record is deleted, and can enroll anew after', async () => {
    expect((await service.request({ method: 'DELETE', url: `/v1/admin/devices/${deviceId}/record` })).statusCode).toBe(200);
    const refused = deviceToken({ tpm, api, store: new EnrollmentStore(stateDir) });
    await expect(refused).rejects.toBeInstanceOf(ServiceProblem);
    await expect(refused).rejects.toMatchObject({ code: 'DEVICE_REVOKED' });
    // Its stored certificate is not revoked locally; the next enrollment finds out by trying.
    const revoked = await service.store.db.selectFrom('device_certificates').select('revoked_at').where('device_id', '=', deviceId).execute();
    expect(revoked.every((c) => c.revoked_at !== null)).toBe(true);
    const store = new EnrollmentStore(stateDir);
    const state = store.load()!;
    store.save({ ...state, certificate: undefined });
    const fresh = await enroll({ tpm, api, store, registration });
    expect(fresh).toMatchObject({ deviceId, reused: false });
    expect((await deviceToken({ tpm, api, store })).accessToken).toMatch(/^sdd_/);
  });
});

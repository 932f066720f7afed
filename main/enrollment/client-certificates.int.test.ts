// POST /v1/mdm/certificates/{itemId} with a real swtpm device that joined the real service: the
// certificate is issued only for a key the device key certifies, over this item's nonce, with a CSR
// of that same key, for a device-client item assigned to the device.
import { X509Certificate, randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clientCertificateNonce, type ClientCertificateRequest } from '../../protocol/api/mdm.js';
import { base64Encode } from '../../protocol/encoding.js';
import { ServiceProblem } from '../../protocol/node/https-client.js';
import { parseTpm2bPublic } from '../../protocol/tpm/public.js';
import { DeviceApi } from '../backend-client/device-api.js';
import { LabDevice } from '../deploy/testing/lab-device.js';
import { Tpm } from '../tpm/tpm.js';
import { requestClientCertificate } from './client-certificates.js';
import { deviceToken } from './enroll.js';
import { EnrollmentStore, blobFromState } from './state.js';
import { buildCsr } from './tpm-signatures.js';

describe('client certificates for TPM keys', () => {
  let device: LabDevice;
  let tpm: Tpm;
  let api: DeviceApi;
  let store: EnrollmentStore;
  let token: string;
  let itemId: string;
  let rootItemId: string;

  beforeAll(async () => {
    device = await LabDevice.create('LAB-CLIENT-CERT');
    await device.register();
    const run = await device.runEngine();
    expect(run.outcome.status).toBe('provisioned');
    tpm = await Tpm.open({ tcti: device.tpm.tcti });
    api = new DeviceApi({ server: device.service.url!, ca: device.service.serviceCa, timeoutMs: 10_000 });
    store = new EnrollmentStore(run.paths.state);
    token = (await deviceToken({ tpm, api, store })).accessToken;
    const items = (await api.assignments(token)).items;
    itemId = items.find((item) => item.name === 'device-network')!.id;
    rootItemId = items.find((item) => item.name === 'fabrikam-root')!.id;
  });

  afterAll(async () => {
    api?.close();
    await tpm?.close();
    await device?.close();
  });

  /** A request as the agent makes it, with one part replaced. */
  async function request(tamper: { certifier?: 'device' | 'other'; nonceFor?: string; csrKey?: 'same' | 'other' } = {}): Promise<ClientCertificateRequest> {
    const deviceKey = blobFromState(store.load()!.deviceKey!);
    const key = await tpm.createDeviceKey();
    const certifier = tamper.certifier === 'other' ? await tpm.createDeviceKey() : deviceKey;
    const certification = await tpm.certify({ key, ak: certifier, qualifyingData: clientCertificateNonce(tamper.nonceFor ?? itemId) });
    const csrKey = tamper.csrKey === 'other' ? await tpm.createDeviceKey() : key;
    const csr = await buildCsr('kiosk', parseTpm2bPublic(csrKey.public), (message) => tpm.signMessage({ key: csrKey, message }));
    return { key: { public: base64Encode(key.public), certifyInfo: base64Encode(certification.attest), certifySignature: base64Encode(certification.signature) }, csr };
  }

  async function refusal(id: string, body: ClientCertificateRequest): Promise<string> {
    try {
      await api.clientCertificate(token, id, body);
    } catch (error) {
      if (error instanceof ServiceProblem) return error.code;
      throw error;
    }
    return 'issued';
  }

  it('issues a clientAuth certificate from the device CA for a key the device key certifies', async () => {
    const issued = await requestClientCertificate({ tpm, store, api, token, itemId, commonName: 'kiosk' });
    const certificate = new X509Certificate(issued.certificate);
    expect(certificate.verify(new X509Certificate(issued.chain).publicKey)).toBe(true);
    expect(certificate.keyUsage).toContain('1.3.6.1.5.5.7.3.2'); // clientAuth
    expect(issued.keyFile).toMatch(/^-----BEGIN TSS2 PRIVATE KEY-----\n/);
  });

  it('refuses a key certified by another key than the device key', async () => {
    expect(await refusal(itemId, await request({ certifier: 'other' }))).toBe('CERTIFY_SIGNATURE_INVALID');
  });

  it('refuses a certification made for another item', async () => {
    expect(await refusal(itemId, await request({ nonceFor: rootItemId }))).toBe('CERTIFY_NONCE_MISMATCH');
  });

  it('refuses a CSR for another key than the certified one', async () => {
    expect(await refusal(itemId, await request({ csrKey: 'other' }))).toBe('CSR_KEY_MISMATCH');
  });

  it('refuses an item that is not assigned, or not a device-client certificate', async () => {
    const other = randomUUID();
    expect(await refusal(other, await request({ nonceFor: other }))).toBe('NOT_FOUND');
    expect(await refusal(rootItemId, await request({ nonceFor: rootItemId }))).toBe('VALIDATION_FAILED');
  });

  it('refuses without the device’s token', async () => {
    await expect(api.clientCertificate('sdd_not-a-token', itemId, await request())).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

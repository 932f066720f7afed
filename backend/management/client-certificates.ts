// Client certificates for device-client certificate items (POST /v1/mdm/certificates/{itemId}):
// the device makes a new key in its TPM, certifies it with its device key (TPM2_Certify, so the
// new key provably lives in the TPM the device certificate was issued for) and sends a CSR; the
// service checks all of it and issues a clientAuth certificate from the device CA.
import { clientCertificateNonce, type ClientCertificateRequest, type ClientCertificateResponse } from '../../protocol/api/mdm.js';
import type { AssignedItem } from '../../protocol/items.js';
import { verifyCsr } from '../attestation/csr.js';
import { bytesOf, checkDeviceKey, parsePublic, verifyCertification } from '../attestation/verify.js';
import { ServiceError, notFound } from '../errors.js';
import type { Store } from '../store/store.js';
import { issueDeviceCertificate, type SigningCa } from '../tenant/pki.js';

export async function issueClientCertificate(input: {
  store: Store;
  signer: SigningCa;
  chain: string;
  deviceId: string;
  itemId: string;
  assigned: readonly AssignedItem[];
  request: ClientCertificateRequest;
}): Promise<ClientCertificateResponse> {
  const item = input.assigned.find((candidate) => candidate.id === input.itemId);
  if (!item) throw notFound(`certificate item ${input.itemId} assigned to this device`);
  if (item.kind !== 'certificate' || item.payload.type !== 'device-client') throw new ServiceError('VALIDATION_FAILED', `item "${item.name}" is not a device-client certificate item`);
  const certificate = await input.store.certificates.live(input.deviceId);
  if (!certificate) throw new ServiceError('DEVICE_REVOKED', 'the device has no valid certificate (deleted or revoked)');

  const key = parsePublic('key.public', input.request.key.public).area;
  checkDeviceKey(key);
  verifyCertification({
    // The device key signs here, where the AK signed at join: TPM2_Certify takes any signing key.
    ak: parsePublic('device key', certificate.device_key_public).area,
    key,
    attest: bytesOf('key.certifyInfo', input.request.key.certifyInfo),
    signature: bytesOf('key.certifySignature', input.request.key.certifySignature),
    nonce: clientCertificateNonce(input.itemId),
  });
  const csr = verifyCsr(input.request.csr, key);
  const issued = issueDeviceCertificate(input.signer, input.deviceId, csr.publicKey);
  return { certificate: issued.pem, chain: input.chain, notAfter: issued.notAfter.toISOString() };
}

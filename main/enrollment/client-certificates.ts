// Client certificates for device-client certificate items: a new ECDSA P-256 key made in the TPM,
// certified by the device key (TPM2_Certify over the item's nonce) so that the service knows it
// lives in the TPM its device certificate names, a CSR signed by the new key, and the certificate
// the service issues (POST /v1/mdm/certificates/{itemId}); the key kept as a TSS2 key file whose
// parent, the SRK, is made persistent at the handle the file names.
import { clientCertificateNonce } from '../../protocol/api/mdm.js';
import { base64Encode } from '../../protocol/encoding.js';
import { parseTpm2bPublic } from '../../protocol/tpm/public.js';
import type { BackendPort } from '../backend-client/port.js';
import { tss2PrivateKeyPem } from '../../protocol/tpm/key-file.js';
import { SRK_PERSISTENT_HANDLE } from '../tpm/templates.js';
import type { TpmPort } from '../tpm/port.js';
import { blobFromState, type EnrollmentStatePort } from './state.js';
import { buildCsr } from './tpm-signatures.js';

export class NotJoinedError extends Error {
  readonly code = 'ITEM_FAILED' as const;
  override name = 'NotJoinedError';
}

export async function requestClientCertificate(input: {
  tpm: TpmPort;
  store: EnrollmentStatePort;
  api: Pick<BackendPort, 'clientCertificate'>;
  token: string;
  itemId: string;
  commonName: string;
}): Promise<{ certificate: string; chain: string; keyFile: string }> {
  const state = input.store.load();
  if (!state?.deviceKey) throw new NotJoinedError('the device has no device key: it must join before it can get client certificates');
  const deviceKey = blobFromState(state.deviceKey);
  const key = await input.tpm.createDeviceKey();
  const certification = await input.tpm.certify({ key, ak: deviceKey, qualifyingData: clientCertificateNonce(input.itemId) });
  const csr = await buildCsr(input.commonName, parseTpm2bPublic(key.public), (message) => input.tpm.signMessage({ key, message }));
  const issued = await input.api.clientCertificate(input.token, input.itemId, {
    key: { public: base64Encode(key.public), certifyInfo: base64Encode(certification.attest), certifySignature: base64Encode(certification.signature) },
    csr,
  });
  // The key file names its parent by the SRK's persistent handle: make sure the TPM holds it there.
  await input.tpm.persistParent(key);
  return { certificate: issued.certificate, chain: issued.chain, keyFile: tss2PrivateKeyPem(key, SRK_PERSISTENT_HANDLE) };
}

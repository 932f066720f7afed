// The software TPM produces what the service accepts from a real one: credentials it makes
// activate, quotes and certifications verify, the EK certificate chains to its manufacturer CA.
import { describe, expect, it } from 'vitest';

import { checkAk, checkDeviceKey, checkEk, verifyCertification, verifyEkCertificate, verifyQuote } from '../backend/attestation/verify.js';
import { createCa } from '../backend/tenant/pki.js';
import { makeCredential } from '../protocol/node/credential.js';
import { TpmAlg } from '../protocol/tpm/constants.js';
import { parseTpm2bPublic } from '../protocol/tpm/public.js';
import { SoftTpm } from './soft-tpm.js';

describe('SoftTpm', () => {
  it('passes every service check a real TPM passes', async () => {
    const manufacturer = await createCa('soft TPM manufacturer');
    const tpm = await SoftTpm.create(manufacturer);
    const { ek, certificate } = await tpm.primaryEk();
    checkEk(ek.area);
    expect(verifyEkCertificate(certificate!.der, ek.area, [manufacturer.certificatePem])).toHaveLength(1); // through the manufacturer's CA

    const ak = await tpm.createAk();
    const akArea = parseTpm2bPublic(ak.public);
    checkAk(akArea);
    const secret = new Uint8Array(32).fill(9);
    const credential = makeCredential(ek.area, ak.name, secret);
    expect(await tpm.activateCredential({ ak, credentialBlob: credential.idObject, secret: credential.encryptedSecret })).toEqual(secret);
    const other = await tpm.createAk();
    await expect(tpm.activateCredential({ ak: other, credentialBlob: credential.idObject, secret: credential.encryptedSecret })).rejects.toThrow(/TPM_RC_INTEGRITY/);

    const nonce = new Uint8Array(32).fill(3);
    const selection = [{ hashAlg: TpmAlg.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }];
    const quote = await tpm.quote({ ak, qualifyingData: nonce, pcrs: selection });
    verifyQuote({ ak: akArea, attest: quote.attest, signature: quote.signature, nonce, selection, values: quote.pcrs });

    const key = await tpm.createDeviceKey();
    const keyArea = parseTpm2bPublic(key.public);
    checkDeviceKey(keyArea);
    const certification = await tpm.certify({ key, ak, qualifyingData: nonce });
    verifyCertification({ ak: akArea, key: keyArea, attest: certification.attest, signature: certification.signature, nonce });
    await expect(tpm.loadKey({ ...key, private: new Uint8Array(16) })).rejects.toMatchObject({ code: 'TPM_PARENT_MISMATCH' });
  });
});

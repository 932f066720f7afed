// The service's certificate-request check: a request the agent builds (its own code, a software
// TPM's key) passes; anything else is refused with the code of what is wrong.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { children, readElement } from '../../protocol/node/der.js';
import { parseTpm2bPublic, publicKeyJwk } from '../../protocol/tpm/public.js';
import { SoftTpm } from '../../lab/soft-tpm.js';
import { buildCsr } from '../../main/enrollment/tpm-signatures.js';
import { createCa } from '../tenant/pki.js';
import { verifyCsr } from './csr.js';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('verifyCsr', () => {
  async function deviceKey() {
    const tpm = await SoftTpm.create(await createCa('test manufacturer'));
    const key = await tpm.createDeviceKey();
    const area = parseTpm2bPublic(key.public);
    const csr = await buildCsr('SN-1', area, (message) => tpm.signMessage({ key, message }));
    return { tpm, key, area, csr };
  }

  it("passes the agent's own request and gives the key it is for", async () => {
    const { area, csr } = await deviceKey();
    const verified = verifyCsr(csr, area);
    const spki = createPublicKey({ key: publicKeyJwk(area), format: 'jwk' }).export({ type: 'spki', format: 'der' });
    expect(Buffer.from(verified.publicKey).equals(spki)).toBe(true);
    expect(Buffer.from(verified.key.export({ type: 'spki', format: 'der' })).equals(spki)).toBe(true);
  });

  it('refuses a request for another key, a tampered signature, garbage, and a signature algorithm other than ECDSA', async () => {
    const { area, csr } = await deviceKey();
    const other = await deviceKey();
    expect(() => verifyCsr(csr, other.area)).toThrow(expect.objectContaining({ code: 'CSR_KEY_MISMATCH' }));
    const der = Buffer.from(csr.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    der[der.length - 3]! ^= 0x01; // inside the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => verifyCsr(tampered, area)).toThrow(expect.objectContaining({ code: 'CSR_INVALID', message: expect.stringContaining('signature is not valid') }));
    for (const garbage of ['hello', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', `${csr}trailing`]) {
      expect(() => verifyCsr(garbage, area), garbage.slice(0, 20)).toThrow(expect.objectContaining({ code: 'CSR_INVALID', message: 'the certificate request is not a PEM PKCS#10 request' }));
    }
    // The same request info signed with RSA (sha256WithRSAEncryption): not what a device key signs.
    const request = readElement(new Uint8Array(Buffer.from(csr.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')));
    const [info] = children(request);
    const rsa = createPrivateKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const signature = sign('sha256', info!.bytes, rsa);
    const algorithm = bytes(0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00);
    const bits = new Uint8Array([0x03, 0x82, 0x01, 0x01, 0x00, ...signature]);
    const content = new Uint8Array([...info!.bytes, ...algorithm, ...bits]);
    const outer = new Uint8Array([0x30, 0x82, content.length >> 8, content.length & 0xff, ...content]);
    const rsaSigned = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(outer).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => verifyCsr(rsaSigned, area)).toThrow(expect.objectContaining({ code: 'CSR_INVALID', message: expect.stringContaining('must be ECDSA') }));
  });
});

// Signatures made in the TPM by the device key, shaped for the formats that carry them: a
// PKCS#10 request (DER ECDSA-Sig-Value) and a JWS (ES256: r || s, RFC 7518 §3.4).
import 'reflect-metadata';

import { createPublicKey } from 'node:crypto';

import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AlgorithmIdentifier, Name, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';

import { base64url, utf8Encode } from '../../protocol/encoding.js';
import { TpmAlg } from '../../protocol/tpm/constants.js';
import { publicKeyJwk, type TpmtPublic } from '../../protocol/tpm/public.js';
import { parseTpmtSignature, signatureBytes } from '../../protocol/tpm/signature.js';

/** Signs SHA-256(message) with the device key in the TPM; returns a TPMT_SIGNATURE. */
export type MessageSigner = (message: Uint8Array) => Promise<Uint8Array>;

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

function ecdsaParts(tpmtSignature: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  const signature = parseTpmtSignature(tpmtSignature);
  if (signature.sigAlg !== TpmAlg.ECDSA || signature.hashAlg !== TpmAlg.SHA256) throw new RangeError('the device key must sign with ECDSA-SHA256');
  return { r: signature.r, s: signature.s };
}

/** DER INTEGER: minimal, positive (a leading zero when the high bit is set). */
function derInteger(value: Uint8Array): Uint8Array {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const body = value[start]! & 0x80 ? Uint8Array.from([0, ...value.subarray(start)]) : value.subarray(start);
  return Uint8Array.from([0x02, body.length, ...body]);
}

function derEcdsaSignature(r: Uint8Array, s: Uint8Array): Uint8Array {
  const content = Uint8Array.from([...derInteger(r), ...derInteger(s)]);
  return Uint8Array.from([0x30, content.length, ...content]);
}

/** A PKCS#10 request (RFC 2986) for the TPM-resident key, signed by it. */
export async function buildCsr(commonName: string, key: TpmtPublic, sign: MessageSigner): Promise<string> {
  const spki = createPublicKey({ key: publicKeyJwk(key), format: 'jwk' }).export({ type: 'spki', format: 'der' });
  const subject = AsnConvert.parse(new x509.Name([{ CN: [commonName] }]).toArrayBuffer(), Name);
  const info = new CertificationRequestInfo({ subject, subjectPKInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo) });
  const toSign = new Uint8Array(AsnConvert.serialize(info));
  const { r, s } = ecdsaParts(await sign(toSign));
  const request = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    signature: derEcdsaSignature(r, s).slice().buffer,
  });
  const der = Buffer.from(AsnConvert.serialize(request));
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** A compact JWS (RFC 7515) with ES256, signed in the TPM. */
export async function signJwt(claims: Record<string, unknown>, sign: MessageSigner): Promise<string> {
  const header = base64url(utf8Encode(JSON.stringify({ alg: 'ES256', typ: 'JWT' })));
  const payload = base64url(utf8Encode(JSON.stringify(claims)));
  const input = `${header}.${payload}`;
  const signature = parseTpmtSignature(await sign(utf8Encode(input)));
  return `${input}.${base64url(signatureBytes(signature, 32))}`;
}

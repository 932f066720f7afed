// A TPM manufacturer's PKI for tests: CAs with any validity (an intermediate that has expired, one
// issued in the past) and EK certificates for a real TPM's EK, optionally naming where their
// issuer is (Authority Information Access, caIssuers) — what real vendors' chains look like.
import 'reflect-metadata';

import { createPublicKey, webcrypto } from 'node:crypto';

import * as x509 from '@peculiar/x509';

import { publicKeyJwk, type TpmtPublic } from '../protocol/tpm/public.js';
import '../backend/tenant/pki.js'; // registers Node's WebCrypto with @peculiar/x509

const ECDSA = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as const;
export const YEAR_MS = 365 * 86_400_000;

export interface LabCa {
  certificate: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

const serial = () => Array.from(webcrypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('').replace(/^[89a-f]/, '1');

/** A CA certificate (self-signed, or issued by `issuer`), valid from `notBefore` to `notAfter`. */
export async function labCa(name: string, notBefore: Date, notAfter: Date, issuer?: LabCa): Promise<LabCa> {
  const keys = (await webcrypto.subtle.generateKey(ECDSA, false, ['sign', 'verify']));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${name}`,
    issuer: issuer ? issuer.certificate.subject : `CN=${name}`,
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA,
    publicKey: keys.publicKey,
    signingKey: (issuer?.keys ?? keys).privateKey,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { certificate, keys };
}

/** An EK certificate (empty subject, as EK certificates have) for `ek`, issued by `issuer`; naming its issuer's URL when `caIssuers`. */
export async function labEkCertificate(ek: TpmtPublic, issuer: LabCa, notBefore: Date, notAfter: Date, caIssuers?: string): Promise<x509.X509Certificate> {
  const spki = createPublicKey({ key: publicKeyJwk(ek), format: 'jwk' }).export({ format: 'der', type: 'spki' });
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: '',
    issuer: issuer.certificate.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA,
    publicKey: new Uint8Array(spki),
    signingKey: issuer.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment, true),
      ...(caIssuers ? [new x509.AuthorityInfoAccessExtension({ caIssuers: new x509.GeneralName('url', caIssuers) })] : []),
    ],
  });
}

export const derOf = (certificate: x509.X509Certificate) => new Uint8Array(certificate.rawData);

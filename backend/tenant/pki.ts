// The service's certificates, all ECDSA P-256: the service CA and HTTPS certificate it issues
// itself for labs, and the device CA that will sign device certificates at join. PEM in, PEM
// out; private keys are written only to the data directory with mode 0600.
import 'reflect-metadata';

import { X509Certificate, createHash, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

import * as x509 from '@peculiar/x509';
import { distinguishedName } from '../../protocol/node/certificate-names.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

// @peculiar/x509 is typed against the DOM's WebCrypto; Node's is the same API.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

export interface IssuedCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

export function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive (RFC 5280 §4.1.2.2)
  return bytes.toString('hex');
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']));
}

/** A PKCS#8 ECDSA P-256 key for signing certificates. */
export async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----(BEGIN|END) PRIVATE KEY-----|\s/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ECDSA, false, ['sign']);
}

/** A self-signed CA (path length 0: it signs end-entity certificates only). */
export async function createCa(commonName: string, years = 20): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: new x509.Name([{ CN: [commonName] }]).toString(),
    notBefore,
    notAfter: new Date(notBefore.getTime() + years * YEAR_MS),
    signingAlgorithm: ECDSA,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString('pem') + '\n', privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/** An HTTPS server certificate for `names` (DNS names or IP addresses), issued by `ca`. */
export async function issueServerCertificate(ca: IssuedCertificate, names: readonly string[], years = 2): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const issuer = new x509.X509Certificate(ca.certificatePem);
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: new x509.Name([{ CN: [names[0] ?? 'localhost'] }]).toString(),
    issuer: issuer.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + years * YEAR_MS),
    signingAlgorithm: ECDSA,
    publicKey: keys.publicKey,
    signingKey: await importPrivateKey(ca.privateKeyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(issuer, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString('pem') + '\n', privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * A device certificate from the device CA: subject CN=<device id>, SAN URI urn:uuid:<device id>,
 * clientAuth, one year, for the TPM-resident device key the CSR carried.
 */
export async function issueDeviceCertificate(
  ca: IssuedCertificate | SigningCa,
  deviceId: string,
  /** The device key's SubjectPublicKeyInfo (DER), as a verified request gives it. */
  publicKey: Uint8Array,
): Promise<{ pem: string; serialNumber: string; notBefore: Date; notAfter: Date }> {
  const signer = 'signingKey' in ca ? ca : await signingCa(ca);
  const issuer = signer.certificate;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + YEAR_MS);
  const serial = serialNumber();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: new x509.Name([{ CN: [deviceId] }]).toString(),
    issuer: issuer.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA,
    publicKey,
    signingKey: signer.signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:uuid:${deviceId}` }]),
      await x509.AuthorityKeyIdentifierExtension.create(issuer, false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return { pem: certificate.toString('pem') + '\n', serialNumber: serial, notBefore, notAfter };
}

/** A CA ready to sign: its certificate parsed and its key imported once, not per certificate. */
export interface SigningCa {
  certificate: x509.X509Certificate;
  signingKey: CryptoKey;
}

export async function signingCa(ca: IssuedCertificate): Promise<SigningCa> {
  return { certificate: new x509.X509Certificate(ca.certificatePem), signingKey: await importPrivateKey(ca.privateKeyPem) };
}

/** Every certificate in a PEM text, in order. */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export interface CertificateFacts {
  pem: string;
  subject: string;
  issuer: string;
  fingerprint: string;
  notBefore: string;
  notAfter: string;
  /** "RSA 2048", "EC P-384" … */
  keyType: string;
  isCa: boolean;
  validNow: boolean;
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

function keyTypeOf(certificate: X509Certificate): string {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') return `RSA ${details.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') return `EC ${CURVES[details.namedCurve ?? ''] ?? details.namedCurve ?? '?'}`;
  return key.asymmetricKeyType?.toUpperCase() ?? 'unknown';
}

export function certificateFacts(pem: string, at = new Date()): CertificateFacts {
  const certificate = new X509Certificate(pem);
  return {
    pem: certificate.toString(),
    subject: distinguishedName(certificate.subject),
    issuer: distinguishedName(certificate.issuer),
    fingerprint: createHash('sha256').update(certificate.raw).digest('hex'),
    notBefore: new Date(certificate.validFrom).toISOString(),
    notAfter: new Date(certificate.validTo).toISOString(),
    keyType: keyTypeOf(certificate),
    isCa: certificate.ca,
    validNow: new Date(certificate.validFrom) <= at && at <= new Date(certificate.validTo),
  };
}

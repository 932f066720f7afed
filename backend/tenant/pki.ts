// The service's certificates, all ECDSA P-256: the service CA and HTTPS certificate it issues
// itself for labs, and the device CA that will sign device certificates at join. PEM in, PEM
// out; private keys are written only to the data directory with mode 0600.
import 'reflect-metadata';

import { X509Certificate, createHash, createPrivateKey, randomBytes, sign, webcrypto, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

import * as x509 from '@peculiar/x509';
import { distinguishedName } from '../../protocol/node/certificate-names.js';
import { children, element, encodeOid, encodeTime, encodeUnsigned, oid, readElement, sequence } from '../../protocol/node/der.js';

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
  bytes[0] = bytes[0]! & 0x7f || 0x01; // positive, and no leading zero byte (RFC 5280 §4.1.2.2; DER's shortest form)
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

/** The OIDs and fixed parts of device certificates (RFC 5280). */
const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  subjectAltName: '2.5.29.17',
  authorityKeyIdentifier: '2.5.29.35',
  subjectKeyIdentifier: '2.5.29.14',
} as const;
const TRUE = new Uint8Array([0x01, 0x01, 0xff]);
const ECDSA_SHA256 = sequence(encodeOid(OID.ecdsaWithSha256));
const extension = (oid: string, critical: boolean, value: Uint8Array) => sequence(encodeOid(oid), ...(critical ? [TRUE] : []), element(0x04, value));
const utf8 = (text: string) => new TextEncoder().encode(text);

/** The key identifier of a SubjectPublicKeyInfo: SHA-1 of its subjectPublicKey bits (RFC 5280 §4.2.1.2, method 1). */
function keyIdentifier(spki: Uint8Array): Uint8Array {
  const [, bits] = children(readElement(spki));
  return new Uint8Array(createHash('sha1').update(bits!.content.subarray(1)).digest());
}

/**
 * A device certificate for the device key in the CSR, signed by the device CA: subject CN=device
 * id, clientAuth, one year. Its DER is written directly (no certificate library on this path) and
 * signed with Node's crypto; what it holds is what the agent, OpenSSL and 802.1X servers read.
 */
export function issueDeviceCertificate(
  signer: SigningCa,
  deviceId: string,
  /** The device key's SubjectPublicKeyInfo (DER), as a verified request gives it. */
  publicKey: Uint8Array,
): { pem: string; serialNumber: string; notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Math.floor((Date.now() - 60_000) / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + YEAR_MS);
  const serial = serialNumber();
  const tbs = sequence(
    element(0xa0, encodeUnsigned(new Uint8Array([2]))), // v3
    encodeUnsigned(Buffer.from(serial, 'hex')),
    ECDSA_SHA256,
    signer.issuerName,
    sequence(encodeTime(notBefore), encodeTime(notAfter)),
    sequence(element(0x31, sequence(encodeOid(OID.commonName), element(0x0c, utf8(deviceId))))),
    publicKey,
    element(
      0xa3,
      sequence(
        extension(OID.basicConstraints, true, sequence()),
        extension(OID.keyUsage, true, new Uint8Array([0x03, 0x02, 0x07, 0x80])), // digitalSignature
        extension(OID.extKeyUsage, false, sequence(encodeOid(OID.clientAuth))),
        extension(OID.subjectAltName, false, sequence(element(0x86, utf8(`urn:uuid:${deviceId}`)))),
        extension(OID.authorityKeyIdentifier, false, sequence(element(0x80, signer.authorityKeyId))),
        extension(OID.subjectKeyIdentifier, false, element(0x04, keyIdentifier(publicKey))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, { key: signer.privateKey, dsaEncoding: 'der' });
  const der = sequence(tbs, ECDSA_SHA256, element(0x03, new Uint8Array([0]), new Uint8Array(signature)));
  const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  return { pem, serialNumber: serial, notBefore, notAfter };
}

/** A CA ready to sign device certificates: what they need of it read once, not per certificate. */
export interface SigningCa {
  privateKey: KeyObject;
  /** The CA's subject as DER: the issuer of what it signs. */
  issuerName: Uint8Array;
  /** Its key identifier: its certificate's subjectKeyIdentifier, else computed from its key. */
  authorityKeyId: Uint8Array;
}

export function signingCa(ca: IssuedCertificate): SigningCa {
  const [tbs] = children(readElement(new Uint8Array(new X509Certificate(ca.certificatePem).raw)));
  const fields = children(tbs!);
  const offset = fields[0]!.tag === 0xa0 ? 1 : 0; // [0] version
  const spki = fields[offset + 5]!.bytes;
  const extensions = fields.find((f) => f.tag === 0xa3);
  const ski = extensions
    ? children(children(extensions)[0]!)
        .map((e) => children(e))
        .find((e) => oid(e[0]!) === OID.subjectKeyIdentifier)
    : undefined;
  return {
    privateKey: createPrivateKey(ca.privateKeyPem),
    issuerName: fields[offset + 4]!.bytes,
    authorityKeyId: ski ? readElement(ski.at(-1)!.content).content : keyIdentifier(spki),
  };
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

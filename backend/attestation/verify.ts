// The service's checks of what a device presents: each returns the verified value or throws a
// ServiceError with the code of exactly what failed. Nothing here touches the store.
import 'reflect-metadata';

import { X509Certificate, createHash, verify as verifySignature, type KeyObject } from 'node:crypto';

import * as x509 from '@peculiar/x509';

import { ClientAssertionClaimsSchema } from '../../protocol/api/attest.js';
import { base64Decode, utf8Decode } from '../../protocol/encoding.js';
import { nodeHash, tpmName, verifyTpmSignature } from '../../protocol/node/tpm-crypto.js';
import { parseTpmsAttest, type CertifyAttest, type QuoteAttest } from '../../protocol/tpm/attest.js';
import { TpmDecodeError, equalBytes } from '../../protocol/tpm/bytes.js';
import { TpmAlg, TpmEccCurve, TpmSt, TpmaObject } from '../../protocol/tpm/constants.js';
import { quotedPcrConcatenation, type PcrBankSelection, type PcrBankValues } from '../../protocol/tpm/pcr.js';
import { hasAttributes, parseTpm2bPublic, publicKeyJwk, type TpmtPublic } from '../../protocol/tpm/public.js';
import { parseTpmtSignature } from '../../protocol/tpm/signature.js';
import { ServiceError } from '../errors.js';
import { caIssuerUrls } from './issuers.js';
import '../tenant/pki.js'; // registers Node's WebCrypto with @peculiar/x509

/** Decodes a base64 field of the request; a bad one is a validation failure naming the field. */
export function bytesOf(field: string, text: string): Uint8Array {
  try {
    return base64Decode(text);
  } catch {
    throw new ServiceError('VALIDATION_FAILED', `${field} is not base64`, [{ path: field, reason: 'not base64' }]);
  }
}

/** Parses a TPM structure of the request; malformed bytes are TPM_STRUCTURE_INVALID naming the field. */
export function tpmStructure<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof TpmDecodeError || error instanceof RangeError) {
      throw new ServiceError('TPM_STRUCTURE_INVALID', `${field}: ${error.message}`, [{ path: field, reason: error.message }]);
    }
    throw error;
  }
}

export function parsePublic(field: string, text: string): { area: TpmtPublic; bytes: Uint8Array } {
  const bytes = bytesOf(field, text);
  return { area: tpmStructure(field, () => parseTpm2bPublic(bytes)), bytes };
}

/** An unsigned big-endian integer in base64url, without leading zero bytes, as hex. */
const unsignedHex = (text: string | undefined) => {
  const bytes = Buffer.from(text ?? '', 'base64url');
  let first = 0;
  while (first < bytes.length - 1 && bytes[first] === 0) first++;
  return bytes.subarray(first).toString('hex');
};

/**
 * Whether `key` is the TPM object's public key, compared as JWK (EC coordinates padded to the
 * curve's size on both sides, RSA integers without leading zeros) — no key object made for the area.
 */
function isKeyOf(key: KeyObject, area: TpmtPublic): boolean {
  const a = key.export({ format: 'jwk' });
  const b = publicKeyJwk(area);
  if (a.kty !== b.kty) return false;
  return b.kty === 'RSA' ? unsignedHex(a.n) === unsignedHex(b.n) && unsignedHex(a.e) === unsignedHex(b.e) : a.crv === b.crv && a.x === b.x && a.y === b.y;
}

/** The EK must be a storage key a credential can be made for: restricted decrypt, AES-CFB. */
export function checkEk(ek: TpmtPublic): void {
  const ok =
    hasAttributes(ek, TpmaObject.restricted, TpmaObject.decrypt, TpmaObject.fixedTPM, TpmaObject.fixedParent) &&
    !hasAttributes(ek, TpmaObject.sign) &&
    ek.symmetric.algorithm === TpmAlg.AES &&
    ek.symmetric.mode === TpmAlg.CFB &&
    (ek.type === TpmAlg.RSA || [TpmEccCurve.NIST_P256, TpmEccCurve.NIST_P384, TpmEccCurve.NIST_P521].includes(ek.curve as 3 | 4 | 5));
  if (!ok) throw new ServiceError('EK_INVALID', 'the endorsement key is not a restricted AES-CFB storage key of a TPM');
}

/**
 * When a certificate of an EK chain counts as valid (the tenant's `ekIssuerValidity`):
 * "now" — every certificate of the chain is valid now; "at-issuance" — every certificate was
 * issued while its issuer was valid, and none is from the future. An EK certificate is the TPM's
 * birth certificate, issued once at manufacture and never renewed: a vendor CA that expired since
 * (Infineon's intermediates did in October 2025) stopped issuing, but what it signed while valid
 * is still true.
 */
export type EkIssuerValidity = 'at-issuance' | 'now';

/**
 * The EK certificate chains to a trust anchor through any of the anchors (roots or
 * intermediates), every certificate of the chain is valid as `validity` says and every issuer is a
 * CA, and the certificate's key is the EK. Critical TPM extensions (the directoryName SAN, the EK
 * EKU) are what EK certificates carry and are accepted. Returns the SHA-256 fingerprints of the
 * anchors the chain went through.
 */
/** The most certificates a chain may have (leaf to anchor). */
const MAX_CHAIN = 8;

/** A certificate's name as one line: RDNs joined by ", " (Node gives them one per line, and nothing for an empty name). */
const nameOf = (text: string | undefined) => (text ?? '').split('\n').join(', ');
const validity = (certificate: X509Certificate) => ({ notBefore: new Date(certificate.validFrom), notAfter: new Date(certificate.validTo) });
/** Whether `candidate` is named as the issuer of `certificate`. */
const namedIssuer = (certificate: X509Certificate, candidate: X509Certificate) => nameOf(certificate.issuer) === nameOf(candidate.subject);
/** … and its key signed it. */
const issuedBy = (certificate: X509Certificate, candidate: X509Certificate) => namedIssuer(certificate, candidate) && signedBy(certificate, candidate);

/**
 * Signature checks between certificates that are kept parsed (anchors, intermediates): their
 * outcome never changes, and every challenge would repeat them — whether an anchor is a root (it
 * signed itself), whether an intermediate is an anchor's. Certificates fall out with their parse.
 */
const keptSignatures = new WeakMap<X509Certificate, WeakMap<X509Certificate, boolean>>();
function signedBy(certificate: X509Certificate, candidate: X509Certificate): boolean {
  const kept = keptSignatures.get(certificate);
  if (!kept || !keptSignatures.has(candidate)) return certificate.verify(candidate.publicKey);
  let signed = kept.get(candidate);
  if (signed === undefined) {
    signed = certificate.verify(candidate.publicKey);
    kept.set(candidate, signed);
  }
  return signed;
}
/** Marks a certificate as kept parsed: its signature checks with other kept ones are remembered. */
function keep(certificate: X509Certificate): X509Certificate {
  keptSignatures.set(certificate, new WeakMap());
  return certificate;
}

/**
 * The EK certificate's chain to a trust anchor, through `intermediates`, verified with Node's own
 * (OpenSSL's) X.509 — no certificate is parsed by JavaScript on this path: up from the leaf, each
 * issuer found by name and its signature checked; every issuer a CA; each certificate valid `now`
 * or, with `at-issuance`, issued while its issuer was valid. Returns the fingerprints (SHA-256 of
 * the DER) of the anchors the chain went through.
 */
export function verifyEkCertificate(der: Uint8Array, ek: TpmtPublic, anchorPems: readonly string[], at = new Date(), validityRule: EkIssuerValidity = 'now', intermediates: readonly Uint8Array[] = []): string[] {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(der);
  } catch {
    throw new ServiceError('EK_CERTIFICATE_UNTRUSTED', 'the EK certificate does not parse as X.509');
  }
  if (!isKeyOf(leaf.publicKey, ek)) {
    throw new ServiceError('EK_CERTIFICATE_MISMATCH', `the EK certificate (${nameOf(leaf.subject) || 'no subject'}) certifies another key than the EK`);
  }
  const anchors = anchorPems.map(parsedAnchor);
  const between = intermediates.flatMap((bytes) => {
    try {
      return [parsedDer(bytes)];
    } catch {
      return []; // what does not parse links nothing
    }
  });
  // Up from the leaf to a root or as far as issuers are known — an anchor preferred at each link —
  // then cut after the last anchor: the chain is trusted through it.
  const chain = [leaf];
  const inChain = (c: X509Certificate) => chain.some((link) => link.raw.equals(c.raw));
  while (chain.length < MAX_CHAIN) {
    const current = chain.at(-1)!;
    if (issuedBy(current, current)) break; // a root
    const next = anchors.find((a) => !inChain(a) && issuedBy(current, a)) ?? between.find((c) => !inChain(c) && issuedBy(current, c));
    if (!next) {
      // Named as the issuer, but its key did not sign this certificate: a forgery or a broken chain.
      const named = [...anchors, ...between].find((c) => !c.raw.equals(current.raw) && namedIssuer(current, c));
      if (named) throw new ServiceError('EK_CERTIFICATE_UNTRUSTED', `the signature of ${nameOf(current.subject)} by ${nameOf(named.subject)} is not valid`);
      break;
    }
    chain.push(next);
  }
  const isAnchor = (c: X509Certificate) => anchors.some((a) => a.raw.equals(c.raw));
  const last = chain.findLastIndex((c, i) => i > 0 && isAnchor(c));
  if (last < 1) throw new ServiceError('EK_CERTIFICATE_UNTRUSTED', missingLink(chain.at(-1)!));
  chain.length = last + 1;
  for (let i = 0; i < chain.length; i++) {
    const certificate = chain[i]!;
    const issuer = chain[i + 1];
    const { notBefore, notAfter } = validity(certificate);
    const span = `valid ${notBefore.toISOString()} to ${notAfter.toISOString()}`;
    const subject = nameOf(certificate.subject);
    if (validityRule === 'now' && (at < notBefore || at > notAfter)) throw new ServiceError('EK_CERTIFICATE_UNTRUSTED', `${subject} is not valid now (${span})`);
    if (validityRule === 'at-issuance' && at < notBefore) throw new ServiceError('EK_CERTIFICATE_UNTRUSTED', `${subject} is not valid yet (${span})`);
    if (!issuer) continue;
    const issuerValidity = validity(issuer);
    if (validityRule === 'at-issuance' && (notBefore < issuerValidity.notBefore || notBefore > issuerValidity.notAfter)) {
      throw new ServiceError(
        'EK_CERTIFICATE_UNTRUSTED',
        `${subject} was issued on ${notBefore.toISOString()}, when its issuer ${nameOf(issuer.subject)} was not valid (valid ${issuerValidity.notBefore.toISOString()} to ${issuerValidity.notAfter.toISOString()})`,
      );
    }
    if (!issuer.ca) throw new ServiceError('EK_CERTIFICATE_UNTRUSTED', `${nameOf(issuer.subject)} signs certificates but is not a CA`);
  }
  const fingerprints = new Set(anchors.map(fingerprintOf));
  return chain.map(fingerprintOf).filter((f) => fingerprints.has(f));
}

/** Which link a chain that ends at `top` (no anchor) is missing, and what to add. */
function missingLink(top: X509Certificate): string {
  const name = (text: string | undefined) => nameOf(text) || '(an empty name)';
  if (issuedBy(top, top)) return `the EK certificate's chain ends at the root ${name(top.subject)}, which is not a trust anchor: add it (selfdeploy-admin trust-anchors add) if it is the TPM manufacturer's`;
  const url = caIssuerUrls(new x509.X509Certificate(new Uint8Array(top.raw)))[0];
  const where = url ? `; ${name(top.subject)} says it is at ${url} (the service fetches it from there once that host is in the tenant's aiaHosts)` : '';
  return `the EK certificate's chain ends at ${name(top.subject)}, whose issuer ${name(top.issuer)} is neither a trust anchor nor among the intermediates the TPM sent: add ${name(top.issuer)}'s certificate as a trust anchor (selfdeploy-admin trust-anchors add)${where}`;
}

function fingerprintOf(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('hex');
}

/** Trust anchors parsed once per PEM text (they change rarely and are read on every challenge). */
const parsedAnchors = new Map<string, X509Certificate>();
function parsedAnchor(pem: string): X509Certificate {
  let certificate = parsedAnchors.get(pem);
  if (!certificate) {
    if (parsedAnchors.size >= 1000) parsedAnchors.clear();
    certificate = keep(new X509Certificate(pem));
    parsedAnchors.set(pem, certificate);
  }
  return certificate;
}

/**
 * Intermediates a TPM sends, parsed once per exact DER: every TPM of a vendor sends the same ones,
 * and Node's X.509 parse costs about a tenth of a millisecond. Bounded like the anchors. (The leaf,
 * each TPM's own, is parsed per request.)
 */
const parsedCertificates = new Map<string, X509Certificate>();
function parsedDer(der: Uint8Array): X509Certificate {
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let certificate = parsedCertificates.get(key);
  if (!certificate) {
    certificate = keep(new X509Certificate(der));
    if (parsedCertificates.size >= 1000) parsedCertificates.clear();
    parsedCertificates.set(key, certificate);
  }
  return certificate;
}

const STRONG_HASHES: readonly number[] = [TpmAlg.SHA256, TpmAlg.SHA384, TpmAlg.SHA512];

/** AK: restricted signing key that never leaves its TPM, named and signing with SHA-256 or better. */
export function checkAk(ak: TpmtPublic): void {
  const { fixedTPM, fixedParent, sensitiveDataOrigin, restricted, sign, decrypt } = TpmaObject;
  const missing = Object.entries({ fixedTPM, fixedParent, sensitiveDataOrigin, restricted, sign })
    .filter(([, bit]) => !hasAttributes(ak, bit))
    .map(([name]) => name);
  const problems = [
    ...(missing.length ? [`lacks ${missing.join(', ')}`] : []),
    ...(hasAttributes(ak, decrypt) ? ['can decrypt'] : []),
    ...(STRONG_HASHES.includes(ak.nameAlg) ? [] : ['is named with a hash weaker than SHA-256']),
    ...([TpmAlg.ECDSA, TpmAlg.RSASSA, TpmAlg.RSAPSS].includes(ak.scheme.scheme as 0x18) && STRONG_HASHES.includes(ak.scheme.hashAlg ?? 0)
      ? []
      : ['has no ECDSA/RSASSA/RSAPSS scheme with SHA-256 or better']),
  ];
  if (problems.length) throw new ServiceError('AK_INVALID', `the attestation key ${problems.join('; ')}`);
}

export interface VerifiedQuote {
  attest: QuoteAttest;
  pcrs: PcrBankValues[];
}

/** The quote is signed by the AK, carries the nonce, covers the selection, and matches the values. */
export function verifyQuote(input: {
  ak: TpmtPublic;
  attest: Uint8Array;
  signature: Uint8Array;
  nonce: Uint8Array;
  selection: readonly PcrBankSelection[];
  values: PcrBankValues[];
}): VerifiedQuote {
  const parsed = tpmStructure('quote.attest', () => parseTpmsAttest(input.attest));
  const signature = tpmStructure('quote.signature', () => parseTpmtSignature(input.signature));
  if (parsed.type !== TpmSt.ATTEST_QUOTE) throw new ServiceError('QUOTE_SIGNATURE_INVALID', 'the attestation is not a quote');
  if (!STRONG_HASHES.includes(signature.hashAlg) || !verifyTpmSignature(input.ak, input.attest, input.signature)) {
    throw new ServiceError('QUOTE_SIGNATURE_INVALID', 'the quote is not signed by the attestation key');
  }
  if (!equalBytes(parsed.extraData, input.nonce)) throw new ServiceError('QUOTE_NONCE_MISMATCH', 'the quote does not carry this challenge\'s nonce');
  const asText = (s: readonly PcrBankSelection[]) => JSON.stringify(s.map((b) => [b.hashAlg, [...b.pcrs].sort((x, y) => x - y)]).sort());
  if (asText(parsed.pcrSelection.filter((b) => b.pcrs.length > 0)) !== asText(input.selection)) {
    throw new ServiceError('QUOTE_PCR_MISMATCH', 'the quote covers other PCRs than the challenge asked for');
  }
  let concatenation: Uint8Array;
  try {
    concatenation = quotedPcrConcatenation(parsed.pcrSelection, input.values);
  } catch (error) {
    throw new ServiceError('QUOTE_PCR_MISMATCH', (error as Error).message);
  }
  if (!equalBytes(nodeHash(signature.hashAlg, concatenation), parsed.pcrDigest)) {
    throw new ServiceError('QUOTE_PCR_MISMATCH', 'the PCR values sent do not match the digest the TPM quoted');
  }
  return { attest: parsed, pcrs: input.values };
}

/** The device key: an unrestricted ECDSA P-256 signing key fixed to its TPM (ES256 assertions). */
export function checkDeviceKey(key: TpmtPublic): void {
  const { fixedTPM, fixedParent, sensitiveDataOrigin, sign, restricted, decrypt } = TpmaObject;
  const ok =
    key.type === TpmAlg.ECC &&
    key.curve === TpmEccCurve.NIST_P256 &&
    hasAttributes(key, fixedTPM, fixedParent, sensitiveDataOrigin, sign) &&
    !hasAttributes(key, restricted) &&
    !hasAttributes(key, decrypt) &&
    (key.scheme.scheme === TpmAlg.NULL || (key.scheme.scheme === TpmAlg.ECDSA && key.scheme.hashAlg === TpmAlg.SHA256));
  if (!ok) throw new ServiceError('DEVICE_KEY_INVALID', 'the device key must be an unrestricted ECDSA P-256 signing key fixed to its TPM');
}

/** TPM2_Certify of the device key, by the attested AK, over the attestation nonce. */
export function verifyCertification(input: { ak: TpmtPublic; key: TpmtPublic; attest: Uint8Array; signature: Uint8Array; nonce: Uint8Array }): CertifyAttest {
  const parsed = tpmStructure('deviceKey.certifyInfo', () => parseTpmsAttest(input.attest));
  tpmStructure('deviceKey.certifySignature', () => parseTpmtSignature(input.signature));
  if (parsed.type !== TpmSt.ATTEST_CERTIFY || !verifyTpmSignature(input.ak, input.attest, input.signature)) {
    throw new ServiceError('CERTIFY_SIGNATURE_INVALID', 'the certification is not signed by the attested attestation key');
  }
  if (!equalBytes(parsed.name, tpmName(input.key))) throw new ServiceError('CERTIFY_KEY_MISMATCH', 'the certification names another key than the device key');
  if (!equalBytes(parsed.extraData, input.nonce)) throw new ServiceError('CERTIFY_NONCE_MISMATCH', 'the certification was not made for this attestation');
  return parsed;
}

const CLOCK_SKEW_S = 60;

export interface VerifiedAssertion {
  deviceId: string;
  jti: string;
  exp: number;
}

/** Reads a client assertion's claims without trusting them (to find whose key verifies it). */
export function assertionSubject(jwt: string): string {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new ServiceError('TOKEN_ASSERTION_INVALID', 'the client assertion is not a compact JWS');
  try {
    const claims = ClientAssertionClaimsSchema.parse(JSON.parse(utf8Decode(base64Decode(parts[1]!.replaceAll('-', '+').replaceAll('_', '/')))));
    if (claims.iss !== claims.sub) throw new Error('iss and sub differ');
    return claims.iss;
  } catch (error) {
    throw new ServiceError('TOKEN_ASSERTION_INVALID', `the client assertion's claims are not valid: ${(error as Error).message}`);
  }
}

/** RFC 7523 §3: ES256 over header.payload with the device key; audience, expiry, lifetime. */
export function verifyAssertion(jwt: string, deviceKey: KeyObject, accepted: readonly string[], now = Date.now()): VerifiedAssertion {
  const [headerText, payloadText, signatureText] = jwt.split('.') as [string, string, string];
  const decode = (part: string) => base64Decode(part.replaceAll('-', '+').replaceAll('_', '/'));
  let header: unknown;
  try {
    if (/[+/=]/.test(jwt)) throw new Error('not base64url');
    header = JSON.parse(utf8Decode(decode(headerText)));
  } catch {
    throw new ServiceError('TOKEN_ASSERTION_INVALID', 'the client assertion header is not base64url JSON');
  }
  if ((header as { alg?: unknown }).alg !== 'ES256') throw new ServiceError('TOKEN_ASSERTION_INVALID', 'the client assertion must be signed with ES256');
  const signature = decode(signatureText);
  const valid = signature.length === 64 && verifySignature('sha256', Buffer.from(`${headerText}.${payloadText}`), { key: deviceKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) throw new ServiceError('TOKEN_ASSERTION_INVALID', 'the client assertion is not signed by the device key');
  const claims = ClientAssertionClaimsSchema.parse(JSON.parse(utf8Decode(decode(payloadText))));
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.some((audience) => accepted.includes(audience))) {
    throw new ServiceError('TOKEN_AUDIENCE_INVALID', `the client assertion is for ${audiences.join(', ')}, not for this service (${accepted.join(', ')})`);
  }
  const seconds = Math.floor(now / 1000);
  if (claims.exp < seconds - CLOCK_SKEW_S) throw new ServiceError('TOKEN_EXPIRED', `the client assertion expired at ${new Date(claims.exp * 1000).toISOString()}`);
  if (claims.exp > seconds + 300 + CLOCK_SKEW_S) throw new ServiceError('TOKEN_ASSERTION_INVALID', 'the client assertion may live at most five minutes');
  if (claims.nbf !== undefined && claims.nbf > seconds + CLOCK_SKEW_S) throw new ServiceError('TOKEN_ASSERTION_INVALID', 'the client assertion is not valid yet');
  return { deviceId: claims.iss, jti: claims.jti, exp: claims.exp };
}


// A TPM in software, behind the agent's TpmPort: an ECC P-256 EK with a certificate from a
// simulated manufacturer CA, ECC AKs and device keys, credential activation, quotes over all-zero
// PCRs and certifications — the same bytes a TPM would produce. For load generators and unit
// tests of the code above main/tpm only: the product path always uses a real TPM.
import 'reflect-metadata';

import { createDecipheriv, createECDH, createHmac, createPrivateKey, createPublicKey, diffieHellman, randomBytes, sign, timingSafeEqual, webcrypto, type KeyObject } from 'node:crypto';

import * as x509 from '@peculiar/x509';

import { concatBytes, unsized } from '../protocol/tpm/bytes.js';
import { marshalTpmsAttest, type CertifyAttest, type QuoteAttest } from '../protocol/tpm/attest.js';
import { TpmAlg, TpmSt } from '../protocol/tpm/constants.js';
import { parseEccPoint, parseEncryptedSecret, parseIdObject } from '../protocol/tpm/credential.js';
import { quotedPcrConcatenation, type PcrBankSelection, type PcrBankValues } from '../protocol/tpm/pcr.js';
import { marshalTpm2bPublic, type EccPublic, type TpmtPublic } from '../protocol/tpm/public.js';
import { marshalTpmtSignature } from '../protocol/tpm/signature.js';
import { kdfa, kdfe } from '../protocol/node/credential.js';
import { sha256, tpmName } from '../protocol/node/tpm-crypto.js';
import { TpmError } from '../main/tpm/errors.js';
import type { TpmPort } from '../main/tpm/port.js';
import { DEVICE_KEY_TEMPLATE, akTemplate, ekProfile } from '../main/tpm/templates.js';
import type { Certification, EkCertificate, EndorsementKey, KeyBlob, Quote } from '../main/tpm/port.js';
import { importPrivateKey, serialNumber, type IssuedCertificate } from '../backend/tenant/pki.js';

const PARENT_NAME = Uint8Array.of(0x00, 0x0b, ...new Uint8Array(32).fill(0x5d));

/**
 * A new P-256 key pair as key objects, made with crypto.createECDH and imported: a key from
 * generateKeyPairSync whose JWK is exported can deadlock Node 20 when its generation job is
 * garbage-collected meanwhile (protocol/node/credential.ts says more).
 */
function newP256Key(): { privateKey: KeyObject; publicKey: KeyObject } {
  const ecdh = createECDH('prime256v1');
  const point = ecdh.generateKeys();
  const d = ecdh.getPrivateKey();
  const field = (bytes: Buffer) => Buffer.concat([Buffer.alloc(32 - bytes.length), bytes]).toString('base64url');
  const privateKey = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x: field(point.subarray(1, 33)), y: field(point.subarray(33)), d: field(d) }, format: 'jwk' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

function withPoint(template: TpmtPublic, key: KeyObject): EccPublic {
  const jwk = key.export({ format: 'jwk' });
  return { ...(template as EccPublic), x: Buffer.from(jwk.x!, 'base64url'), y: Buffer.from(jwk.y!, 'base64url') };
}

/** A promise of `compute()`: what it throws becomes the rejection, as from a real TPM call. */
function settle<T>(compute: () => T): Promise<T> {
  return new Promise((resolve) => resolve(compute()));
}

function ecdsa(message: Uint8Array, key: KeyObject): Uint8Array {
  const signature = sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' });
  return marshalTpmtSignature({ sigAlg: TpmAlg.ECDSA, hashAlg: TpmAlg.SHA256, r: signature.subarray(0, 32), s: signature.subarray(32) });
}

export class SoftTpm implements TpmPort {
  private readonly keys = new Map<string, { privateKey: KeyObject; area: EccPublic }>();
  private clock = 0n;

  private constructor(
    private readonly ekKey: KeyObject,
    private readonly ek: EndorsementKey,
    private readonly certificate: EkCertificate,
  ) {}

  /** A new soft TPM whose EK certificate `manufacturer` signs. */
  static async create(manufacturer: IssuedCertificate): Promise<SoftTpm> {
    const { privateKey, publicKey } = newP256Key();
    const area = withPoint(ekProfile('ecc-p256').template, publicKey);
    const bytes = marshalTpm2bPublic(area);
    const ek: EndorsementKey = { kind: 'ecc-p256', public: bytes, area, name: tpmName(area), digest: sha256(unsized(bytes, 'TPM2B_PUBLIC')), persistent: true };
    const issuer = new x509.X509Certificate(manufacturer.certificatePem);
    const cryptoKey = await webcrypto.subtle.importKey('jwk', publicKey.export({ format: 'jwk' }), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
    const der = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: 'CN=soft TPM EK',
      issuer: issuer.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 365 * 86_400_000),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      publicKey: cryptoKey as never,
      signingKey: await importPrivateKey(manufacturer.privateKeyPem),
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.ExtendedKeyUsageExtension(['2.23.133.8.1'])],
    });
    return new SoftTpm(privateKey, ek, { kind: 'ecc-p256', nvIndex: ekProfile('ecc-p256').certificateIndex, der: new Uint8Array(der.rawData) });
  }

  get ekDigest(): Uint8Array {
    return this.ek.digest;
  }

  manufacturer(): Promise<string> {
    return Promise.resolve('SOFT');
  }

  primaryEk(): Promise<{ ek: EndorsementKey; certificate?: EkCertificate }> {
    return settle(() => ({ ek: this.ek, certificate: this.certificate }));
  }

  private create(template: TpmtPublic): KeyBlob {
    const { privateKey, publicKey } = newP256Key();
    const area = withPoint(template, publicKey);
    const handle = randomBytes(16);
    this.keys.set(handle.toString('hex'), { privateKey, area });
    return { public: marshalTpm2bPublic(area), private: handle, name: tpmName(area), parentName: PARENT_NAME };
  }

  private key(blob: KeyBlob): { privateKey: KeyObject; area: EccPublic } {
    const key = this.keys.get(Buffer.from(blob.private).toString('hex'));
    if (!key) throw new TpmError('TPM_PARENT_MISMATCH', 'this soft TPM did not create that key');
    return key;
  }

  createAk(): Promise<KeyBlob> {
    return settle(() => this.create(akTemplate('ecc')));
  }

  createDeviceKey(): Promise<KeyBlob> {
    return settle(() => this.create(DEVICE_KEY_TEMPLATE));
  }

  /** A soft TPM has no persistent handles and its keys no files: nothing to persist. */
  persistParent(): Promise<void> {
    return Promise.resolve();
  }

  loadKey(blob: KeyBlob): Promise<Uint8Array> {
    return settle(() => tpmName(this.key(blob).area));
  }

  /** TPM2_ActivateCredential (Part 1 §24) with the EK's SHA-256 and AES-128, as the TPM does it. */
  activateCredential(args: { ak: KeyBlob; credentialBlob: Uint8Array; secret: Uint8Array }): Promise<Uint8Array> {
    return settle(() => this.activate(args));
  }

  private activate(args: { ak: KeyBlob; credentialBlob: Uint8Array; secret: Uint8Array }): Uint8Array {
    const akName = tpmName(this.key(args.ak).area);
    const point = parseEccPoint(parseEncryptedSecret(args.secret));
    const ephemeral = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(point.x).toString('base64url'), y: Buffer.from(point.y).toString('base64url') }, format: 'jwk' });
    const z = diffieHellman({ privateKey: this.ekKey, publicKey: ephemeral });
    const seed = kdfe(TpmAlg.SHA256, z, 'IDENTITY', point.x, (this.ek.area as EccPublic).x, 256);
    const { integrityHmac, encIdentity } = parseIdObject(args.credentialBlob);
    const expected = createHmac('sha256', kdfa(TpmAlg.SHA256, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), 256)).update(encIdentity).update(akName).digest();
    if (integrityHmac.length !== expected.length || !timingSafeEqual(integrityHmac, expected)) {
      throw new TpmError('TPM_COMMAND_FAILED', 'TPM_RC_INTEGRITY: the credential was not made for this EK and AK', 'ActivateCredential', 0x1df);
    }
    const decipher = createDecipheriv('aes-128-cfb', kdfa(TpmAlg.SHA256, seed, 'STORAGE', akName, new Uint8Array(0), 128), Buffer.alloc(16));
    const plain = concatBytes(decipher.update(encIdentity), decipher.final());
    return plain.slice(2, 2 + ((plain[0]! << 8) | plain[1]!));
  }

  private attestHeader(signer: KeyBlob, extraData: Uint8Array) {
    this.clock += 1000n;
    return {
      qualifiedSigner: tpmName(this.key(signer).area),
      extraData,
      clock: { clock: this.clock, resetCount: 0, restartCount: 0, safe: true },
      firmwareVersion: 0x2024_0001n,
    };
  }

  /** A quote over PCRs that are all zero, as in a TPM that nothing has measured into. */
  quote(args: { ak: KeyBlob; qualifyingData: Uint8Array; pcrs: PcrBankSelection[] }): Promise<Quote> {
    return settle(() => this.quoteNow(args));
  }

  private quoteNow(args: { ak: KeyBlob; qualifyingData: Uint8Array; pcrs: PcrBankSelection[] }): Quote {
    const pcrs: PcrBankValues[] = args.pcrs.map((bank) => ({ hashAlg: bank.hashAlg, values: new Map(bank.pcrs.map((i) => [i, new Uint8Array(bank.hashAlg === TpmAlg.SHA1 ? 20 : 32)])) }));
    const parsed: QuoteAttest = {
      type: TpmSt.ATTEST_QUOTE,
      ...this.attestHeader(args.ak, args.qualifyingData),
      pcrSelection: args.pcrs,
      pcrDigest: sha256(quotedPcrConcatenation(args.pcrs, pcrs)),
    };
    const attest = marshalTpmsAttest(parsed);
    return { attest, signature: ecdsa(attest, this.key(args.ak).privateKey), parsed, pcrs };
  }

  certify(args: { key: KeyBlob; ak: KeyBlob; qualifyingData: Uint8Array }): Promise<Certification> {
    return settle(() => {
      const name = tpmName(this.key(args.key).area);
      const parsed: CertifyAttest = { type: TpmSt.ATTEST_CERTIFY, ...this.attestHeader(args.ak, args.qualifyingData), name, qualifiedName: name };
      const attest = marshalTpmsAttest(parsed);
      return { attest, signature: ecdsa(attest, this.key(args.ak).privateKey), parsed };
    });
  }

  signMessage(args: { key: KeyBlob; message: Uint8Array }): Promise<Uint8Array> {
    return settle(() => ecdsa(args.message, this.key(args.key).privateKey));
  }
}

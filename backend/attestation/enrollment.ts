// Attestation, join and device tokens on the service side (docs/protocol.md#attestation): the
// only way a device comes to be trusted. Every failure is refused with its own code and leaves
// nothing trusted behind; challenges and attestation tokens are single-use.
import { X509Certificate, createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';

import type {
  AttestChallengeRequest,
  EkCheckRequest,
  EkCheckResponse,
  AttestChallengeResponse,
  AttestResponseRequest,
  JoinRequest,
  JoinResponse,
} from '../../protocol/api/attest.js';

import type { Device } from '../../protocol/api/admin.js';
import { base64Encode, fromHex, toHex } from '../../protocol/encoding.js';
import { makeCredential } from '../../protocol/node/credential.js';
import { sha256, tpmName } from '../../protocol/node/tpm-crypto.js';
import { endpointPath } from '../../protocol/api/endpoint.js';
import { admin as adminApi } from '../../protocol/api/endpoints.js';
import { catalogueEntry, isErrorCode } from '../../protocol/errors/catalogue.js';
import { phaseOf } from '../../protocol/esp.js';
import { renderDeviceName } from '../../protocol/profile.js';
import { unsized } from '../../protocol/tpm/bytes.js';
import { DIGEST_SIZES, TpmAlg } from '../../protocol/tpm/constants.js';
import { namedPcrSelection, pcrHashAlg, pcrHashName, pcrSelectionOfNames, type PcrBankSelection, type PcrBankValues, type PcrHashName } from '../../protocol/tpm/pcr.js';
import { parseTpm2bPublic } from '../../protocol/tpm/public.js';
import { profileForDevice } from '../deployment/assignments.js';
import { ServiceError } from '../errors.js';
import { identityFromHash } from '../registrations/import.js';
import type { Store } from '../store/store.js';
import { CertificateKeys } from './certificate-keys.js';
import { verifiedEkChain } from './ek-chain.js';
import { issueDeviceCertificate, signingCa, type IssuedCertificate, type SigningCa } from '../tenant/pki.js';
import {
  assertionSubject,
  bytesOf,
  checkAk,
  checkDeviceKey,
  checkEk,
  parsePublic,
  verifyAssertion,
  verifyCertification,
  verifyQuote,
} from './verify.js';
import { verifyCsr, type VerifiedCsr } from './csr.js';

export const CHALLENGE_LIFETIME_MS = 5 * 60_000;
export const ATTESTATION_TOKEN_LIFETIME_MS = 10 * 60_000;
export const ACCESS_TOKEN_LIFETIME_S = 600;
/** PCRs 0-7 of SHA-256: firmware, option ROMs, boot loader, Secure Boot policy. */
export const DEFAULT_PCR_SELECTION: PcrBankSelection[] = [{ hashAlg: TpmAlg.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }];

const hex = (bytes: Uint8Array) => toHex(bytes);
const digestHex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const later = (ms: number) => new Date(Date.now() + ms).toISOString();

/** A refusal decided inside a claiming transaction, thrown once the claim is committed; `failed`: the deployment it fails. */
interface Refused {
  refused: unknown;
  failed?: { deviceId: string; startedAt: string; step: 'securing-hardware' | 'joining' };
}
/** What an answered challenge gives the device. */
interface Attested {
  attestationToken: string;
  expiresAt: string;
  unverifiedHardware: boolean;
}

const refused = (error: unknown, failed?: Refused['failed']): Refused => (failed ? { refused: error, failed } : { refused: error });
const reenrollmentBlocked = (device: Device) => new ServiceError('REENROLLMENT_BLOCKED', `device ${device.serial} was deployed; an administrator must delete its device record first`);

function pcrValues(banks: AttestResponseRequest['quote']['pcrs']): PcrBankValues[] {
  return banks.map((bank) => {
    const hashAlg = pcrHashAlg(bank.hash);
    const values = new Map<number, Uint8Array>();
    for (const [index, value] of Object.entries(bank.values)) {
      const bytes = bytesOf(`quote.pcrs.${bank.hash}.${index}`, value);
      if (bytes.length !== DIGEST_SIZES.get(hashAlg)) throw new ServiceError('QUOTE_PCR_MISMATCH', `PCR ${index} of ${bank.hash} is not a ${bank.hash} digest`);
      values.set(Number(index), bytes);
    }
    return { hashAlg, values };
  });
}

export class Enrollment {
  private challengesSincePurge = 0;
  /** The device CA, ready to sign: read once. */
  private readonly signer: SigningCa;
  private readonly certificateKeys = new CertificateKeys();

  constructor(
    private readonly store: Store,
    private readonly deviceCa: IssuedCertificate,
  ) {
    this.signer = signingCa(deviceCa);
  }

  private async registration(request: AttestChallengeRequest['registration']): Promise<Device> {
    let device: Device | undefined;
    if (request.hardwareHash) {
      const identity = identityFromHash(request.hardwareHash, 'registration.hardwareHash');
      if (identity.serial !== request.serial) {
        throw new ServiceError('VALIDATION_FAILED', 'registration.serial is not the serial number inside registration.hardwareHash');
      }
      device = await this.store.devices.findBySerial(identity.serial, identity.manufacturer);
    } else {
      const matches = await this.store.devices.findAllBySerial(request.serial);
      if (matches.length > 1) throw new ServiceError('VALIDATION_FAILED', `several devices have serial number ${request.serial}: send the hardware hash`);
      device = matches[0];
    }
    if (!device) throw new ServiceError('DEVICE_NOT_REGISTERED', `no device with serial number ${request.serial} is registered`);
    // A deployed device goes on only where the tenant allows re-provisioning; it proves the same TPM in its response.
    if (device.state === 'deployed' && !(await this.store.tenant.settings()).reprovisionSameTpm) throw reenrollmentBlocked(device);
    return device;
  }

  /**
   * POST /v1/attest/ek-check: the verdict attestation would reach on this EK — its certificate's
   * chain (as the tenant's ekIssuerValidity says), the allow-list, a virtual TPM — without a
   * registration, and changing nothing.
   */
  async checkEk(request: EkCheckRequest): Promise<EkCheckResponse> {
    const ek = parsePublic('ek.public', request.ek.public);
    const settings = await this.store.tenant.settings();
    const refused = (code: string, detail: string): EkCheckResponse => ({ verdict: 'refused', code, detail, anchors: [] });
    try {
      checkEk(ek.area);
    } catch (error) {
      if (error instanceof ServiceError) return refused(error.code, error.message);
      throw error;
    }
    if (request.tpm?.virtual && !settings.allowVirtualTpms) return refused('TPM_VIRTUAL', `the TPM is virtual (${request.tpm.virtual}), and this organisation does not allow virtual TPMs`);
    const ekDigest = hex(sha256(unsized(ek.bytes, 'TPM2B_PUBLIC')));
    const anchors = await this.store.trustAnchors.list();
    const allowListed = anchors.some((a) => a.ekDigest === ekDigest);
    if (request.ek.certificate) {
      try {
        const through = await verifiedEkChain(this.store, bytesOf('ek.certificate', request.ek.certificate), ek.area, anchors, settings, request.ek.chain);
        const subjects = through.map((fingerprint) => anchors.find((a) => a.fingerprint === fingerprint)?.subject ?? fingerprint);
        return { verdict: 'trusted', code: null, detail: `the EK certificate chains to ${subjects.at(-1) ?? 'a trust anchor'}`, anchors: subjects };
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
        if (!(allowListed && error.code === 'EK_CERTIFICATE_UNTRUSTED')) return refused(error.code, error.message);
      }
    }
    if (allowListed) return { verdict: 'allow-listed', code: null, detail: 'the EK digest is on the allow-list: the device will be marked unverified hardware', anchors: [] };
    return refused('EK_NOT_TRUSTED', 'the TPM sent no EK certificate and its EK is not on the allow-list');
  }

  /** POST /v1/attest/challenge */
  async challenge(request: AttestChallengeRequest): Promise<AttestChallengeResponse> {
    const ek = parsePublic('ek.public', request.ek.public);
    const ak = parsePublic('ak.public', request.ak.public);
    checkEk(ek.area);
    checkAk(ak.area);
    const device = await this.registration(request.registration);
    const ekDigest = hex(sha256(unsized(ek.bytes, 'TPM2B_PUBLIC')));
    const settings = await this.store.tenant.settings();
    if (device.ekDigest && device.ekDigest !== ekDigest) {
      throw new ServiceError('DEVICE_IDENTITY_MISMATCH', `device ${device.serial} was registered with another TPM endorsement key`);
    }
    if (!device.ekDigest) {
      if (!settings.bindEkOnFirstUse) {
        throw new ServiceError('DEVICE_IDENTITY_MISMATCH', `device ${device.serial} was registered without a TPM endorsement key, and this service does not bind one on first use`);
      }
      if (await this.store.devices.findByEkDigest(ekDigest)) {
        throw new ServiceError('DEVICE_IDENTITY_MISMATCH', `this TPM belongs to another registered device; it cannot be bound to ${device.serial}`);
      }
    }

    // The agent's word: a device whose TPM is virtual (a VM, swtpm) attests only where the tenant allows it.
    if (request.tpm?.virtual && !settings.allowVirtualTpms) {
      throw new ServiceError('TPM_VIRTUAL', `the TPM of device ${device.serial} is virtual (${request.tpm.virtual}; manufacturer ${request.tpm.manufacturer || 'unknown'}), and this organisation does not allow virtual TPMs`);
    }
    const anchors = await this.store.trustAnchors.list();
    const allowListed = anchors.some((a) => a.ekDigest === ekDigest);
    let unverifiedHardware = false;
    let chain: string[] = [];
    // A TPM that keeps no certificate: the one an administrator registered with the device, if any.
    const registered = request.ek.certificate || !device.ekCertificate ? null : await this.store.devices.ekCertificatePem(device.id);
    const certificate = request.ek.certificate ? bytesOf('ek.certificate', request.ek.certificate) : registered ? new Uint8Array(new X509Certificate(registered).raw) : undefined;
    if (certificate) {
      try {
        chain = await verifiedEkChain(this.store, certificate, ek.area, anchors, settings, request.ek.chain);
      } catch (error) {
        // An allow-listed EK is trusted without a chain; a certificate for another key never is.
        if (!(allowListed && error instanceof ServiceError && error.code === 'EK_CERTIFICATE_UNTRUSTED')) throw error;
        unverifiedHardware = true;
      }
    } else if (allowListed) {
      unverifiedHardware = true;
    } else {
      throw new ServiceError('EK_NOT_TRUSTED', 'the TPM sent no EK certificate and its EK is not on the allow-list');
    }

    const secret = randomBytes(32);
    const nonce = randomBytes(32);
    const credential = makeCredential(ek.area, tpmName(ak.area), secret);
    const id = randomUUID();
    const expiresAt = later(CHALLENGE_LIFETIME_MS);
    await this.store.attestations.createChallenge({
      id,
      device_id: device.id,
      secret_hash: hex(sha256(secret)),
      nonce: hex(nonce),
      ek_digest: ekDigest,
      ak_public: base64Encode(ak.bytes),
      unverified_hardware: unverifiedHardware ? 1 : 0,
      ek_chain: unverifiedHardware ? null : JSON.stringify(chain),
      pcr_selection: JSON.stringify(namedPcrSelection(DEFAULT_PCR_SELECTION)),
      created_at: new Date().toISOString(),
      expires_at: expiresAt,
      used_at: null,
    });
    if (++this.challengesSincePurge >= 256) {
      this.challengesSincePurge = 0;
      await this.store.attestations.purgeExpiredChallenges();
    }
    return {
      challengeId: id,
      credential: { idObject: base64Encode(credential.idObject), encryptedSecret: base64Encode(credential.encryptedSecret) },
      nonce: base64Encode(nonce),
      pcrSelection: namedPcrSelection(DEFAULT_PCR_SELECTION),
      expiresAt,
    };
  }

  /**
   * POST /v1/attest/response. The challenge is claimed, checked and what the attestation
   * establishes recorded in one transaction, committed once. A refusal after the claim commits the
   * claim alone: a challenge is answered at most once, even when two answers race, and a wrong
   * secret cannot be tried again.
   */
  async respond(request: AttestResponseRequest, source = 'unknown'): Promise<Attested> {
    const outcome = await this.store.transaction(async (tx): Promise<Refused | { attested: Attested }> => {
      const claim = await tx.attestations.claimChallenge(request.challengeId);
      if (claim.status === 'unknown') throw new ServiceError('CHALLENGE_UNKNOWN', 'no such attestation challenge');
      if (claim.status === 'used') throw new ServiceError('CHALLENGE_USED', 'this attestation challenge was already answered');
      const challenge = claim.challenge;
      if (Date.parse(challenge.expires_at) < Date.now()) return refused(new ServiceError('CHALLENGE_EXPIRED', `the challenge expired at ${challenge.expires_at}`));
      let secretDigest: Uint8Array;
      try {
        secretDigest = sha256(bytesOf('secret', request.secret));
      } catch (error) {
        return refused(error);
      }
      if (!timingSafeEqual(secretDigest, fromHex(challenge.secret_hash))) {
        return refused(new ServiceError('ATTESTATION_SECRET_WRONG', 'the secret does not match: the AK and the EK are not in the same TPM'));
      }
      const ak = parseTpm2bPublic(Buffer.from(challenge.ak_public, 'base64'));
      let quote: ReturnType<typeof verifyQuote>;
      try {
        quote = verifyQuote({
          ak,
          attest: bytesOf('quote.attest', request.quote.attest),
          signature: bytesOf('quote.signature', request.quote.signature),
          nonce: fromHex(challenge.nonce),
          selection: pcrSelectionOfNames(JSON.parse(challenge.pcr_selection) as { hash: PcrHashName; pcrs: number[] }[]),
          values: pcrValues(request.quote.pcrs),
        });
      } catch (error) {
        // The device proved it holds the EK: what fails from here is its deployment failing.
        return refused(error, { deviceId: challenge.device_id, startedAt: challenge.created_at, step: 'securing-hardware' });
      }
      const device = await tx.devices.get(challenge.device_id);
      if (!device) return refused(new ServiceError('DEVICE_NOT_REGISTERED', 'the device was deleted during its attestation'));
      if (device.state === 'deployed') {
        if (!(await tx.tenant.settings()).reprovisionSameTpm) return refused(reenrollmentBlocked(device));
        await this.reprovision(tx, device, source);
      }
      const unverifiedHardware = challenge.unverified_hardware === 1;
      const token = `sda_${randomBytes(32).toString('base64url')}`;
      const expiresAt = later(ATTESTATION_TOKEN_LIFETIME_MS);
      const { attest } = quote;
      if (!device.ekDigest) await tx.devices.bindEk(device.id, challenge.ek_digest, unverifiedHardware);
      else if (device.unverifiedHardware !== unverifiedHardware) await tx.devices.setUnverifiedHardware(device.id, unverifiedHardware);
      // The device proved its TPM: its deployment has begun (the profile request, unauthenticated, changes nothing).
      await tx.devices.setState(device.id, 'deploying');
      if (challenge.ek_chain) await tx.trustAnchors.recordDevice(device.id, JSON.parse(challenge.ek_chain) as string[]);
      await tx.attestations.recordAttestation({
        id: randomUUID(),
        device_id: device.id,
        challenge_id: challenge.id,
        ek_digest: challenge.ek_digest,
        ak_public: challenge.ak_public,
        ak_name: hex(tpmName(ak)),
        nonce: challenge.nonce,
        unverified_hardware: unverifiedHardware ? 1 : 0,
        firmware_version: `0x${attest.firmwareVersion.toString(16).padStart(16, '0')}`,
        clock: JSON.stringify({ clock: attest.clock.clock.toString(), resetCount: attest.clock.resetCount, restartCount: attest.clock.restartCount, safe: attest.clock.safe }),
        pcrs: JSON.stringify(quote.pcrs.map((b) => ({ hash: pcrHashName(b.hashAlg), values: Object.fromEntries([...b.values].map(([i, v]) => [i, hex(v)])) }))),
        token_hash: digestHex(token),
        token_expires_at: expiresAt,
        token_used_at: null,
        created_at: new Date().toISOString(),
      });
      return { attested: { attestationToken: token, expiresAt, unverifiedHardware } };
    });
    if ('refused' in outcome) return this.refuse(outcome);
    return outcome.attested;
  }

  /**
   * Throws a refusal whose claim (challenge, attestation token) was committed. One that came
   * after the device proved its TPM is recorded as its deployment failing (state "failed", a run
   * in its history) — the agent has no credential yet to report it.
   */
  private async refuse(outcome: Refused): Promise<never> {
    const { refused: error, failed } = outcome;
    if (failed && error instanceof ServiceError && isErrorCode(error.code)) {
      const entry = catalogueEntry(error.code);
      const failure = { code: error.code, hresult: entry.hresult ?? null, title: entry.title, detail: error.message, phase: phaseOf(failed.step), step: failed.step, item: null, at: new Date().toISOString() };
      if (await this.store.devices.setFailed(failed.deviceId, failure)) await this.store.deployments.recordServiceFailure(failed.deviceId, failed.startedAt, failure);
    }
    throw error;
  }

  /**
   * A deployed device attests again, and the tenant allows a device that proves the same TPM to
   * deploy again after a wipe: its record is deleted as an administrator would (its certificate
   * revoked, its history kept) and the audit log says so — in the attestation's transaction.
   */
  private async reprovision(tx: Store, device: Device, source: string): Promise<void> {
    await tx.devices.deleteRecord(device.id);
    await tx.audit.append({
      actor: { id: null, name: `device ${device.serial}`, kind: 'device' },
      source,
      action: 'reprovisionDevice',
      resource: endpointPath(adminApi.devices.get, { id: device.id }),
      before: { state: device.state, deployedAt: device.deployedAt, deviceName: device.deviceName, joinedAt: device.joinedAt },
      after: { state: 'registered', reason: 'the device proved the same TPM (EK) and the tenant allows re-provisioning (reprovisionSameTpm)' },
    });
  }

  /**
   * POST /v1/join. The attestation token is claimed, the device key checked and the certificate
   * issued in one transaction, committed once; a refusal after the claim commits the claim alone
   * (a token joins once).
   */
  async join(request: JoinRequest): Promise<JoinResponse> {
    const tokenHash = digestHex(request.attestationToken);
    const outcome = await this.store.transaction(async (tx): Promise<Refused | { joined: { deviceId: string; certificate: ReturnType<typeof issueDeviceCertificate>; key: VerifiedCsr['key']; deviceName: string | null } } | undefined> => {
      const attestation = await tx.attestations.claimToken(tokenHash);
      if (!attestation) return undefined;
      const device = await tx.devices.get(attestation.device_id);
      if (!device) return refused(new ServiceError('DEVICE_NOT_REGISTERED', 'the device was deleted after its attestation'));
      if (device.state === 'deployed') return refused(reenrollmentBlocked(device));
      let csr: ReturnType<typeof verifyCsr>;
      try {
        const key = parsePublic('deviceKey.public', request.deviceKey.public);
        checkDeviceKey(key.area);
        verifyCertification({
          ak: parseTpm2bPublic(Buffer.from(attestation.ak_public, 'base64')),
          key: key.area,
          attest: bytesOf('deviceKey.certifyInfo', request.deviceKey.certifyInfo),
          signature: bytesOf('deviceKey.certifySignature', request.deviceKey.certifySignature),
          nonce: fromHex(attestation.nonce),
        });
        csr = verifyCsr(request.csr, key.area);
      } catch (error) {
        return refused(error, { deviceId: device.id, startedAt: attestation.created_at, step: 'joining' });
      }
      const profile = await profileForDevice(tx, device);
      const template = profile?.document.body.deviceName;
      const deviceName = template ? renderDeviceName(template.template, device.serial, () => randomInt(10), template.maxLength) : null;
      const issued = issueDeviceCertificate(this.signer, device.id, csr.publicKey);
      // The certificate, the device's earlier ones revoked, its name: committed together.
      await tx.certificates.issue({
        device_id: device.id,
        serial_number: issued.serialNumber,
        pem: issued.pem,
        device_key_public: request.deviceKey.public,
        not_before: issued.notBefore.toISOString(),
        not_after: issued.notAfter.toISOString(),
      });
      await tx.devices.setJoined(device.id, deviceName);
      // Deploying since its attestation, unless it failed since (then it begins again).
      if (device.state !== 'deploying') await tx.devices.setState(device.id, 'deploying');
      return { joined: { deviceId: device.id, certificate: issued, key: csr.key, deviceName } };
    });
    if (!outcome) {
      const repeated = await this.joinAgain(tokenHash, request);
      if (repeated) return repeated;
      throw new ServiceError('ATTESTATION_TOKEN_INVALID', 'the attestation token is unknown, expired or already used');
    }
    if ('refused' in outcome) return this.refuse(outcome);
    const { deviceId, certificate, key, deviceName } = outcome.joined;
    // Its first token request follows at once: the key is at hand.
    this.certificateKeys.keep(certificate.serialNumber, key);
    return { deviceId, certificate: certificate.pem, chain: this.deviceCa.certificatePem, deviceName };
  }

  /**
   * The same join asked again — its answer was lost on the way — with the token it used and the
   * same device key: the same answer, not a second certificate (which would revoke the first).
   * Only while the token would still be valid and the device has not finished deploying.
   */
  private async joinAgain(tokenHash: string, request: JoinRequest): Promise<JoinResponse | undefined> {
    const attestation = await this.store.attestations.usedToken(tokenHash);
    const device = attestation && (await this.store.devices.get(attestation.device_id));
    if (!device || device.state !== 'deploying') return undefined;
    const certificate = await this.store.certificates.live(device.id);
    if (!certificate || certificate.device_key_public !== request.deviceKey.public) return undefined;
    return { deviceId: device.id, certificate: certificate.pem, chain: this.deviceCa.certificatePem, deviceName: device.deviceName };
  }

  /** POST /v1/token: RFC 7523 client credentials with an ES256 assertion signed in the TPM. */
  /** POST /v1/token: `audiences` are this service's token endpoints (its configured public URLs), never taken from the request. */
  async token(assertion: string, audiences: readonly string[]): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number }> {
    const deviceId = assertionSubject(assertion);
    // A live certificate is a device's that is still registered: deleting or resetting a device
    // record revokes its certificates (and a deleted device's lose their device_id).
    const certificate = /^[0-9a-f-]{36}$/.test(deviceId) ? await this.store.certificates.live(deviceId) : undefined;
    if (!certificate) throw new ServiceError('DEVICE_REVOKED', 'the device has no valid certificate (deleted or revoked)');
    const verified = verifyAssertion(assertion, this.certificateKeys.of(certificate.serial_number, certificate.pem), audiences);
    // The assertion used up and the token made: together.
    const accessToken = await this.store.certificates.exchangeAssertion(deviceId, verified.jti, new Date(verified.exp * 1000).toISOString(), ACCESS_TOKEN_LIFETIME_S);
    if (!accessToken) throw new ServiceError('TOKEN_REPLAYED', 'this client assertion was already used');
    if (randomInt(256) === 0) await this.store.certificates.purgeExpiredJtis();
    return { access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_TOKEN_LIFETIME_S };
  }
}

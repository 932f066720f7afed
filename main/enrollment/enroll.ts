// "Securing your hardware" and "Joining your organization's network": TPM attestation, then the
// TPM-resident device key certified by the AK and joined for a device certificate; and the
// device's sign-in with an assertion signed in the TPM. Keys and the certificate persist in the
// state directory after each step, so a restart resumes and a second run enrolls nothing again.
import { X509Certificate, randomUUID } from 'node:crypto';

import type { AttestChallengeResponse } from '../../protocol/api/attest.js';
import { base64Decode, base64Encode } from '../../protocol/encoding.js';
import { ServiceProblem } from '../../protocol/node/https-client.js';
import { pcrHashName, pcrSelectionOfNames } from '../../protocol/tpm/pcr.js';
import { parseTpm2bPublic } from '../../protocol/tpm/public.js';
import type { EnrollmentApi } from '../backend-client/port.js';
import { TpmError, TpmUnavailable } from '../tpm/errors.js';
import type { TpmPort } from '../tpm/port.js';
import type { KeyBlob } from '../tpm/port.js';
import { blobFromState, blobToState, type EnrollmentState, type EnrollmentStatePort } from './state.js';
import type { VendorEkCertificates } from './vendor-ek-certificates.js';
import { buildCsr, signJwt } from './tpm-signatures.js';

export interface Registration {
  serial: string;
  hardwareHash?: string;
}

export interface EnrollmentResult {
  deviceId: string;
  certificate: string;
  deviceName: string | null;
  unverifiedHardware: boolean;
  /** True when an earlier run's certificate and keys were reused: nothing was enrolled. */
  reused: boolean;
}

export interface EnrollOptions {
  tpm: TpmPort;
  api: EnrollmentApi;
  store: EnrollmentStatePort;
  registration: Registration;
  /** What the TPM says of itself and whether it is virtual, reported at attestation (the service may refuse virtual TPMs). */
  tpmReport?: () => Promise<{ manufacturer: string; vendor: string; virtual: string | null }>;
  /** The EK certificate the TPM vendor's service gave earlier, for a TPM that keeps none in NV. */
  vendorCertificates?: Pick<VendorEkCertificates, 'cached'>;
  log?: (event: string, detail?: Record<string, unknown>) => void;
}

/** Service answers after which attesting again (a new challenge) is the cure. */
const ATTEST_AGAIN: readonly string[] = ['CHALLENGE_EXPIRED', 'CHALLENGE_USED', 'CHALLENGE_UNKNOWN', 'ATTESTATION_TOKEN_INVALID'];
const ATTEMPTS = 3;

function certificateValid(pem: string | undefined): boolean {
  if (!pem) return false;
  try {
    const certificate = new X509Certificate(pem);
    const now = Date.now();
    return Date.parse(certificate.validFrom) <= now && now < Date.parse(certificate.validTo);
  } catch {
    return false;
  }
}

/** A key blob from the state that still loads in this TPM, or undefined (cleared TPM, other parent). */
async function usable(tpm: TpmPort, blob: EnrollmentState['ak']): Promise<KeyBlob | undefined> {
  if (!blob) return undefined;
  const key = blobFromState(blob);
  try {
    await tpm.loadKey(key);
    return key;
  } catch (error) {
    if (error instanceof TpmUnavailable) throw error;
    if (error instanceof TpmError) return undefined;
    throw error;
  }
}

/** The enrollment an earlier run left, when it still holds: a valid certificate and a device key this TPM loads. */
export async function reusableEnrollment(options: Omit<EnrollOptions, 'registration'>): Promise<EnrollmentResult | undefined> {
  const { tpm, api, store } = options;
  const state = store.load();
  if (state?.server !== api.server.origin || !state.certificate || !state.deviceId || !certificateValid(state.certificate)) return undefined;
  if (!(await usable(tpm, state.deviceKey))) return undefined;
  options.log?.('enrollment.reused', { deviceId: state.deviceId });
  return { deviceId: state.deviceId, certificate: state.certificate, deviceName: state.deviceName ?? null, unverifiedHardware: state.unverifiedHardware ?? false, reused: true };
}

/** What attestation leaves for the join: the single-use token, the nonce it was over, and the keys. */
export interface Attestation {
  attestationToken: string;
  nonce: Uint8Array;
  unverifiedHardware: boolean;
  ak: KeyBlob;
  deviceKey: KeyBlob;
}

/** The AK and device key this enrollment uses: the saved ones while they load in this TPM, else new ones (saved at once). */
async function enrollmentKeys(options: Omit<EnrollOptions, 'registration'>) {
  const { tpm, api, store } = options;
  const log = options.log ?? (() => undefined);
  const server = api.server.origin;
  const saved = store.load();
  let state: EnrollmentState | undefined = saved?.server === server ? saved : undefined;
  const primary = await tpm.primaryEk();
  const { ek } = primary;
  const ekCertificate = primary.certificate ?? options.vendorCertificates?.cached(ek);
  if (state && state.ekKind !== ek.kind) state = undefined; // another EK: the old AK's credential cannot be activated
  state ??= { version: 1, server, ekKind: ek.kind };
  let ak = await usable(tpm, state.ak);
  if (!ak) {
    ak = await tpm.createAk('ecc');
    state = { ...state, ak: blobToState(ak), deviceKey: undefined, certificate: undefined, deviceId: undefined };
    store.save(state);
    log('ak.created', { name: base64Encode(ak.name) });
  }
  let deviceKey = await usable(tpm, state.deviceKey);
  if (!deviceKey) {
    deviceKey = await tpm.createDeviceKey();
    state = { ...state, deviceKey: blobToState(deviceKey) };
    store.save(state);
    log('device-key.created', { name: base64Encode(deviceKey.name) });
  }
  return { ek, ekCertificate, ak, deviceKey };
}

/** Runs `attempt`, again (at most ATTEMPTS times) when the service says a new challenge is the cure. */
async function attestingAgain<T>(log: EnrollOptions['log'], attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof ServiceProblem && ATTEST_AGAIN.includes(error.code) && n < ATTEMPTS) {
        log?.('attest.again', { reason: error.code, attempt: n });
        continue;
      }
      throw error;
    }
  }
}

/** "Securing your hardware": credential activation and a quote over the service's nonce. */
export async function attest(options: EnrollOptions): Promise<Attestation> {
  const { tpm, api, registration } = options;
  const { ek, ekCertificate, ak, deviceKey } = await enrollmentKeys(options);
  const tpmReport = await options.tpmReport?.();
  const chain = (await tpm.ekChainCertificates?.()) ?? [];
  return attestingAgain(options.log, async () => {
    const challenge: AttestChallengeResponse = await api.challenge({
      ...(tpmReport ? { tpm: tpmReport } : {}),
      registration: registration.hardwareHash ? { serial: registration.serial, hardwareHash: registration.hardwareHash } : { serial: registration.serial },
      ek: { public: base64Encode(ek.public), ...(ekCertificate ? { certificate: base64Encode(ekCertificate.der) } : {}), ...(chain.length ? { chain: chain.map(base64Encode) } : {}) },
      ak: { public: base64Encode(ak.public) },
    });
    const secret = await tpm.activateCredential({
      ak,
      ek: ek.kind,
      credentialBlob: base64Decode(challenge.credential.idObject),
      secret: base64Decode(challenge.credential.encryptedSecret),
    });
    const nonce = base64Decode(challenge.nonce);
    const selection = pcrSelectionOfNames(challenge.pcrSelection);
    const quote = await tpm.quote({ ak, qualifyingData: nonce, pcrs: selection });
    const attested = await api.respond({
      challengeId: challenge.challengeId,
      secret: base64Encode(secret),
      quote: {
        attest: base64Encode(quote.attest),
        signature: base64Encode(quote.signature),
        pcrs: quote.pcrs.map((bank) => ({ hash: pcrHashName(bank.hashAlg), values: Object.fromEntries([...bank.values].map(([index, value]) => [String(index), base64Encode(value)])) })),
      },
    });
    options.log?.('attested', { unverifiedHardware: attested.unverifiedHardware });
    return { attestationToken: attested.attestationToken, nonce, unverifiedHardware: attested.unverifiedHardware, ak, deviceKey };
  });
}

/**
 * "Joining your organization's network": the AK vouches that the device key lives in the same TPM,
 * over the attestation's nonce, and the service issues the device certificate. With no attestation
 * of this run (a resumed agent), or one the service no longer takes, the device attests again.
 */
export async function join(options: EnrollOptions, attestation?: Attestation): Promise<EnrollmentResult> {
  const { tpm, api, store, registration } = options;
  let current = attestation;
  return attestingAgain(options.log, async () => {
    const attested = current ?? (await attest(options));
    current = undefined; // a refused token is not offered twice
    const { ak, deviceKey: key, nonce } = attested;
    const certification = await tpm.certify({ key, ak, qualifyingData: nonce });
    const csr = await buildCsr(registration.serial, parseTpm2bPublic(key.public), (message) => tpm.signMessage({ key, message }));
    const joined = await api.join({
      attestationToken: attested.attestationToken,
      deviceKey: { public: base64Encode(key.public), certifyInfo: base64Encode(certification.attest), certifySignature: base64Encode(certification.signature) },
      csr,
    });
    const state = store.load()!;
    store.save({
      ...state,
      deviceId: joined.deviceId,
      certificate: joined.certificate,
      chain: joined.chain,
      deviceName: joined.deviceName,
      unverifiedHardware: attested.unverifiedHardware,
      joinedAt: new Date().toISOString(),
    });
    options.log?.('joined', { deviceId: joined.deviceId, deviceName: joined.deviceName });
    return { deviceId: joined.deviceId, certificate: joined.certificate, deviceName: joined.deviceName, unverifiedHardware: attested.unverifiedHardware, reused: false };
  });
}

/** Attestation and join in one go, or the earlier run's enrollment when it still holds (load generators, tests). */
export async function enroll(options: EnrollOptions): Promise<EnrollmentResult> {
  return (await reusableEnrollment(options)) ?? join(options, await attest(options));
}

/** The device signs in: an RFC 7523 client assertion signed in the TPM by the device key. */
export async function deviceToken(options: { tpm: TpmPort; api: EnrollmentApi; store: EnrollmentStatePort; lifetimeSeconds?: number }): Promise<{ accessToken: string; expiresIn: number }> {
  const state = options.store.load();
  if (!state?.deviceId || !state.deviceKey || state.server !== options.api.server.origin) {
    throw new ServiceProblem('DEVICE_REVOKED', 'this device has not joined this service');
  }
  const key = blobFromState(state.deviceKey);
  const deviceId = state.deviceId;
  const token = await options.api.token(() => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt({ iss: deviceId, sub: deviceId, aud: options.api.tokenUrl, jti: randomUUID(), iat: now, exp: now + (options.lifetimeSeconds ?? 120) }, (message) => options.tpm.signMessage({ key, message }));
  });
  return { accessToken: token.access_token, expiresIn: token.expires_in };
}

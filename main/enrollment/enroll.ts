// "Securing your hardware" and "Joining your organization's network": TPM attestation, then the
// TPM-resident device key certified by the AK and joined for a device certificate; and the
// device's sign-in with an assertion signed in the TPM. Keys and the certificate persist in the
// state directory after each step, so a restart resumes and a second run enrolls nothing again.
import { X509Certificate, randomUUID } from 'node:crypto';

import type { AttestChallengeResponse } from '../../protocol/api/attest.js';
import { base64Decode, base64Encode } from '../../protocol/encoding.js';
import { ServiceProblem } from '../../protocol/node/https-client.js';
import { TpmAlg } from '../../protocol/tpm/constants.js';
import type { PcrBankSelection } from '../../protocol/tpm/pcr.js';
import { parseTpm2bPublic } from '../../protocol/tpm/public.js';
import type { DeviceApi } from '../backend-client/device-api.js';
import { TpmError, TpmUnavailable } from '../tpm/errors.js';
import type { TpmPort } from '../tpm/port.js';
import type { KeyBlob } from '../tpm/tpm.js';
import { blobFromState, blobToState, type EnrollmentState, type EnrollmentStatePort } from './state.js';
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
  api: DeviceApi;
  store: EnrollmentStatePort;
  registration: Registration;
  log?: (event: string, detail?: Record<string, unknown>) => void;
}

const HASH_IDS: Record<string, number> = { sha1: TpmAlg.SHA1, sha256: TpmAlg.SHA256, sha384: TpmAlg.SHA384, sha512: TpmAlg.SHA512 };
const HASH_NAMES: Record<number, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = { [TpmAlg.SHA1]: 'sha1', [TpmAlg.SHA256]: 'sha256', [TpmAlg.SHA384]: 'sha384', [TpmAlg.SHA512]: 'sha512' };

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

export async function enroll(options: EnrollOptions): Promise<EnrollmentResult> {
  const { tpm, api, store, registration } = options;
  const log = options.log ?? (() => undefined);
  const server = api.server.origin;
  const saved = store.load();
  let state: EnrollmentState | undefined = saved?.server === server ? saved : undefined;

  if (state?.certificate && state.deviceId && certificateValid(state.certificate)) {
    const deviceKey = await usable(tpm, state.deviceKey);
    if (deviceKey) {
      log('enrollment.reused', { deviceId: state.deviceId });
      return {
        deviceId: state.deviceId,
        certificate: state.certificate,
        deviceName: state.deviceName ?? null,
        unverifiedHardware: state.unverifiedHardware ?? false,
        reused: true,
      };
    }
  }

  const { ek, certificate: ekCertificate } = await tpm.primaryEk();
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

  for (let attempt = 1; ; attempt++) {
    try {
      // Securing your hardware: credential activation and a quote over the service's nonce.
      const challenge: AttestChallengeResponse = await api.challenge({
        registration: registration.hardwareHash ? { serial: registration.serial, hardwareHash: registration.hardwareHash } : { serial: registration.serial },
        ek: { public: base64Encode(ek.public), ...(ekCertificate ? { certificate: base64Encode(ekCertificate.der) } : {}) },
        ak: { public: base64Encode(ak.public) },
      });
      const secret = await tpm.activateCredential({
        ak,
        ek: ek.kind,
        credentialBlob: base64Decode(challenge.credential.idObject),
        secret: base64Decode(challenge.credential.encryptedSecret),
      });
      const nonce = base64Decode(challenge.nonce);
      const selection: PcrBankSelection[] = challenge.pcrSelection.map((bank) => ({ hashAlg: HASH_IDS[bank.hash]!, pcrs: bank.pcrs }));
      const quote = await tpm.quote({ ak, qualifyingData: nonce, pcrs: selection });
      const attested = await api.respond({
        challengeId: challenge.challengeId,
        secret: base64Encode(secret),
        quote: {
          attest: base64Encode(quote.attest),
          signature: base64Encode(quote.signature),
          pcrs: quote.pcrs.map((bank) => ({ hash: HASH_NAMES[bank.hashAlg]!, values: Object.fromEntries([...bank.values].map(([index, value]) => [String(index), base64Encode(value)])) })),
        },
      });
      log('attested', { unverifiedHardware: attested.unverifiedHardware });

      // Joining: the AK vouches that the device key lives in the same TPM, over the same nonce.
      const certification = await tpm.certify({ key: deviceKey, ak, qualifyingData: nonce });
      const key = deviceKey;
      const csr = await buildCsr(registration.serial, parseTpm2bPublic(key.public), (message) => tpm.signMessage({ key, message }));
      const joined = await api.join({
        attestationToken: attested.attestationToken,
        deviceKey: { public: base64Encode(key.public), certifyInfo: base64Encode(certification.attest), certifySignature: base64Encode(certification.signature) },
        csr,
      });
      state = {
        ...state,
        deviceId: joined.deviceId,
        certificate: joined.certificate,
        chain: joined.chain,
        deviceName: joined.deviceName,
        unverifiedHardware: attested.unverifiedHardware,
        joinedAt: new Date().toISOString(),
      };
      store.save(state);
      log('joined', { deviceId: joined.deviceId, deviceName: joined.deviceName });
      return { deviceId: joined.deviceId, certificate: joined.certificate, deviceName: joined.deviceName, unverifiedHardware: attested.unverifiedHardware, reused: false };
    } catch (error) {
      if (error instanceof ServiceProblem && ATTEST_AGAIN.includes(error.code) && attempt < ATTEMPTS) {
        log('attest.again', { reason: error.code, attempt });
        continue;
      }
      throw error;
    }
  }
}

/** The device signs in: an RFC 7523 client assertion signed in the TPM by the device key. */
export async function deviceToken(options: { tpm: TpmPort; api: DeviceApi; store: EnrollmentStatePort; lifetimeSeconds?: number }): Promise<{ accessToken: string; expiresIn: number }> {
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

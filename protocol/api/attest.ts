// The device API of attestation, join and device authentication (docs/protocol.md#attestation).
// Binary fields are standard base64; TPM structures are marshalled as TPM 2.0 Part 2 says.
import { z } from 'zod';

import { HARDWARE_HASH_MAX_LENGTH } from '../hardware-hash.js';
import { PCR_HASH_NAMES } from '../tpm/pcr.js';

/** Standard base64 (padding optional), at most `maxBytes` once decoded. */
export const base64Field = (maxBytes: number) =>
  z
    .string()
    .max(Math.ceil(maxBytes / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

export const PcrHashSchema = z.enum(PCR_HASH_NAMES);

/** PCR selection: which PCRs of which bank the quote must cover. */
export const PcrSelectionSchema = z.array(z.object({ hash: PcrHashSchema, pcrs: z.array(z.number().int().min(0).max(23)).min(1).max(24) })).min(1).max(4);

/** POST /v1/attest/challenge */
export const AttestChallengeRequestSchema = z.object({
  registration: z.object({
    serial: z.string().trim().min(1).max(64),
    /** Identifies the registration when serial numbers repeat across manufacturers. */
    hardwareHash: z.string().min(1).max(HARDWARE_HASH_MAX_LENGTH).optional(),
  }),
  ek: z.object({
    /** TPM2B_PUBLIC of the endorsement key. */
    public: base64Field(1024),
    /** DER EK certificate from the TPM's NV; absent for TPMs without one. */
    certificate: base64Field(8192).optional(),
    /** DER intermediates of its chain the TPM keeps (NV 0x01C00100–0x01C001FF): the service may need them to reach a root. */
    chain: z.array(base64Field(8192)).max(16).optional(),
  }),
  /** TPM2B_PUBLIC of the attestation key. */
  ak: z.object({ public: base64Field(1024) }),
  /** What the TPM says of itself, and why the agent takes it for a virtual TPM (protocol/tpm/virtual.ts), or null. */
  tpm: z.object({ manufacturer: z.string().max(16), vendor: z.string().max(64), virtual: z.string().max(200).nullable() }).optional(),
});

/** POST /v1/attest/ek-check: would this TPM be trusted? Nothing is registered or changed. */
export const EkCheckRequestSchema = AttestChallengeRequestSchema.pick({ ek: true, tpm: true });

export const EkCheckResponseSchema = z.object({
  /** "trusted": the certificate chains to a trust anchor; "allow-listed": the EK digest is allowed (unverified hardware); "refused": neither, or a virtual TPM the tenant refuses. */
  verdict: z.enum(['trusted', 'allow-listed', 'refused']),
  /** Why it is refused (EK_CERTIFICATE_UNTRUSTED, EK_CERTIFICATE_MISMATCH, EK_NOT_TRUSTED, TPM_VIRTUAL, EK_INVALID …), else null. */
  code: z.string().nullable(),
  detail: z.string(),
  /** The subjects of the trust anchors the chain went through. */
  anchors: z.array(z.string()),
});
export type EkCheckResponse = z.output<typeof EkCheckResponseSchema>;

export const AttestChallengeResponseSchema = z.object({
  challengeId: z.string(),
  credential: z.object({
    /** TPM2B_ID_OBJECT for TPM2_ActivateCredential. */
    idObject: z.string(),
    /** TPM2B_ENCRYPTED_SECRET for TPM2_ActivateCredential. */
    encryptedSecret: z.string(),
  }),
  /** The qualifying data the quote (and later the certification) must carry. */
  nonce: z.string(),
  pcrSelection: PcrSelectionSchema,
  expiresAt: z.string(),
});

/** POST /v1/attest/response */
export const AttestResponseRequestSchema = z.object({
  challengeId: z.string().max(64),
  /** What TPM2_ActivateCredential recovered. */
  secret: base64Field(64),
  quote: z.object({
    /** TPMS_ATTEST the AK signed. */
    attest: base64Field(2048),
    /** TPMT_SIGNATURE over it. */
    signature: base64Field(1024),
    /** The quoted PCR values, by bank and index ("0" … "23"). */
    pcrs: z.array(z.object({ hash: PcrHashSchema, values: z.record(z.string().regex(/^(1?[0-9]|2[0-3])$/), base64Field(64)) })).max(4),
  }),
});

export const AttestResponseResponseSchema = z.object({
  /** Presented once, at join; short-lived; bound to this EK, this AK and this registration. */
  attestationToken: z.string(),
  expiresAt: z.string(),
  /** The EK was trusted through the allow-list, without a certificate chain. */
  unverifiedHardware: z.boolean(),
});

/** POST /v1/join */
export const JoinRequestSchema = z.object({
  attestationToken: z.string().min(1).max(128),
  deviceKey: z.object({
    /** TPM2B_PUBLIC of the device key (ECC P-256, ECDSA-SHA256, unrestricted signing). */
    public: base64Field(1024),
    /** TPMS_ATTEST of TPM2_Certify of the device key by the attested AK, over the challenge nonce. */
    certifyInfo: base64Field(2048),
    certifySignature: base64Field(1024),
  }),
  /** PKCS#10 request (PEM) for the device key, signed by it. */
  csr: z.string().min(1).max(16_384),
});

export const JoinResponseSchema = z.object({
  deviceId: z.string(),
  /** The device certificate (PEM). */
  certificate: z.string(),
  /** The device CA certificate(s) above it (PEM). */
  chain: z.string(),
  /** The device name from the profile's template, or null to keep the image's. */
  deviceName: z.string().nullable(),
});

/** POST /v1/token (application/x-www-form-urlencoded), RFC 6749 §4.4 with RFC 7523 §2.2. */
export const TokenRequestSchema = z.object({
  grant_type: z.literal('client_credentials'),
  client_assertion_type: z.literal('urn:ietf:params:oauth:client-assertion-type:jwt-bearer'),
  client_assertion: z.string().min(1).max(4096),
});

export const TokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
});

/** The client assertion's claims (RFC 7523 §3). */
export const ClientAssertionClaimsSchema = z.object({
  iss: z.string().max(64),
  sub: z.string().max(64),
  aud: z.union([z.string().max(2048), z.array(z.string().max(2048)).max(8)]),
  jti: z.string().min(8).max(256),
  exp: z.number().int(),
  iat: z.number().int().optional(),
  nbf: z.number().int().optional(),
});

export type AttestChallengeRequest = z.output<typeof AttestChallengeRequestSchema>;
export type EkCheckRequest = z.output<typeof EkCheckRequestSchema>;
export type AttestChallengeResponse = z.output<typeof AttestChallengeResponseSchema>;
export type AttestResponseRequest = z.output<typeof AttestResponseRequestSchema>;
export type JoinRequest = z.output<typeof JoinRequestSchema>;
export type JoinResponse = z.output<typeof JoinResponseSchema>;

export const TOKEN_ASSERTION_MAX_LIFETIME_S = 300;

// Failures the service reports: a catalogue code, the HTTP status it maps to, and a detail for
// this occurrence. Anything else thrown is an internal error (logged, shown as INTERNAL).
import type { ErrorCode } from '../protocol/errors/catalogue.js';
import type { FieldError } from '../protocol/problem.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 422,
  HARDWARE_HASH_INVALID: 422,
  CSV_INVALID: 422,
  LINT_FAILED: 422,
  BRANDING_INVALID: 422,
  TRUST_ANCHOR_INVALID: 422,
  DEVICE_NOT_REGISTERED: 404,
  PROFILE_NOT_ASSIGNED: 404,
  NOT_FOUND: 404,
  REENROLLMENT_BLOCKED: 409,
  DEVICE_IDENTITY_MISMATCH: 409,
  DEVICE_DUPLICATE: 409,
  NAME_TAKEN: 409,
  IN_USE: 409,
  EK_CERTIFICATE_UNTRUSTED: 403,
  EK_CERTIFICATE_MISMATCH: 403,
  EK_NOT_TRUSTED: 403,
  EK_INVALID: 422,
  AK_INVALID: 422,
  CHALLENGE_UNKNOWN: 404,
  CHALLENGE_USED: 409,
  CHALLENGE_EXPIRED: 409,
  ATTESTATION_SECRET_WRONG: 403,
  QUOTE_SIGNATURE_INVALID: 403,
  QUOTE_NONCE_MISMATCH: 403,
  QUOTE_PCR_MISMATCH: 403,
  ATTESTATION_TOKEN_INVALID: 401,
  DEVICE_KEY_INVALID: 422,
  CERTIFY_SIGNATURE_INVALID: 403,
  CERTIFY_KEY_MISMATCH: 403,
  CERTIFY_NONCE_MISMATCH: 403,
  CSR_INVALID: 422,
  CSR_KEY_MISMATCH: 403,
  TOKEN_ASSERTION_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_AUDIENCE_INVALID: 401,
  TOKEN_REPLAYED: 401,
  DEVICE_REVOKED: 401,
  TPM_STRUCTURE_INVALID: 422,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  TENANT_NOT_INITIALIZED: 503,
  SERVICE_CONFIG_INVALID: 500,
  CONTENT_DIGEST_MISMATCH: 422,
  CONTENT_MISSING: 422,
  RANGE_NOT_SATISFIABLE: 416,
  MDM_NOT_ENROLLED: 409,
  INTERNAL: 500,
};

export class ServiceError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly errors?: FieldError[],
    /** Overrides the code's usual status (e.g. 415 for a validation failure of the media type). */
    status?: number,
  ) {
    super(detail);
    this.name = 'ServiceError';
    this.status = status ?? STATUS[code] ?? 400;
  }
}

export function notFound(what: string): ServiceError {
  return new ServiceError('NOT_FOUND', `${what} does not exist`);
}

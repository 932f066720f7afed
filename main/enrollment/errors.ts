// Enrollment's own failures (besides the TPM's and the service's): getting an EK certificate from
// the TPM vendor's service. Each carries its catalogue code; the retryable ones the engine waits out.
import type { ErrorCode } from '../../protocol/errors/catalogue.js';
import type { CodedError } from '../../protocol/errors/report.js';

export class EnrollmentError extends Error implements CodedError {
  override name = 'EnrollmentError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

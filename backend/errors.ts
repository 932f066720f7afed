// Failures the service reports: a catalogue code, the HTTP status the catalogue gives it, and a
// detail for this occurrence. Anything else thrown is an internal error (logged, shown as INTERNAL).
import { catalogueEntry, type ErrorCode } from '../protocol/errors/catalogue.js';
import type { FieldError } from '../protocol/problem.js';

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
    // A code the service does not answer with has no status in the catalogue: that is the service's own fault.
    this.status = status ?? catalogueEntry(code).http ?? 500;
  }
}

export function notFound(what: string): ServiceError {
  return new ServiceError('NOT_FOUND', `${what} does not exist`);
}

// How selfdeploy-helper refuses or fails: a change outside its allow-list (HELPER_REFUSED), a
// request it cannot read, content the service did not assign, or no helper to ask at all.
import type { CodedError } from '../../protocol/errors/report.js';

export class HelperError extends Error implements CodedError {
  override name = 'HelperError';

  constructor(
    readonly code: 'HELPER_REFUSED' | 'HELPER_REQUEST_INVALID' | 'HELPER_UNAVAILABLE' | 'CONTENT_NOT_ASSIGNED',
    message: string,
  ) {
    super(message);
  }
}

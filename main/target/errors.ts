// How a change to the target can be refused or fail: a path outside where device setup may
// change things (ITEM_PATH_REFUSED), or a change that could not be made (an installer that failed,
// content that is not what was assigned).
import type { CodedError } from '../../protocol/errors/report.js';

export class PathRefusedError extends Error implements CodedError {
  readonly code = 'ITEM_PATH_REFUSED' as const;
  override name = 'PathRefusedError';
}

/** An item's change that could not be made: a script or installer that failed, content that is not what was assigned. */
export class TargetError extends Error implements CodedError {
  override name = 'TargetError';

  constructor(
    readonly code: 'ITEM_FAILED' | 'CONTENT_DIGEST_MISMATCH' | 'DIRECTORY_JOIN_FAILED',
    message: string,
  ) {
    super(message);
  }
}

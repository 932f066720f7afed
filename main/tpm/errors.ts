// The TPM layer's failures. TpmUnavailable means "no usable TPM here" (the ESP shows it as
// 0x800705B4); TpmError is a TPM or TSS answer to one command. Both carry a catalogue code.
import type { ErrorCode } from '../../protocol/errors/catalogue.js';

export type TpmUnavailableReason = 'addon-missing' | 'no-answer' | 'timeout' | 'connection-lost';

export class TpmUnavailable extends Error {
  readonly code: ErrorCode;

  constructor(
    readonly reason: TpmUnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TpmUnavailable';
    this.code = reason === 'addon-missing' ? 'TPM_ADDON_MISSING' : 'TPM_UNAVAILABLE';
  }
}

export class TpmError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The ESAPI call that failed, e.g. "Esys_Quote". */
    readonly call?: string,
    /** The TSS2 return code and its Tss2_RC_Decode text, when the TSS or TPM answered one. */
    readonly rc?: number,
    readonly rcText?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TpmError';
  }
}

/** The shape of the errors the native addon rejects with. */
export interface NativeFailure {
  message: string;
  code?: string;
  call?: string;
  rc?: number;
  rcText?: string;
}

function isNativeFailure(error: unknown): error is NativeFailure {
  return error instanceof Error;
}

// TSS2 return codes carry their layer in bits 16..23 and the base code in bits 0..15
// (tss2_common.h); layer 10 is the TCTI.
const TSS2_TCTI_LAYER = 10;
/** TSS2_BASE_RC_NOT_IMPLEMENTED, _BAD_VALUE, _NOT_SUPPORTED: the TCTI string itself is wrong, not the TPM absent. */
const TCTI_REFUSED = new Set([2, 11, 21]);

/** Maps a native rejection onto the TPM layer's error types; `tcti` is the connection string the caller gave, if any. */
export function fromNative(error: unknown, during: 'open' | 'command', tcti?: string): TpmUnavailable | TpmError {
  if (!isNativeFailure(error)) return new TpmError('TPM_COMMAND_FAILED', String(error));
  const layer = error.rc === undefined ? -1 : (error.rc >>> 16) & 0xff;
  if (during === 'open' && tcti !== undefined && layer === TSS2_TCTI_LAYER && TCTI_REFUSED.has(error.rc! & 0xffff)) {
    return new TpmError('TCTI_INVALID', `the TCTI "${tcti}" names no connection the TPM software stack can open: ${error.rcText ?? error.message}`, 'Tss2_TctiLdr_Initialize', error.rc, error.rcText, { cause: error });
  }
  if (during === 'open' || error.code === 'TCTI_UNAVAILABLE') {
    return new TpmUnavailable('no-answer', error.message, { cause: error });
  }
  if (layer === TSS2_TCTI_LAYER || error.code === 'TPM_CLOSED') {
    return new TpmUnavailable('connection-lost', `the connection to the TPM was lost: ${error.message}`, { cause: error });
  }
  const known: Record<string, ErrorCode> = {
    TPM_PARENT_MISMATCH: 'TPM_PARENT_MISMATCH',
    TPM_EK_POLICY_UNSUPPORTED: 'TPM_EK_POLICY_UNSUPPORTED',
    TPM_NV_NOT_READABLE: 'TPM_NV_NOT_READABLE',
  };
  const code = (error.code && known[error.code]) || 'TPM_COMMAND_FAILED';
  return new TpmError(code, error.message, error.call, error.rc, error.rcText, { cause: error });
}

// The TPM connection string (TCTI, tctildr syntax: NAME[:CONFIG]) as a person gives it: refused
// here when it is not even of that form; a well-formed one the TSS cannot open is TCTI_INVALID too
// (errors.ts), and only a TCTI that opens but finds no TPM is TPM_UNAVAILABLE.
const TCTI_PATTERN = /^[a-z][a-z0-9_-]*(:[\x20-\x7e]{0,240})?$/;

/** A TCTI string that is not even of the form the TSS reads: refused before the TSS sees it. */
export class TctiSyntaxError extends RangeError {
  readonly code = 'TCTI_INVALID' as const;
}

export function validateTcti(tcti: string): string {
  if (!TCTI_PATTERN.test(tcti)) {
    throw new TctiSyntaxError(`invalid TCTI "${tcti}": expected NAME[:CONFIG], e.g. swtpm:host=127.0.0.1,port=2321 or device:/dev/tpmrm0`);
  }
  return tcti;
}

// The one error catalogue: stable code → title → message → remedy → docs anchor. The agent, the
// ESP, the CLI, the logs, the service and docs/errors.md all read it (a test keeps the doc in
// step). `hresult` is the Windows Autopilot code where the meaning matches, so technicians who
// know Autopilot recognise it.

export interface CatalogueEntry {
  readonly code: string;
  readonly hresult?: string;
  readonly title: string;
  readonly message: string;
  readonly remedy: string;
}

const entries = [
  {
    code: 'TPM_UNAVAILABLE',
    hresult: '0x800705B4',
    title: 'No TPM 2.0 answered',
    message: 'The device did not answer as a TPM 2.0 within the time allowed, or stopped answering.',
    remedy:
      'Enable the TPM 2.0 in the firmware setup (Security → TPM / PTT / fTPM), check that /dev/tpmrm0 exists and that the agent runs in the "tss" group. In a lab, check that swtpm is running on the TCTI given (selfdeploy tpm info --tcti …).',
  },
  {
    code: 'TPM_ADDON_MISSING',
    hresult: '0x800705B4',
    title: 'The TPM component is missing',
    message: 'The agent could not load its TPM component (the native tpm2-tss addon), so it cannot reach the TPM.',
    remedy:
      'Reinstall the selfdeploy package. From a source checkout, run `npm run build:native` (needs libtss2-dev), or simply `npm test` / `npm run lab`, which build it.',
  },
  {
    code: 'TPM_COMMAND_FAILED',
    title: 'The TPM refused a command',
    message: 'The TPM answered a command with an error; the log names the command and the TPM return code.',
    remedy:
      'Collect the logs and send them to your administrator. Do not clear the TPM unless told to: clearing it invalidates the device identity.',
  },
  {
    code: 'TPM_PARENT_MISMATCH',
    title: 'The device keys no longer belong to this TPM',
    message: 'A key this device created earlier cannot be loaded: the TPM was cleared or its storage key replaced since then.',
    remedy:
      'Ask the administrator to delete the device record on the deployment service, then reset the device so that it self-deploys again with new keys.',
  },
  {
    code: 'TPM_EK_POLICY_UNSUPPORTED',
    title: 'Unsupported endorsement key',
    message: "The TPM's endorsement key uses an authorization policy the agent cannot satisfy, so attestation is impossible with it.",
    remedy: 'Report the TPM model to the selfdeploy project; meanwhile the administrator can register the device as unverified hardware.',
  },
  {
    code: 'TPM_NV_NOT_READABLE',
    title: 'A TPM certificate cannot be read',
    message: 'An NV index that should hold an endorsement certificate needs an authorization the agent does not have.',
    remedy: 'Collect the logs and send them to your administrator; the device may need its EK certificate registered by hand.',
  },
  {
    code: 'TPM_STRUCTURE_INVALID',
    title: 'Malformed TPM data',
    message: 'A TPM structure (a public key, a quote, a signature) is malformed or truncated.',
    remedy: 'If this repeats, collect the logs: the TPM firmware or the data sent to it is faulty.',
  },
  {
    code: 'USAGE',
    title: 'Invalid command line',
    message: 'The command line is not one the program accepts.',
    remedy: 'Run the command with --help for its usage.',
  },
] as const satisfies readonly CatalogueEntry[];

export type ErrorCode = (typeof entries)[number]['code'];

export type CatalogueItem = CatalogueEntry & { readonly code: ErrorCode };

export const CATALOGUE: ReadonlyMap<ErrorCode, CatalogueItem> = new Map(entries.map((e) => [e.code, e]));

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && CATALOGUE.has(code as ErrorCode);
}

export function catalogueEntry(code: ErrorCode): CatalogueItem {
  return CATALOGUE.get(code)!;
}

/** The docs/errors.md heading anchor of a code (GitHub slugs keep underscores). */
export function docsAnchor(code: ErrorCode): string {
  return `errors.md#${code.toLowerCase()}`;
}

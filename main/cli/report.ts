// How the CLI reports a failure: catalogue code, title, what happened, what to do, where to read
// more — never a stack trace. Human text on stderr, or one JSON object with --json.
import { catalogueEntry, docsAnchor, isErrorCode, type ErrorCode } from '../../protocol/errors/catalogue.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export class UsageError extends Error {
  readonly code = 'USAGE' as const;
}

export interface CodedError {
  code: ErrorCode;
  message: string;
}

export function isCoded(error: unknown): error is CodedError {
  return error instanceof Error && isErrorCode((error as Error & { code?: unknown }).code);
}

/** Exit status by failure: 2 usage, 3 no usable TPM, 1 anything else the catalogue knows. */
export function exitStatus(code: ErrorCode): number {
  if (code === 'USAGE') return 2;
  if (code === 'TPM_UNAVAILABLE' || code === 'TPM_ADDON_MISSING') return 3;
  return 1;
}

export function reportError(error: CodedError, io: CliIo, json: boolean): void {
  const entry = catalogueEntry(error.code);
  if (json) {
    io.stdout(
      JSON.stringify(
        {
          error: {
            code: entry.code,
            ...(entry.hresult ? { hresult: entry.hresult } : {}),
            title: entry.title,
            message: error.message,
            remedy: entry.remedy,
            docs: `docs/${docsAnchor(entry.code)}`,
          },
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  const code = entry.hresult ? `${entry.code} (${entry.hresult})` : entry.code;
  io.stderr(
    [`selfdeploy: ${code}: ${entry.title}`, `  ${error.message}`, `  What to do: ${entry.remedy}`, `  More: docs/${docsAnchor(entry.code)}`, ''].join(
      '\n',
    ),
  );
}

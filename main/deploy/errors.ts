// Every way the self-deploy can fail, as an ESP failure: catalogue code, Autopilot HRESULT where
// one matches, title, message, remedy and docs anchor, plus this occurrence's detail.
import type { EspFailure, StepId } from '../../protocol/esp.js';
import { catalogueEntry, docsAnchor, isErrorCode, type ErrorCode } from '../../protocol/errors/catalogue.js';
import type { CodedError } from '../../protocol/errors/report.js';

export class DeployError extends Error implements CodedError {
  override name = 'DeployError';

  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly step: StepId | null = null,
    readonly item: string | null = null,
    options?: ErrorOptions,
  ) {
    super(detail, options);
  }
}

export function failureOf(error: unknown, step: StepId | null, item: string | null = null): EspFailure {
  const coded = error instanceof Error && isErrorCode((error as { code?: unknown }).code) ? (error as Error & { code: ErrorCode }) : undefined;
  // Whatever carries no catalogue code is the agent's own defect, never the service's.
  const code: ErrorCode = coded?.code ?? 'AGENT_INTERNAL';
  const entry = catalogueEntry(code);
  return {
    code,
    hresult: entry.hresult ?? null,
    title: entry.title,
    message: entry.message,
    remedy: entry.remedy,
    docs: `docs/${docsAnchor(code)}`,
    detail: error instanceof Error ? error.message : String(error),
    step: error instanceof DeployError ? (error.step ?? step) : step,
    item: error instanceof DeployError ? (error.item ?? item) : item,
  };
}

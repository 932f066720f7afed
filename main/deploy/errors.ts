// Every way the self-deploy can fail, as an ESP failure: catalogue code, Autopilot HRESULT where
// one matches, title, message, remedy and docs anchor, plus this occurrence's detail.
import type { EspFailure, StepId } from '../../protocol/esp.js';
import { catalogueEntry, docsAnchor, isErrorCode, type ErrorCode } from '../../protocol/errors/catalogue.js';
import type { CodedError } from '../../protocol/errors/report.js';
import { ServiceProblem } from '../../protocol/node/https-client.js';

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

/** Service answers worth waiting out: the service is down, overloaded or rate-limiting. */
export function isTransient(error: unknown): boolean {
  // The device setup helper restarting (systemd brings it back within seconds).
  if (error instanceof Error && (error as { code?: unknown }).code === 'HELPER_UNAVAILABLE') return true;
  if (!(error instanceof ServiceProblem)) return false;
  // 429 and 5xx by status too: a proxy or load balancer in front answers without the service's codes.
  return error.code === 'SERVICE_UNREACHABLE' || error.code === 'RATE_LIMITED' || error.code === 'INTERNAL' || error.status === 429 || (error.status ?? 0) >= 500;
}

export function failureOf(error: unknown, step: StepId | null, item: string | null = null): EspFailure {
  const coded = error instanceof Error && isErrorCode((error as { code?: unknown }).code) ? (error as Error & { code: ErrorCode }) : undefined;
  const code: ErrorCode = coded?.code ?? 'INTERNAL';
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

// The engine's session with the service: the ESP deadline, waiting out a service (or helper)
// that is away as the retry policy says (protocol/retry.ts) until that deadline, and the device's
// access token — cached until a minute before it expires, and fetched again once when refused.
import { SERVICE_WAIT, backoffMs, isRetryable } from '../../protocol/retry.js';
import { ServiceProblem } from '../../protocol/node/https-client.js';
import type { EnrollmentPort } from '../enrollment/port.js';
import type { ClockPort } from './clock.js';
import { DeployError } from './errors.js';
import type { EspProgress } from './progress.js';

export class ServiceSession {
  /** When the ESP times out (ms since the epoch); null before the ESP starts. */
  deadline: number | null = null;
  private access: { token: string; expiresAt: number } | undefined;

  constructor(
    private readonly parts: {
      clock: ClockPort;
      progress: EspProgress;
      enrollment: Pick<EnrollmentPort, 'signIn'>;
      log: (event: string, detail?: Record<string, unknown>) => void;
    },
  ) {}

  /**
   * The ESP starts: its timeout counts from now — or from when it first started, on a run that
   * resumes one (the deadline is in the journal, so restarting never buys more time).
   */
  startEsp(timeoutMinutes: number): void {
    const { progress, clock } = this.parts;
    const saved = progress.journal.espDeadline;
    this.deadline = saved ? Date.parse(saved) : clock.now() + timeoutMinutes * 60_000;
    if (!saved) {
      progress.journal.espDeadline = progress.iso(this.deadline);
      progress.checkpoint();
    }
    progress.emit({ type: 'context', context: { deadline: progress.iso(this.deadline) } });
  }

  timeout(what: string, cause?: unknown): DeployError {
    const last = cause instanceof Error ? `; last error: ${cause.message}` : '';
    const { progress } = this.parts;
    return new DeployError('ESP_TIMEOUT', `the ESP timeout passed while ${what}${last}`, progress.currentStep, progress.currentItem?.id ?? null, { cause });
  }

  /**
   * Runs `call`, waiting out what the retry policy calls worth waiting out, until `deadline` — the
   * whole of it: the last wait ends at the deadline, and only then does the wait give up (with
   * ESP_TIMEOUT for the ESP's deadline, with the last failure for another).
   */
  async patiently<T>(what: string, call: () => Promise<T>, deadline = this.deadline): Promise<T> {
    const { clock, log, progress } = this.parts;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.beforeDeadline(what, call(), deadline);
      } catch (error) {
        if (!isRetryable(error)) throw error;
        const left = deadline === null ? Number.POSITIVE_INFINITY : deadline - clock.now();
        if (left <= 0) {
          if (deadline === this.deadline) throw this.timeout(what, error);
          throw error;
        }
        const wait = Math.ceil(Math.min(backoffMs(SERVICE_WAIT, attempt), left)); // whole milliseconds, as clocks count
        log('service.wait', { what, attempt, waitMs: Math.round(wait), reason: (error as Error).message });
        const code = (error as { code?: unknown }).code;
        const waitingFor = code === 'HELPER_UNAVAILABLE' ? 'the device setup helper' : code === 'EK_CERTIFICATE_SERVICE_UNREACHABLE' ? "the TPM vendor's certificate service" : 'the service';
        progress.note(`Waiting for ${waitingFor} (${(error as Error).message})`);
        await clock.sleep(wait);
        if (deadline !== null && clock.now() >= deadline) {
          if (deadline === this.deadline) throw this.timeout(what, error);
          throw error;
        }
      }
    }
  }

  /** Rejects with ESP_TIMEOUT when the deadline passes before `promise` settles. */
  beforeDeadline<T>(what: string, promise: Promise<T>, deadline = this.deadline): Promise<T> {
    if (deadline === null) return promise;
    const left = deadline - this.parts.clock.now();
    if (left <= 0) return Promise.reject(this.timeout(what));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.timeout(what)), left);
    });
    return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
  }

  /** The device's access token: the cached one while it has a minute left, else a new sign-in. */
  async token(): Promise<string> {
    const { clock, enrollment } = this.parts;
    if (this.access && this.access.expiresAt - 60_000 > clock.now()) return this.access.token;
    const token = await enrollment.signIn();
    this.access = { token: token.accessToken, expiresAt: clock.now() + token.expiresIn * 1000 };
    return token.accessToken;
  }

  /** A management call with the device's access token, refreshed once if the service refuses it (waited out until `deadline`). */
  async managed<T>(what: string, call: (token: string) => Promise<T>, deadline = this.deadline): Promise<T> {
    return this.patiently(what, async () => {
      try {
        return await call(await this.token());
      } catch (error) {
        if (error instanceof ServiceProblem && error.code === 'UNAUTHORIZED') {
          this.access = undefined;
          return call(await this.token());
        }
        throw error;
      }
    }, deadline);
  }
}

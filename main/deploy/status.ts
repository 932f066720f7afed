// The ESP as the service sees it (the admin's live view, a staging bench's table): the snapshot is
// sent after each step and item, one report at a time, coalescing; a report that fails never fails
// the ESP. Before the device is registered for management there is no one to report to.
import type { BackendPort } from '../backend-client/port.js';
import type { EspProgress } from './progress.js';
import type { ServiceSession } from './session.js';

export class StatusReports {
  private chain: Promise<void> = Promise.resolve();
  private pending = false;

  constructor(
    private readonly parts: {
      api: Pick<BackendPort, 'status'>;
      progress: EspProgress;
      session: Pick<ServiceSession, 'token'>;
      log: (event: string, detail?: Record<string, unknown>) => void;
    },
  ) {}

  report(): void {
    const { api, progress, session, log } = this.parts;
    if (!progress.stepDone('registering-mdm') || this.pending) return;
    this.pending = true;
    this.chain = this.chain.then(async () => {
      this.pending = false;
      const snapshot = { ...progress.current(), branding: null };
      try {
        await api.status(await session.token(), { snapshot });
      } catch (error) {
        log('status.failed', { reason: (error as Error).message });
      }
    });
  }

  /** Waits (at most ten seconds of real time) for the last report to reach the service. */
  async flush(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 10_000);
    });
    await Promise.race([this.chain, bound]);
    clearTimeout(timer);
  }
}

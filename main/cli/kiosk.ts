// `selfdeploy kiosk`: the kiosk browser after setup where no Electron runs (the lab, a dev
// machine, a kiosk session without the app): Chromium full screen on the kiosk settings device
// setup wrote, every navigation judged outside the page (main/host/kiosk/). Logs JSON lines on
// stdout — "kiosk.started" once the home page is shown, every refusal — and runs until Chromium
// exits or the process is told to stop; a fresh browser profile each time, removed at the end.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { CliIo, CodedError } from '../../protocol/errors/report.js';
import { CdpKiosk } from '../host/kiosk/cdp.js';
import { CHROMIUM, launchChromium } from '../host/kiosk/chromium.js';
import { KIOSK_CONFIG, KioskConfigError, readKioskConfig } from '../host/kiosk/controller.js';

export class KioskBrowserError extends Error implements CodedError {
  override name = 'KioskBrowserError';
  readonly code = 'KIOSK_BROWSER_FAILED' as const;
}

export interface KioskCommandOptions {
  config?: string | undefined;
  /** No window (tests, machines without a display). */
  headless: boolean;
  /** More Chromium switches (the lab maps its demo site's names to loopback and pins its key). */
  browserArgs: readonly string[];
  executable?: string | undefined;
}

export async function kioskCommand(options: KioskCommandOptions, io: CliIo, stop: Promise<void> = stopSignal()): Promise<number> {
  const path = options.config ?? KIOSK_CONFIG;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new KioskConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const config = readKioskConfig(text, path);
  const executable = options.executable ?? CHROMIUM;
  if (!existsSync(executable)) throw new KioskBrowserError(`${executable} is not installed`);
  const log = (event: string, detail: Record<string, unknown>) => io.stdout(JSON.stringify({ at: new Date().toISOString(), event, ...detail }) + '\n');
  const profile = mkdtempSync(join(tmpdir(), 'selfdeploy-kiosk-'));
  const chromium = launchChromium({ userDataDir: profile, headless: options.headless, args: options.browserArgs, executable });
  let kiosk: CdpKiosk | undefined;
  try {
    kiosk = await Promise.race([
      CdpKiosk.open(chromium.cdp, config, { log }),
      chromium.exited.then((code) => Promise.reject(new KioskBrowserError(`Chromium exited (status ${code}) before it showed the kiosk`))),
    ]).catch((error: unknown) => {
      throw error instanceof KioskBrowserError ? error : new KioskBrowserError(`Chromium did not take the kiosk: ${(error as Error).message}`);
    });
    log('kiosk.started', { mode: config.mode, home: config.homeUrl, ...(await kiosk.showing()) });
    const ended = await Promise.race([chromium.exited.then((code) => ({ code })), stop.then(() => null)]);
    if (ended) throw new KioskBrowserError(`Chromium stopped (status ${ended.code})`);
    log('kiosk.stopped', {});
    return 0;
  } finally {
    kiosk?.close();
    await chromium.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
}

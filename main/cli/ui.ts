// `selfdeploy ui`: the agent with its graphical ESP in a browser — the same engine as `selfdeploy
// deploy`, behind the UI contract on the dev host (127.0.0.1, a per-run secret). Prints the URL,
// opens Chromium in an app window where a display exists, and serves until Ctrl-C so the page
// keeps showing the outcome. The Electron host is the same session behind a preload.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { CliIo } from '../../protocol/errors/report.js';
import { resetDevice } from '../agent/reset.js';
import { restartFrom } from '../updates/bundle.js';
import { RESTART_EXIT, describeReboot } from './deploy.js';
import { DevHost } from '../host/dev/server.js';
import { CHROMIUM } from '../host/kiosk/chromium.js';
import { HostSession } from '../host/session.js';
import { rendererDir } from '../installation/layout.js';
import { openAgent, serviceOf, type AgentOptions } from '../agent/agent.js';

export interface UiCommandOptions extends AgentOptions {
  port?: number | undefined;
  /** Open Chromium in an app window (when a display exists). */
  open: boolean;
}

export async function uiCommand(options: UiCommandOptions, io: CliIo): Promise<number> {
  const service = serviceOf(options);
  const agent = await openAgent(options, service);
  const session = new HostSession({
    engine: (decideContinue, askOobe) => agent.engine(decideContinue, askOobe),
    reset: () => resetDevice({ state: options.state, executor: options.executor }),
    state: options.state,
    network: agent.network,
    facts: () => agent.facts(),
    log: agent.log,
  });
  let restartEntry: string | undefined;
  let restartDevice = false;
  const host = new DevHost({ session, rendererDir: rendererDir(), port: options.port, log: agent.log });
  try {
    await host.start();
    io.stdout(`ESP: ${host.url}\n`);
    if (options.open && (process.env['DISPLAY'] || process.env['WAYLAND_DISPLAY']) && existsSync(CHROMIUM)) {
      const profile = join(options.state, 'chromium-profile');
      mkdirSync(profile, { recursive: true, mode: 0o700 });
      spawn(CHROMIUM, [`--app=${host.url}`, `--user-data-dir=${profile}`, '--no-first-run', '--start-fullscreen'], { detached: true, stdio: 'ignore' }).unref();
      io.stdout('Opened in a Chromium app window.\n');
    } else if (options.open) {
      io.stdout('No display (or no /usr/bin/chromium): open the URL above in a browser.\n');
    }
    let restarting!: () => void;
    const restart = new Promise<void>((resolve) => (restarting = resolve));
    const report = (outcome: Awaited<ReturnType<HostSession['start']>>) => {
      if (outcome.status === 'restart') {
        io.stdout(`Critical update ${outcome.version} installed; the agent restarts on it (a new ESP address follows).\n`);
        restartEntry = outcome.entry;
        restarting();
      } else if (outcome.status === 'reboot') {
        io.stdout(describeReboot(outcome));
        restartDevice = true;
        restarting();
      } else if (outcome.status === 'provisioned') io.stdout(`Provisioned: device ${outcome.deviceId}${outcome.deviceName ? ` (${outcome.deviceName})` : ''}, ${outcome.endState === 'kiosk' ? 'kiosk' : 'sign-in screen'} ready.\n`);
      else io.stdout(`Setup stopped: ${outcome.failure.code}${outcome.failure.hresult ? ` (${outcome.failure.hresult})` : ''}: ${outcome.failure.title} — the ESP shows what to do.\n`);
    };
    session.onOutcome(report);
    void session.start().catch((error: unknown) => io.stderr(`selfdeploy: the engine stopped: ${(error as Error).message}\n`));
    await Promise.race([
      restart,
      new Promise<void>((resolve) => {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
      }),
    ]);
  } finally {
    await host.close();
    await session.close();
    await agent.close();
  }
  if (restartEntry) return restartFrom(restartEntry);
  return restartDevice ? RESTART_EXIT : 0;
}

// The deployment service as its own process (`selfdeploy-server start`) on a loopback port, for
// the lab and the staging bench: started on an initialised data directory, logging to a file
// there, and waited for until it answers its health check.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';

import { device } from '../protocol/api/endpoints.js';
import { ServiceClient } from '../protocol/node/https-client.js';
import { serverCli } from '../main/installation/layout.js';
import { freePort } from './net.js';

/** The built service, from the source tree (tests) or dist/ alike. */
const SERVER_CLI = serverCli();

export interface ServiceProcess {
  url: URL;
  child: ChildProcess;
  /** Where its output goes. */
  log: string;
  stop(): Promise<void>;
}

/** SIGTERM, and the process's exit awaited (nothing when it is gone already). */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Starts the service on `dataDir`; resolves once its health endpoint answers (30 s at most).
 * Replicas on one data directory each take a `name` (their log is service-NAME.log) and may be
 * given their `port` (to come back where they were).
 */
export async function startServiceProcess(dataDir: string, ca: string, options: { name?: string; port?: number } = {}): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const url = new URL(`https://127.0.0.1:${port}`);
  const log = join(dataDir, options.name ? `service-${options.name}.log` : 'service.log');
  const logFd = openSync(log, 'a', 0o600);
  const child = spawn(process.execPath, [SERVER_CLI, 'start', '--data', dataDir, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', logFd, logFd] });
  const stop = () => stopProcess(child);
  const client = new ServiceClient({ server: url, ca, timeoutMs: 5_000 });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited with status ${child.exitCode}; see ${log}`);
      try {
        if ((await client.probe(device.health)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the service did not answer within 30 s; see ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.close();
  }
  return { url, child, log, stop };
}

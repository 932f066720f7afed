#!/usr/bin/env node
// `selfdeploy-helper`: the privileged half of device setup, run as root by systemd
// (resources/systemd/selfdeploy-helper.service). It changes the system only as the agent asks,
// only within the allow-list (main/helper), and logs each operation (never contents) as JSON lines.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { UsageError, exitStatus, isCoded, reportError, type CliIo } from '../../protocol/errors/report.js';
import { DeviceApi } from '../backend-client/device-api.js';
import { FeedClient } from '../deploy/updates.js';
import { ServiceAssignments } from '../helper/assignments.js';
import { ServiceReleases } from '../helper/releases.js';
import { DEFAULT_CONFIG, HelperConfigError, groupId, readHelperConfig } from '../helper/config.js';
import { HelperServer } from '../helper/server.js';
import { agentVersion } from './version.js';

const USAGE = `Usage: selfdeploy-helper [--config FILE]

Runs as root and changes the system for the selfdeploy agent, which connects over a UNIX socket
(default /run/selfdeploy/helper.sock, mode 0660, group "selfdeploy"). Only the operations device
setup needs are accepted; see docs/operations.md#the-privileged-helper.

Options:
  --config FILE   its configuration (default ${DEFAULT_CONFIG})
  --help          this text
  --version       its version
`;

export async function main(argv: string[], io: CliIo): Promise<number> {
  try {
    let values;
    try {
      ({ values } = parseArgs({ args: argv, strict: true, options: { config: { type: 'string' }, help: { type: 'boolean', default: false }, version: { type: 'boolean', default: false } } }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (values.help) {
      io.stdout(USAGE);
      return 0;
    }
    if (values.version) {
      io.stdout(`selfdeploy-helper ${agentVersion()}\n`);
      return 0;
    }
    const config = readHelperConfig(values.config ?? DEFAULT_CONFIG);
    if (config.root === '/' && process.getuid?.() !== 0) throw new HelperConfigError('selfdeploy-helper changes the system and must run as root (its systemd unit does that)');
    let api: DeviceApi | undefined;
    if (config.service) {
      let ca: string;
      try {
        ca = readFileSync(config.service.ca, 'utf8');
      } catch (error) {
        throw new HelperConfigError(`cannot read the service CA ${config.service.ca}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
      api = new DeviceApi({ server: new URL(config.service.server), ca, timeoutMs: 30_000 });
    }
    const server = new HelperServer({
      socket: config.socket,
      root: config.root,
      state: config.state,
      group: config.group === null ? null : groupId(config.group),
      contentDir: config.contentDir,
      authority: api ? new ServiceAssignments(api) : null,
      // Agent releases: only what the service's own feed offers (the feed is read, never downloaded from, here).
      releases: api ? new ServiceReleases(() => new FeedClient(api.http, config.contentDir).feed()) : null,
      version: agentVersion(),
      log: (event, detail) => io.stdout(JSON.stringify({ at: new Date().toISOString(), event, ...detail }) + '\n'),
    });
    await server.start();
    if (!api) io.stderr('selfdeploy-helper: allowUnassignedContent is set: scripts and packages run when their digest matches, whether or not the service assigned them (labs only)\n');
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
    });
    await server.close();
    api?.close();
    return 0;
  } catch (error) {
    if (isCoded(error)) {
      reportError('selfdeploy-helper', error, io, false);
      if (error.code === 'USAGE') io.stderr(USAGE);
      return exitStatus(error.code);
    }
    io.stderr(`selfdeploy-helper: internal error: ${(error as Error).message}\n`);
    return 70;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}

#!/usr/bin/env node
// `selfdeploy-helper`: the privileged half of device setup, run as root by systemd
// (resources/systemd/selfdeploy-helper.service). It changes the system only as the agent asks,
// only within the allow-list (main/helper), and logs each operation (never contents) as JSON lines.
import { pathToFileURL } from 'node:url';

import type { Command } from 'commander';

import type { CliIo } from '../../protocol/errors/report.js';
import { act, createProgram, runProgram } from '../../protocol/node/command-line.js';
import { InputFileError, readCaCertificate } from '../../protocol/node/input-file.js';
import { DeviceApi } from '../backend-client/device-api.js';
import { FeedClient } from '../updates/feed.js';
import { ServiceAssignments } from '../helper/assignments.js';
import { ServiceReleases } from '../helper/releases.js';
import { DEFAULT_CONFIG, HelperConfigError, groupId, readHelperConfig } from '../helper/config.js';
import { HelperServer } from '../helper/server.js';
import { agentVersion } from '../installation/version.js';

const SPEC = {
  name: 'selfdeploy-helper',
  description:
    'Runs as root and changes the system for the selfdeploy agent, which connects over a UNIX socket (default /run/selfdeploy/helper.sock, mode 0660, group "selfdeploy"). Only the operations device setup needs are accepted; see docs/operations.md#the-privileged-helper.',
  internal: 'AGENT_INTERNAL',
} as const;

async function serve(configPath: string, io: CliIo): Promise<void> {
  const config = readHelperConfig(configPath);
  if (config.root === '/' && process.getuid?.() !== 0) throw new HelperConfigError('selfdeploy-helper changes the system and must run as root (its systemd unit does that)');
  let api: DeviceApi | undefined;
  if (config.service) {
    let ca: string;
    try {
      ca = readCaCertificate(config.service.ca, '"service.ca" in the helper configuration');
    } catch (error) {
      throw error instanceof InputFileError ? new HelperConfigError(error.message) : error;
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
}

export function helperProgram(io: CliIo): Command {
  return createProgram({ ...SPEC, version: agentVersion() })
    .option('--config <FILE>', 'its configuration', DEFAULT_CONFIG)
    .action(act((options: { config: string }) => serve(options.config, io)));
}

export function main(argv: string[], io: CliIo): Promise<number> {
  return runProgram(helperProgram(io), argv, io, SPEC);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}

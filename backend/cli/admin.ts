#!/usr/bin/env node
// `selfdeploy-admin`: the admin HTTP API from a shell — one command module per resource in
// admin/ (devices, groups, documents, content and updates, the tenant). Human tables by default,
// --json for scripts; every command has its own --help.
import { pathToFileURL } from 'node:url';

import type { Command } from 'commander';

import type { CliIo } from '../../protocol/errors/report.js';
import { createProgram, runProgram } from '../../protocol/node/command-line.js';
import { serviceVersion } from '../version.js';
import { contentCommands } from './admin/content.js';
import { devicesCommands } from './admin/devices.js';
import { documentCommands } from './admin/documents.js';
import { groupsCommands } from './admin/groups.js';
import { reportCommands } from './admin/reports.js';
import { adminActions } from './admin/session.js';
import { tenantCommands } from './admin/tenant.js';
import { tokensCommands } from './admin/tokens.js';
import { trustAnchorsCommands } from './admin/trust-anchors.js';

const SPEC = {
  name: 'selfdeploy-admin',
  description: 'Manage a selfdeploy deployment service: devices, groups, profiles, items, content, releases, branding, trust anchors, tokens, reports and the audit log.',
  internal: 'CLI_INTERNAL',
  epilog: [
    'Connection: the flags, else SELFDEPLOY_SERVER / SELFDEPLOY_CA / SELFDEPLOY_TOKEN, else the config file',
    '(--config FILE, SELFDEPLOY_ADMIN_CONFIG or ~/.config/selfdeploy/admin.json): {"server": URL, "ca": FILE, "token": TOKEN}.',
  ].join('\n'),
} as const;

export function adminProgram(io: CliIo, env: NodeJS.ProcessEnv): Command {
  const program = createProgram({
    ...SPEC,
    version: serviceVersion(),
    globalOptions: (root) =>
      root
        .option('--server <URL>', 'the service (https://HOST:PORT)')
        .option('--ca <FILE>', 'the service CA to trust (service-ca.pem from init)')
        .option('--token <TOKEN>', 'an admin or technician API token')
        .option('--config <FILE>', 'a connection file'),
  });
  const action = adminActions(io, env);
  devicesCommands(program, action);
  groupsCommands(program, action);
  documentCommands(program, action);
  contentCommands(program, action);
  tenantCommands(program, action);
  trustAnchorsCommands(program, action);
  tokensCommands(program, action);
  reportCommands(program, action);
  return program;
}

export function main(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runProgram(adminProgram(io, env), argv, io, SPEC, env);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: process.stderr.isTTY,
    stdin: () => process.stdin,
  });
}

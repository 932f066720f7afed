#!/usr/bin/env node
// The `selfdeploy` command: the agent's tools for technicians and labs. Later issues add the
// headless deploy and the hardware hash; every command reports failures from the catalogue.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

import { packageRoot } from '../tpm/native.js';
import { validateTcti } from '../tpm/tpm.js';
import { UsageError, exitStatus, isCoded, reportError, type CliIo } from '../../protocol/errors/report.js';
import { tpmInfo } from './tpm-info.js';

const USAGE = `Usage: selfdeploy <command> [options]

Commands:
  tpm info [--tcti STR] [--json]   the TPM: manufacturer, firmware, PCR banks, EK certificates
                                   (PEM) and EK public digests

Options:
  --tcti STR   TPM connection (tctildr syntax): device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=2321;
               default: the TSS default search (tabrmd, /dev/tpmrm0, /dev/tpm0, swtpm, mssim)
  --json       machine-readable output
  --help       this text
  --version    the agent version
`;

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: {
          tcti: { type: 'string' },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', default: false },
          version: { type: 'boolean', default: false },
        },
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout(USAGE);
      return 0;
    }
    if (values.version) {
      io.stdout(`selfdeploy ${version()}\n`);
      return 0;
    }
    const command = positionals.join(' ');
    if (command === 'tpm info') {
      let tcti: string | undefined;
      try {
        tcti = values.tcti === undefined ? undefined : validateTcti(values.tcti);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      await tpmInfo(tcti === undefined ? { json: values.json } : { tcti, json: values.json }, io);
      return 0;
    }
    throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  } catch (error) {
    if (isCoded(error)) {
      reportError('selfdeploy', error, io, json);
      if (error.code === 'USAGE' && !json) io.stderr(USAGE);
      return exitStatus(error.code);
    }
    // Not a catalogued failure: a defect. Say so plainly, keep the detail for the log.
    io.stderr(`selfdeploy: internal error: ${(error as Error).message ?? String(error)}\n`);
    if (process.env['SELFDEPLOY_DEBUG']) io.stderr(`${(error as Error).stack ?? ''}\n`);
    return 70;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // Output piped into `head` and closed early is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const code = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  // A TPM that stopped answering leaves a detached worker behind: do not wait for it.
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

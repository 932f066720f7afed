#!/usr/bin/env node
// The `selfdeploy` command: the agent's tools for technicians and labs — the TPM, the hardware
// hash and the headless self-deploy. Every command reports failures from the catalogue.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

import { DEFAULT_SOCKET } from '../helper/protocol.js';
import { validateTcti } from '../tpm/tpm.js';
import { UsageError, exitStatus, isCoded, reportError, type CliIo } from '../../protocol/errors/report.js';
import { FileIdentitySource, SystemIdentitySource, readDeviceIdentity } from '../identity/identity.js';
import { Tpm } from '../tpm/tpm.js';
import type { Executor } from '../deploy/reset.js';
import { deployCommand, resetCommand } from './deploy.js';
import { agentVersion } from './version.js';
import { uiCommand } from './ui.js';
import { kioskCommand } from './kiosk.js';
import { printHash } from './hash.js';
import { tpmInfo } from './tpm-info.js';

const USAGE = `Usage: selfdeploy <command> [options]

Commands:
  tpm info [--tcti STR] [--json]   the TPM: manufacturer, firmware, PCR banks, EK certificates
                                   (PEM) and EK public digests
  hash [--csv | --append FILE] [--group-tag TAG] [--identity FILE] [--tcti STR] [--json]
                                   the hardware hash; --csv prints the row the service imports,
                                   --append adds it to a collection file (one header per file,
                                   a serial already there is refused)
  deploy --server URL --ca FILE [--tcti STR] [--helper SOCKET | --root DIR] [--state DIR]
         [--identity FILE] [--json] [--continue-on-error] [--reset] [--wait SECONDS]
                                   self-deploy this device: network, profile, attestation, join,
                                   management, device setup, end state; resumes after a restart
  ui --server URL --ca FILE [--tcti STR] [--helper SOCKET | --root DIR] [--state DIR]
     [--identity FILE] [--wait SECONDS] [--port N] [--open]
                                   the same self-deploy with the graphical ESP: served on
                                   127.0.0.1 (prints the URL; --open starts Chromium where a
                                   display exists), until Ctrl-C
  kiosk [--config FILE] [--headless] [--browser-arg=SWITCH]...
                                   the kiosk browser after setup, in Chromium: the home URL full
                                   screen, navigation held to the profile's allowed and blocked
                                   URLs, the toolbar, idle restart, signage (JSON log on stdout)
  reset [--helper SOCKET | --root DIR] [--state DIR] [--json]
                                   undo every change device setup made, newest first, and clear
                                   the agent's state: the next setup starts at the first page

Options:
  --tcti STR       TPM connection (tctildr syntax): device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=2321;
                   default: the TSS default search (tabrmd, /dev/tpmrm0, /dev/tpm0, swtpm, mssim)
  --identity FILE  the hardware identity from a JSON file, for VMs and labs whose firmware has no
                   serial number: {"serial", "manufacturer", "model", "macs", "diskSerials"}
  --server URL     the deployment service (https://)
  --ca FILE        the service CA to trust (and nothing else)
  --helper SOCKET  change the system through selfdeploy-helper (root) on this socket; the default
                   when the agent is not root and no --root is given: /run/selfdeploy/helper.sock
  --root DIR       change files under DIR in this process (a lab or image directory; / as root)
  --state DIR      the agent's journal, keys and certificate (default /var/lib/selfdeploy)
  --wait SECONDS   how long to wait for network and service before the profile is known (120)
  --port N         ui: the port of the ESP on 127.0.0.1 (default: any free one)
  --open           ui: open the ESP in a Chromium app window (where a display exists)
  --config FILE    kiosk: the kiosk settings (default /etc/selfdeploy/kiosk.json)
  --headless       kiosk: no window (tests, machines without a display)
  --browser-arg=S  kiosk: one more Chromium switch (the lab maps its demo site to loopback)
  --continue-on-error  pass over a failed required item when the profile allows continuing
  --reset          start over: forget the journal, keys and downloads (when the profile allows it)
  --json           machine-readable output (deploy: the ESP event stream as JSON lines)
  --help       this text
  --version    the agent version
`;

/** --helper, --root, or by who runs: root changes "/" itself, anyone else asks the helper. */
function executorOf(values: { helper?: string | undefined; root?: string | undefined }): Executor {
  if (values.helper !== undefined && values.root !== undefined) throw new UsageError('--helper and --root exclude each other: the helper changes the system, --root a directory');
  if (values.helper !== undefined) return { helper: values.helper };
  if (values.root !== undefined) return { root: values.root };
  return process.getuid?.() === 0 ? { root: '/' } : { helper: DEFAULT_SOCKET };
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
          csv: { type: 'boolean', default: false },
          append: { type: 'string' },
          'group-tag': { type: 'string' },
          identity: { type: 'string' },
          server: { type: 'string' },
          ca: { type: 'string' },
          root: { type: 'string' },
          helper: { type: 'string' },
          port: { type: 'string' },
          open: { type: 'boolean', default: false },
          config: { type: 'string' },
          headless: { type: 'boolean', default: false },
          'browser-arg': { type: 'string', multiple: true, default: [] },
          state: { type: 'string' },
          wait: { type: 'string' },
          'continue-on-error': { type: 'boolean', default: false },
          reset: { type: 'boolean', default: false },
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
      io.stdout(`selfdeploy ${agentVersion()}\n`);
      return 0;
    }
    const command = positionals.join(' ');
    let tcti: string | undefined;
    try {
      tcti = values.tcti === undefined ? undefined : validateTcti(values.tcti);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (command === 'tpm info') {
      await tpmInfo(tcti === undefined ? { json: values.json } : { tcti, json: values.json }, io);
      return 0;
    }
    if (command === 'hash') {
      if (values.csv && values.append) throw new UsageError('--csv prints the row; --append writes it to a file: choose one');
      const tpm = await Tpm.open(tcti === undefined ? {} : { tcti });
      try {
        const device = await readDeviceIdentity(values.identity ? new FileIdentitySource(values.identity) : new SystemIdentitySource(), tpm);
        printHash(device, { csv: values.csv, json: values.json, append: values.append, groupTag: values['group-tag'] }, io);
      } finally {
        await tpm.close();
      }
      return 0;
    }
    if (command === 'reset') {
      return await resetCommand({ state: values.state ?? '/var/lib/selfdeploy', executor: executorOf(values), json: values.json }, io);
    }
    if (command === 'kiosk') {
      const browserArgs = values['browser-arg'];
      const bad = browserArgs.find((arg) => !/^--[a-z0-9-]+(=.*)?$/.test(arg) || /^--(remote-debugging|user-data-dir|load-extension)/.test(arg));
      if (bad !== undefined) throw new UsageError(`--browser-arg takes a Chromium switch (--name or --name=value), not "${bad}"; the debugging, profile and extension switches are the kiosk's own`);
      return await kioskCommand({ config: values.config, headless: values.headless, browserArgs }, io);
    }
    if (command === 'ui') {
      if (!values.server) throw new UsageError('ui needs --server URL');
      if (!values.ca) throw new UsageError('ui needs --ca FILE (the service CA)');
      const port = values.port === undefined ? undefined : Number(values.port);
      if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UsageError('--port takes a TCP port, 0 to 65535');
      const wait = values.wait === undefined ? undefined : Number(values.wait);
      if (wait !== undefined && !(Number.isInteger(wait) && wait >= 0 && wait <= 86_400)) throw new UsageError('--wait takes whole seconds, 0 to 86400');
      return await uiCommand(
        { server: values.server, ca: values.ca, tcti, executor: executorOf(values), state: values.state ?? '/var/lib/selfdeploy', identity: values.identity, preflightWaitSeconds: wait, port, open: values.open },
        io,
      );
    }
    if (command === 'deploy') {
      if (!values.server) throw new UsageError('deploy needs --server URL');
      if (!values.ca) throw new UsageError('deploy needs --ca FILE (the service CA)');
      const wait = values.wait === undefined ? undefined : Number(values.wait);
      if (wait !== undefined && !(Number.isInteger(wait) && wait >= 0 && wait <= 86_400)) throw new UsageError('--wait takes whole seconds, 0 to 86400');
      return await deployCommand(
        {
          server: values.server,
          ca: values.ca,
          tcti,
          executor: executorOf(values),
          state: values.state ?? '/var/lib/selfdeploy',
          identity: values.identity,
          json: values.json,
          continueOnError: values['continue-on-error'],
          reset: values.reset,
          preflightWaitSeconds: wait,
        },
        io,
        { write: (text) => io.stdout(text), isTTY: io.isTTY ?? false },
      );
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
    isTTY: process.stdout.isTTY,
  });
  // A TPM that stopped answering leaves a detached worker behind: do not wait for it.
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

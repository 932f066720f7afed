#!/usr/bin/env node
// The `selfdeploy` command: the agent's tools for technicians and labs — the TPM, the hardware
// hash, the headless self-deploy (terminal or graphical ESP), the kiosk browser and reset. Every
// command has its own --help; every failure is reported from the catalogue.
import { pathToFileURL } from 'node:url';

import type { Command } from 'commander';

import { GroupTagSchema } from '../../protocol/api/admin.js';
import { UsageError, type CliIo } from '../../protocol/errors/report.js';
import { act, createProgram, optionError, repeated, runProgram, wholeNumber } from '../../protocol/node/command-line.js';
import { InputFileError, readInputFile, readInputOrStdin } from '../../protocol/node/input-file.js';
import { EK_SERVICE_FORMATS, EkCertificateServiceSchema, ekCertificateServiceFor, type EkCertificateService, type EkServiceFormat } from '../../protocol/profile.js';
import { describeIssues } from '../../protocol/validation.js';
import { VendorEkCertificates } from '../enrollment/vendor-ek-certificates.js';
import type { Executor } from '../agent/executor.js';
import { DEFAULT_SOCKET } from '../helper/protocol.js';
import { FileIdentitySource, SystemIdentitySource, readDeviceIdentity, type IdentitySource } from '../identity/identity.js';
import { agentVersion } from '../installation/version.js';
import { passphraseProblem, ssidProblem } from '../network/wifi.js';
import { validateTcti } from '../tpm/tcti.js';
import { Tpm } from '../tpm/tpm.js';
import { checkInCommand, deployCommand, resetCommand } from './deploy.js';
import { printHash } from './hash.js';
import { kioskCommand } from './kiosk.js';
import { serviceOf } from '../agent/agent.js';
import { tpmCheck } from './tpm-check.js';
import { tpmInfo } from './tpm-info.js';
import { uiCommand } from './ui.js';

const SPEC = {
  name: 'selfdeploy',
  description: "The selfdeploy agent: this device's TPM and hardware hash, the self-deploy (headless or with the graphical ESP), the kiosk browser, and reset.",
  internal: 'AGENT_INTERNAL',
  epilog: 'The agent never runs as root: device setup goes through selfdeploy-helper (--helper), or into a directory (--root).',
} as const;

const DEFAULT_STATE = '/var/lib/selfdeploy';

const tcti = (value: string): string => {
  try {
    return validateTcti(value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
};

/** --helper, --root, or by who runs: root changes "/" itself, anyone else asks the helper. */
function executorOf(command: Command, values: { helper?: string | undefined; root?: string | undefined }): Executor {
  if (values.helper !== undefined && values.root !== undefined) throw optionError(command, '--helper and --root exclude each other: the helper changes the system, --root a directory');
  if (values.helper !== undefined) return { helper: values.helper };
  if (values.root !== undefined) return { root: values.root };
  return process.getuid?.() === 0 ? { root: '/' } : { helper: DEFAULT_SOCKET };
}

const json = (command: Command) => command.optsWithGlobals<{ json?: boolean }>().json ?? false;

interface AgentFlags {
  server: string;
  ca: string;
  tcti?: string;
  helper?: string;
  root?: string;
  state: string;
  identity?: string;
  wait?: number;
}

/** The options every command that runs the agent takes. */
function agentOptions(command: Command): Command {
  return command
    .requiredOption('--server <URL>', 'the deployment service (https://)')
    .requiredOption('--ca <FILE>', 'the service CA to trust (and nothing else)')
    .option('--tcti <STR>', 'the TPM connection (tctildr syntax), e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321; default: the TSS search', tcti)
    .option('--helper <SOCKET>', `change the system through selfdeploy-helper (root) on this socket; the default when not root and no --root: ${DEFAULT_SOCKET}`)
    .option('--root <DIR>', 'change files under DIR in this process (a lab or image directory; / as root)')
    .option('--state <DIR>', "the agent's journal, keys and certificate", DEFAULT_STATE)
    .option('--identity <FILE>', 'the hardware identity from a JSON file, for VMs and labs whose firmware has no serial number: {"serial", "manufacturer", "model", "macs", "diskSerials"}')
    .option('--wait <SECONDS>', 'how long to wait for network and service before the profile is known (default 120)', wholeNumber('--wait', 0, 86_400, 'whole seconds'));
}

function agent(options: AgentFlags, command: Command) {
  return {
    server: options.server,
    ca: options.ca,
    tcti: options.tcti,
    executor: executorOf(command, options),
    state: options.state,
    identity: options.identity,
    preflightWaitSeconds: options.wait,
  };
}

/**
 * The Wi-Fi a headless deploy joins when no network is up: --wifi-ssid, and its key from
 * --wifi-key-file (a file or standard input, so it never shows in the process list).
 */
async function wifiOf(command: Command, values: { wifiSsid?: string; wifiKeyFile?: string }, io: CliIo): Promise<{ ssid: string; psk: string | null } | undefined> {
  if (values.wifiSsid === undefined) {
    if (values.wifiKeyFile !== undefined) throw optionError(command, '--wifi-key-file needs --wifi-ssid: the key is for a network');
    return undefined;
  }
  const ssidWrong = ssidProblem(values.wifiSsid);
  if (ssidWrong) throw optionError(command, `--wifi-ssid: ${ssidWrong}`);
  if (values.wifiKeyFile === undefined) return { ssid: values.wifiSsid, psk: null };
  const file = values.wifiKeyFile;
  const text = (await readInputOrStdin(file, 'the Wi-Fi key (--wifi-key-file)', io.stdin)).toString('utf8');
  const lines = text.split(/\r?\n/);
  const rest = lines.slice(1).filter((line) => line.trim() !== '');
  const psk = lines[0] ?? '';
  const wrong = rest.length ? 'it has more than one line' : passphraseProblem(psk);
  // The message says what is wrong, never what the key is.
  if (wrong) throw new InputFileError('INPUT_FILE_INVALID', `${file === '-' ? 'standard input' : file} does not hold a Wi-Fi key (--wifi-key-file): ${wrong}`);
  return { ssid: values.wifiSsid, psk };
}

function ekServiceFormat(value: string): EkServiceFormat {
  if (!(EK_SERVICE_FORMATS as readonly string[]).includes(value)) throw new UsageError(`--ek-service-format must be ${EK_SERVICE_FORMATS.join(' or ')}, not "${value}"`);
  return value as EkServiceFormat;
}

/** The EK certificate services `tpm info --fetch-ek-certificate` and `tpm check` ask: the defaults, or the --ek-service mirror for the TPM's manufacturer. */
function ekServicesOf(options: { ekService?: string; ekServiceFormat?: EkServiceFormat; ekServiceCa?: string }): (manufacturer: string) => EkCertificateService[] {
  if (options.ekService === undefined) return () => [];
  const ca = options.ekServiceCa === undefined ? undefined : (readInputFile(options.ekServiceCa, 'the EK certificate service CA (--ek-service-ca)')).toString('utf8');
  return (manufacturer) => {
    const format = options.ekServiceFormat ?? ekCertificateServiceFor(manufacturer, [])?.format ?? 'intel';
    const parsed = EkCertificateServiceSchema.safeParse({ manufacturer: manufacturer.trim() || 'NONE', format, url: options.ekService, ...(ca === undefined ? {} : { ca }) });
    if (!parsed.success) throw new UsageError(`--ek-service: ${describeIssues(parsed.error, 'the service')}`);
    return [parsed.data];
  };
}

/** The identity source; a file is read (and refused) before anything touches the TPM. */
async function identitySource(file: string | undefined): Promise<IdentitySource> {
  if (file === undefined) return new SystemIdentitySource();
  const source = new FileIdentitySource(file);
  const platform = await source.read();
  return { description: source.description, read: () => Promise.resolve(platform) };
}

export function agentProgram(io: CliIo): Command {
  const program = createProgram({ ...SPEC, version: agentVersion() });

  const tpmCommand = program.command('tpm').description("this device's TPM");
  tpmCommand
    .command('info')
    .description('manufacturer, firmware, PCR banks, EK certificates (PEM) and EK public digests')
    .option('--tcti <STR>', 'the TPM connection (tctildr syntax); default: the TSS search', tcti)
    .option('--fetch-ek-certificate', "for a TPM without an EK certificate in NV: ask its vendor's EK certificate service (the certificate to register with the device)")
    .option('--ek-service <URL>', "the EK certificate service to ask instead of the manufacturer's default (a mirror)")
    .option('--ek-service-format <FORMAT>', 'how --ek-service is asked: intel or amd (default: as the manufacturer\'s own service, else intel)', ekServiceFormat)
    .option('--ek-service-ca <FILE>', "CA certificates (PEM) of --ek-service, when it has a private CA")
    .action(
      act(async (options: { tcti?: string; fetchEkCertificate?: boolean; ekService?: string; ekServiceFormat?: EkServiceFormat; ekServiceCa?: string }, command: Command) => {
        if (!options.fetchEkCertificate && (options.ekService ?? options.ekServiceFormat ?? options.ekServiceCa) !== undefined) throw optionError(command, '--ek-service, --ek-service-format and --ek-service-ca go with --fetch-ek-certificate');
        const fetch = options.fetchEkCertificate ? { vendor: new VendorEkCertificates({ cacheFile: null }), services: ekServicesOf(options) } : undefined;
        await tpmInfo({ ...(options.tcti === undefined ? {} : { tcti: options.tcti }), json: json(command), ...(fetch ? { fetch } : {}) }, io);
      }),
    );

  tpmCommand
    .command('check')
    .description('will this device pass "Securing your hardware"? TPM 2.0 answering, no passwords or lockout, an EK certificate (NV or the vendor\'s service); with --server and --ca also the service\'s verdict and the clock. Exit status 0 only when every check passes')
    .option('--tcti <STR>', 'the TPM connection (tctildr syntax); default: the TSS search', tcti)
    .option('--server <URL>', 'the deployment service to ask (https://…)')
    .option('--ca <FILE>', "the service's CA certificate (PEM)")
    .option('--identity <FILE>', 'the hardware identity from a JSON file (VMs, labs)')
    .option('--ek-service <URL>', "the EK certificate service to ask instead of the manufacturer's default (a mirror)")
    .option('--ek-service-format <FORMAT>', 'how --ek-service is asked: intel or amd', ekServiceFormat)
    .option('--ek-service-ca <FILE>', 'CA certificates (PEM) of --ek-service, when it has a private CA')
    .action(
      act(async (options: { tcti?: string; server?: string; ca?: string; identity?: string; ekService?: string; ekServiceFormat?: EkServiceFormat; ekServiceCa?: string }, command: Command) => {
        if ((options.server === undefined) !== (options.ca === undefined)) throw optionError(command, '--server and --ca go together');
        const service = options.server !== undefined && options.ca !== undefined ? serviceOf({ server: options.server, ca: options.ca }) : undefined;
        return tpmCheck(
          {
            ...(options.tcti === undefined ? {} : { tcti: options.tcti }),
            ...(service ? { service } : {}),
            vendor: new VendorEkCertificates({ cacheFile: null }),
            services: ekServicesOf(options),
            identity: options.identity ? new FileIdentitySource(options.identity) : new SystemIdentitySource(),
            json: json(command),
          },
          io,
        );
      }),
    );

  program
    .command('hash')
    .description('the hardware hash; --csv prints the row the service imports, --append adds it to a collection file (one header per file, a serial already there is refused)')
    .option('--csv', 'the CSV row the service imports, with its header')
    .option('--append <FILE>', "add this device's row to a collection file")
    .option('--group-tag <TAG>', 'the group tag the row carries', (value) => {
      const parsed = GroupTagSchema.safeParse(value);
      if (!parsed.success) throw new UsageError(`--group-tag ${parsed.error.issues[0]?.message ?? 'is not valid'}`);
      return parsed.data;
    })
    .option('--identity <FILE>', 'the hardware identity from a JSON file (VMs, labs)')
    .option('--tcti <STR>', 'the TPM connection (tctildr syntax); default: the TSS search', tcti)
    .action(
      act(async (options: { csv?: boolean; append?: string; groupTag?: string; identity?: string; tcti?: string }, command: Command) => {
        if (options.csv && options.append) throw optionError(command, '--csv prints the row; --append writes it to a file: choose one');
        const source = await identitySource(options.identity);
        const tpm = await Tpm.open(options.tcti === undefined ? {} : { tcti: options.tcti });
        try {
          const device = await readDeviceIdentity(source, tpm);
          printHash(device, { csv: options.csv ?? false, json: json(command), append: options.append, groupTag: options.groupTag }, io);
        } finally {
          await tpm.close();
        }
      }),
    );

  agentOptions(program.command('deploy').description('self-deploy this device: network, profile, attestation, join, management, device setup, end state; the ESP in the terminal; resumes after a restart'))
    .option('--continue-on-error', 'pass over a failed required item when the profile allows continuing')
    .option('--reset', 'start over: undo setup and forget the journal, keys and downloads (when the profile allows it)')
    .option('--wifi-ssid <SSID>', 'when no network is up, join this Wi-Fi network first (NetworkManager); open unless --wifi-key-file')
    .option('--wifi-key-file <FILE>', 'the WPA passphrase of --wifi-ssid, on the first line of FILE ("-": standard input); never on the command line')
    .action(
      act(async (options: AgentFlags & { continueOnError?: boolean; reset?: boolean; wifiSsid?: string; wifiKeyFile?: string }, command: Command) => {
        const wifi = await wifiOf(command, options, io);
        return deployCommand(
          { ...agent(options, command), ...(wifi ? { wifi } : {}), json: json(command), continueOnError: options.continueOnError ?? false, reset: options.reset ?? false },
          io,
          { write: (text) => io.stdout(text), isTTY: io.isTTY ?? false },
        );
      }),
    );

  agentOptions(program.command('checkin').description("check in with the service (a joined device; the selfdeploy-checkin timer runs it): the contact is recorded and logs someone asked for are uploaded"))
    .action(act((options: AgentFlags, command: Command) => checkInCommand({ ...agent(options, command), json: json(command) }, io)));

  agentOptions(program.command('ui').description('the same self-deploy with the graphical ESP: served on 127.0.0.1 (prints the URL), until Ctrl-C'))
    .option('--port <N>', 'the port of the ESP on 127.0.0.1 (default: any free one)', wholeNumber('--port', 0, 65_535, 'a TCP port'))
    .option('--open', 'open the ESP in a Chromium app window (where a display exists)')
    .action(act((options: AgentFlags & { port?: number; open?: boolean }, command: Command) => uiCommand({ ...agent(options, command), port: options.port, open: options.open ?? false }, io)));

  program
    .command('kiosk')
    .description("the kiosk browser after setup, in Chromium: the home URL full screen, navigation held to the profile's allowed and blocked URLs, the toolbar, idle restart, signage (JSON log on stdout)")
    .option('--config <FILE>', 'the kiosk settings (default /etc/selfdeploy/kiosk.json)')
    .option('--headless', 'no window (tests, machines without a display)')
    .option('--browser-arg <SWITCH>', 'one more Chromium switch (repeatable; the lab maps its demo site to loopback)', repeated)
    .action(
      act((options: { config?: string; headless?: boolean; browserArg?: string[] }, command: Command) => {
        const browserArgs = options.browserArg ?? [];
        const bad = browserArgs.find((arg) => !/^--[a-z0-9-]+(=.*)?$/.test(arg) || /^--(remote-debugging|user-data-dir|load-extension)/.test(arg));
        if (bad !== undefined) throw optionError(command, `--browser-arg takes a Chromium switch (--name or --name=value), not "${bad}"; the debugging, profile and extension switches are the kiosk's own`);
        return kioskCommand({ config: options.config, headless: options.headless ?? false, browserArgs }, io);
      }),
    );

  program
    .command('reset')
    .description("undo every change device setup made, newest first, and clear the agent's state: the next setup starts at the first page")
    .option('--helper <SOCKET>', `undo through selfdeploy-helper on this socket (default when not root: ${DEFAULT_SOCKET})`)
    .option('--root <DIR>', 'undo under DIR in this process')
    .option('--state <DIR>', "the agent's state", DEFAULT_STATE)
    .action(act((options: { helper?: string; root?: string; state: string }, command: Command) => resetCommand({ state: options.state, executor: executorOf(command, options), json: json(command) }, io)));

  return program;
}

export function runCli(argv: string[], io: CliIo): Promise<number> {
  return runProgram(agentProgram(io), argv, io, SPEC);
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
    stdin: () => process.stdin,
  });
  // A TPM that stopped answering leaves a detached worker behind: do not wait for it.
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

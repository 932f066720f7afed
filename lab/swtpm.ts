// The swtpm lab: a directory with its own swtpm local CA (never the system one under /var/lib),
// TPMs provisioned with EK certificates from it, started on free loopback ports. Used by the
// integration tests, the benchmarks and `npm run lab`. Every swtpm it starts is stopped when the
// lab closes, when the process exits, or — after a crash — by the next lab that finds it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class LabError extends Error {
  override name = 'LabError';
}

export interface LabOptions {
  /** Lab directory; a fresh temporary one when absent. An existing lab is reopened. */
  dir?: string;
  /** Keep the directory when the lab closes (default: keep a given dir, remove a temporary one). */
  keep?: boolean;
  /** Log progress lines (provisioning, starting) here. */
  log?: (line: string) => void;
}

interface LabState {
  ownerPid: number;
  /** A temporary lab is removed when closed, or by the next lab once its owner is gone. */
  temporary: boolean;
  running: { name: string; pid: number }[];
}

const TEMP_PREFIX = 'selfdeploy-lab-';
const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Labs whose processes must be stopped at exit, even when a test fails before closing them. */
const openLabs = new Set<SwtpmLab>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const lab of openLabs) lab.closeSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      // Another listener owns this signal (a CLI closing its lab gracefully, a test runner):
      // leave it to them; the exit hook still runs if they exit.
      if (process.listenerCount(signal) > 1) return;
      for (const lab of openLabs) lab.closeSync();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a swtpm we started earlier, if (and only if) it still is that swtpm of that lab. */
function killStaleSwtpm(pid: number, stateDir: string): void {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmdline[0]?.endsWith('swtpm') && cmdline.some((arg) => arg.includes(stateDir))) process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** Stops what a crashed run left behind in `dir` (its owner no longer lives). */
function reapLab(dir: string): void {
  const statePath = join(dir, 'lab.json');
  if (!existsSync(statePath)) return;
  let state: LabState;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as LabState;
  } catch {
    return;
  }
  if (state.ownerPid === process.pid || isAlive(state.ownerPid)) return;
  for (const { name, pid } of state.running ?? []) killStaleSwtpm(pid, join(dir, 'tpms', name));
  if (state.temporary) rmSync(dir, { recursive: true, force: true });
  else writeFileSync(statePath, JSON.stringify({ ...state, ownerPid: process.pid, running: [] }));
}

function reapTemporaryLabs(): void {
  const base = tmpdir();
  for (const entry of readdirSync(base)) {
    if (entry.startsWith(TEMP_PREFIX)) reapLab(join(base, entry));
  }
}

async function freePortPair(): Promise<number> {
  const listen = (port: number) =>
    new Promise<Server>((resolvePort, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolvePort(server));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listen(0);
    const port = (first.address() as AddressInfo).port;
    try {
      if (port >= 65535) continue;
      const second = await listen(port + 1);
      await new Promise((r) => second.close(r));
      return port;
    } catch {
      // port + 1 taken: try another pair
    } finally {
      await new Promise((r) => first.close(r));
    }
  }
  throw new LabError('no free pair of loopback ports found');
}

function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolveReady, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new LabError(`swtpm exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`));
        return;
      }
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolveReady();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new LabError(`swtpm did not listen on port ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export class LabTpm {
  private child: ChildProcess | undefined;
  private serverPort: number | undefined;

  constructor(
    private readonly lab: SwtpmLab,
    readonly name: string,
    readonly stateDir: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get port(): number {
    if (this.serverPort === undefined) throw new LabError(`TPM ${this.name} is not running`);
    return this.serverPort;
  }

  /** The tctildr configuration for this TPM (the swtpm TCTI assumes control port = port + 1). */
  get tcti(): string {
    return `swtpm:host=127.0.0.1,port=${this.port}`;
  }

  /** The EK certificates swtpm_setup wrote (DER), by kind (a TPM provisioned with RSA 3072 has ek-rsa3072.crt instead of RSA 2048's). */
  get ekCertificatePaths(): { rsa2048: string; eccP384: string } {
    return { rsa2048: join(this.stateDir, 'ek-rsa2048.crt'), eccP384: join(this.stateDir, 'ek-secp384r1.crt') };
  }

  /**
   * Makes this TPM one that keeps no EK certificate in NV, as most firmware TPMs (Intel PTT, AMD
   * fTPM) are: the certificate indices are undefined with the platform's authority (tpm2_nvundefine),
   * while the certificates stay on disk (ekCertificatePaths) for a vendor service to hand out.
   */
  async removeEkCertificatesFromNv(): Promise<void> {
    for (const index of ['0x01c00002', '0x01c00016']) {
      await run('tpm2_nvundefine', ['-C', 'p', index], { timeout: 30_000, env: { ...process.env, TPM2TOOLS_TCTI: this.tcti } });
    }
  }

  /**
   * Writes `content` into a new NV index as TPM vendors provision certificates (platform-created,
   * readable with its empty auth and the owner's, not counted against dictionary attacks): an EK
   * certificate (0x01C00002 …) or a certificate of its chain (0x01C00100–0x01C001FF).
   */
  async writeNvCertificate(index: number, content: Uint8Array): Promise<void> {
    const env = { ...process.env, TPM2TOOLS_TCTI: this.tcti };
    const hex = `0x${index.toString(16).padStart(8, '0')}`;
    const file = join(this.stateDir, `nv-${hex}.der`);
    writeFileSync(file, content);
    await run('tpm2_nvdefine', ['-C', 'p', '-s', String(content.length), '-a', 'ppwrite|ppread|ownerread|authread|no_da|platformcreate', hex], { timeout: 30_000, env });
    await run('tpm2_nvwrite', ['-C', 'p', '-i', file, hex], { timeout: 30_000, env });
  }

  async start(): Promise<void> {
    if (this.child) return;
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePortPair();
      const child = spawn(
        'swtpm',
        [
          'socket',
          '--tpm2',
          '--tpmstate',
          `dir=${this.stateDir}`,
          '--server',
          `type=tcp,port=${port},bindaddr=127.0.0.1`,
          '--ctrl',
          `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
          '--flags',
          'not-need-init,startup-clear',
          '--log',
          `file=${join(this.stateDir, 'swtpm.log')},level=1`,
        ],
        { stdio: 'ignore' },
      );
      child.once('error', () => undefined);
      try {
        await waitForPort(port + 1, 5_000, child);
        await waitForPort(port, 5_000, child);
        this.child = child;
        this.serverPort = port;
        child.once('exit', () => {
          if (this.child === child) {
            this.child = undefined;
            this.serverPort = undefined;
            this.lab.saveState();
          }
        });
        this.lab.saveState();
        return;
      } catch (error) {
        lastError = error;
        child.kill('SIGKILL');
      }
    }
    throw new LabError(`could not start swtpm for ${this.name}: ${(lastError as Error).message}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM'); // swtpm saves its state and exits on SIGTERM
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  stopSync(): void {
    this.child?.kill('SIGKILL');
  }
}

export class SwtpmLab {
  readonly tpms: LabTpm[] = [];
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly keep: boolean,
    private readonly log: (line: string) => void,
  ) {}

  static async create(options: LabOptions = {}): Promise<SwtpmLab> {
    installExitHooks();
    reapTemporaryLabs();
    const dir = options.dir ? resolve(options.dir) : await mkdtemp(join(tmpdir(), TEMP_PREFIX));
    reapLab(dir);
    mkdirSync(join(dir, 'ca'), { recursive: true });
    mkdirSync(join(dir, 'tpms'), { recursive: true });
    const lab = new SwtpmLab(dir, options.keep ?? options.dir !== undefined, options.log ?? (() => undefined));
    lab.writeCaConfig();
    for (const name of readdirSync(join(dir, 'tpms')).sort()) {
      const stateDir = join(dir, 'tpms', name);
      if (existsSync(join(stateDir, 'tpm2-00.permall'))) lab.tpms.push(new LabTpm(lab, name, stateDir));
    }
    openLabs.add(lab);
    lab.saveState();
    return lab;
  }

  /** The root of the lab's swtpm local CA: the trust anchor for its EK certificates. */
  get caRootCertPath(): string {
    return join(this.dir, 'ca', 'swtpm-localca-rootca-cert.pem');
  }

  /** The intermediate that signs every EK certificate of this lab. */
  get caIntermediateCertPath(): string {
    return join(this.dir, 'ca', 'issuercert.pem');
  }

  private writeCaConfig(): void {
    const ca = join(this.dir, 'ca');
    // swtpm_localca reads key = value lines; these keep its CA inside the lab.
    writeFileSync(
      join(this.dir, 'swtpm-localca.conf'),
      [
        `statedir = ${ca}`,
        `signingkey = ${join(ca, 'signkey.pem')}`,
        `issuercert = ${join(ca, 'issuercert.pem')}`,
        `certserial = ${join(ca, 'certserial')}`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(this.dir, 'swtpm-localca.options'),
      ['--platform-manufacturer selfdeploy-lab', '--platform-version 2.1', '--platform-model swtpm', ''].join('\n'),
    );
    writeFileSync(
      join(this.dir, 'swtpm_setup.conf'),
      [
        'create_certs_tool = /usr/bin/swtpm_localca',
        `create_certs_tool_config = ${join(this.dir, 'swtpm-localca.conf')}`,
        `create_certs_tool_options = ${join(this.dir, 'swtpm-localca.options')}`,
        '',
      ].join('\n'),
    );
  }

  /**
   * Provisions a new TPM: EKs (RSA 2048 — or RSA 3072, high range, with `rsaKeySize` 3072 — and
   * ECC P-384) with certificates from the lab CA.
   */
  async provision(name = `tpm${this.tpms.length}`, options: { rsaKeySize?: 2048 | 3072 } = {}): Promise<LabTpm> {
    if (!NAME_PATTERN.test(name)) throw new LabError(`invalid TPM name "${name}"`);
    if (this.tpms.some((t) => t.name === name)) throw new LabError(`TPM ${name} already exists in ${this.dir}`);
    const stateDir = join(this.dir, 'tpms', name);
    mkdirSync(stateDir, { recursive: true });
    this.log(`provisioning ${name} (EK certificates from the lab CA)`);
    try {
      await run(
        'swtpm_setup',
        [
          '--tpm2',
          '--tpmstate',
          stateDir,
          '--create-ek-cert',
          '--create-platform-cert',
          '--pcr-banks',
          'sha1,sha256',
          '--write-ek-cert-files',
          stateDir,
          ...(options.rsaKeySize ? ['--rsa-keysize', String(options.rsaKeySize)] : []),
          '--config',
          join(this.dir, 'swtpm_setup.conf'),
          '--not-overwrite',
        ],
        { timeout: 60_000 },
      );
    } catch (error) {
      rmSync(stateDir, { recursive: true, force: true });
      const detail = (error as { stderr?: string }).stderr?.trim() ?? (error as Error).message;
      throw new LabError(`swtpm_setup failed for ${name}: ${detail}`);
    }
    const tpm = new LabTpm(this, name, stateDir);
    this.tpms.push(tpm);
    return tpm;
  }

  /** Provisions `count` TPMs, two at a time (swtpm_setup is CPU-bound; the CA has a lock). */
  async provisionMany(count: number): Promise<LabTpm[]> {
    const names = Array.from({ length: count }, (_, i) => `tpm${this.tpms.length + i}`);
    const result: LabTpm[] = [];
    for (let i = 0; i < names.length; i += 2) {
      result.push(...(await Promise.all(names.slice(i, i + 2).map((n) => this.provision(n)))));
    }
    return result;
  }

  /** Provisions (the first time) and starts one TPM. */
  async startTpm(name?: string): Promise<LabTpm> {
    const tpm = (name ? this.tpms.find((t) => t.name === name) : this.tpms[0]) ?? (await this.provision(name));
    await tpm.start();
    return tpm;
  }

  /** @internal Records running swtpm processes so a later lab can stop them after a crash. */
  saveState(): void {
    if (this.closed) return;
    const state: LabState = {
      ownerPid: process.pid,
      temporary: !this.keep,
      running: this.tpms.filter((t) => t.pid !== undefined).map((t) => ({ name: t.name, pid: t.pid! })),
    };
    writeFileSync(join(this.dir, 'lab.json'), JSON.stringify(state));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all(this.tpms.map((t) => t.stop()));
    this.finish();
  }

  /** For exit handlers: no waiting possible. */
  closeSync(): void {
    if (this.closed) return;
    for (const tpm of this.tpms) tpm.stopSync();
    this.finish();
  }

  private finish(): void {
    this.closed = true;
    openLabs.delete(this);
    const state: LabState = { ownerPid: process.pid, temporary: false, running: [] };
    if (this.keep) writeFileSync(join(this.dir, 'lab.json'), JSON.stringify(state));
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

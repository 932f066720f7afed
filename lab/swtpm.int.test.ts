// The swtpm lab: its own CA, TPMs with distinct EKs, loopback ports, and no swtpm left behind —
// after close, after an uncaught error, after the owning process was killed, and from `up`.
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { SwtpmLab } from './swtpm.js';

const exec = promisify(execFile);
const distLab = join(import.meta.dirname, '..', 'dist', 'lab');
const scratch: string[] = [];

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-labtest-'));
  scratch.push(dir);
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Local addresses of listening TCP sockets on `port`, from /proc/net/tcp. */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')
    .map((f) => f[1]!.split(':')[0]!);
}

function runNode(script: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout }));
  });
}

describe('provisioning', () => {
  it('gives each TPM its own EK, certified by the lab CA kept inside the lab directory', async () => {
    const lab = await SwtpmLab.create();
    try {
      const [a, b] = await lab.provisionMany(2);
      expect(lab.caRootCertPath.startsWith(lab.dir)).toBe(true);
      expect(lab.caIntermediateCertPath.startsWith(lab.dir)).toBe(true);
      const root = new X509Certificate(readFileSync(lab.caRootCertPath));
      const issuer = new X509Certificate(readFileSync(lab.caIntermediateCertPath));
      expect(issuer.checkIssued(root) && issuer.verify(root.publicKey)).toBe(true);
      const keys = [];
      for (const tpm of [a!, b!]) {
        for (const path of Object.values(tpm.ekCertificatePaths)) {
          const cert = new X509Certificate(readFileSync(path));
          expect(cert.checkIssued(issuer)).toBe(true);
          expect(cert.verify(issuer.publicKey)).toBe(true);
          keys.push(cert.publicKey.export({ format: 'der', type: 'spki' }).toString('hex'));
        }
      }
      expect(new Set(keys).size).toBe(4); // two TPMs x (RSA, ECC): no shared EK
      await expect(lab.provision('tpm0')).rejects.toThrow(/already exists/);
      await expect(lab.provision('../escape')).rejects.toThrow(/invalid TPM name/);
    } finally {
      await lab.close();
    }
  });
});

describe('running TPMs', () => {
  it('starts TPMs on distinct loopback-only ports with their TCTI strings, and stops and restarts them', async () => {
    const lab = await SwtpmLab.create();
    try {
      await lab.provisionMany(2);
      for (const tpm of lab.tpms) await tpm.start();
      const [a, b] = lab.tpms;
      expect(a!.port).not.toBe(b!.port);
      expect(a!.tcti).toBe(`swtpm:host=127.0.0.1,port=${a!.port}`);
      for (const port of [a!.port, a!.port + 1]) expect(listeningAddresses(port)).toEqual(['0100007F']);
      const port = a!.port;
      await a!.stop();
      expect(a!.running).toBe(false);
      expect(await accepts(port)).toBe(false);
      await a!.restart();
      expect(await accepts(a!.port)).toBe(true);
    } finally {
      await lab.close();
    }
  });

  it('stops its swtpm processes and removes a temporary lab on close', async () => {
    const lab = await SwtpmLab.create();
    const tpm = await lab.startTpm();
    const pid = tpm.pid!;
    expect(alive(pid)).toBe(true);
    await lab.close();
    await waitUntil(() => !alive(pid));
    expect(existsSync(lab.dir)).toBe(false);
  });
});

describe('clean-up when things go wrong', () => {
  it('stops swtpm when the owning process dies of an uncaught error', async () => {
    const { code, stdout } = await runNode(`
      import { SwtpmLab } from ${JSON.stringify(join(distLab, 'swtpm.js'))};
      const lab = await SwtpmLab.create();
      const tpm = await lab.startTpm();
      console.log(JSON.stringify({ pid: tpm.pid, dir: lab.dir }));
      throw new Error('a failing test');
    `);
    expect(code).not.toBe(0);
    const { pid, dir } = JSON.parse(stdout) as { pid: number; dir: string };
    await waitUntil(() => !alive(pid));
    expect(existsSync(dir)).toBe(false);
  });

  it('lets the next lab stop what a killed run left behind, and reuse its TPM', async () => {
    const dir = scratchDir();
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { SwtpmLab } from ${JSON.stringify(join(distLab, 'swtpm.js'))};
         const lab = await SwtpmLab.create({ dir: ${JSON.stringify(dir)} });
         const tpm = await lab.startTpm();
         console.log(tpm.pid);
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const orphan = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString()))));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(alive(orphan)).toBe(true); // SIGKILL runs no exit hook: swtpm is orphaned

    const lab = await SwtpmLab.create({ dir });
    try {
      await waitUntil(() => !alive(orphan));
      const tpm = await lab.startTpm();
      expect(tpm.name).toBe('tpm0');
      expect(await accepts(tpm.port)).toBe(true);
    } finally {
      await lab.close();
    }
    expect(existsSync(dir)).toBe(true); // a lab in a given directory is kept
  });
});

describe('selfdeploy-lab tpms', () => {
  const cli = join(distLab, 'cli.js');

  it('provisions and starts a TPM, prints `selfdeploy tpm info` for it, and leaves nothing running', async () => {
    const dir = scratchDir();
    const first = await exec(process.execPath, [cli, 'tpms', '--dir', dir, '--once'], { timeout: 60_000 });
    expect(first.stdout).toMatch(/tpm0: --tcti swtpm:host=127\.0\.0\.1,port=\d+/);
    expect(first.stdout).toContain('TPM            IBM');
    expect(first.stdout).toContain('-----BEGIN CERTIFICATE-----');
    const digest = /EK public digest\s+([0-9a-f]{64})/.exec(first.stdout)?.[1];
    expect(digest).toBeDefined();
    const state = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as { running: unknown[] };
    expect(state.running).toEqual([]);
    // A second run reuses the provisioned TPM: same EK, same device identity.
    const second = await exec(process.execPath, [cli, 'tpms', '--dir', dir, '--once'], { timeout: 60_000 });
    expect(second.stdout).not.toContain('provisioning');
    expect(second.stdout).toContain(digest);
  });

  it('runs until Ctrl-C, then stops its TPMs and exits cleanly', async () => {
    const dir = scratchDir();
    const child = spawn(process.execPath, [cli, 'tpms', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    await waitUntil(() => output.includes('Ctrl-C'), 30_000);
    const pid = (JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as { running: { pid: number }[] }).running[0]!.pid;
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    expect(output).toContain('lab: stopping');
    expect(alive(pid)).toBe(false);
  });

  it('refuses bad arguments with usage and exit status 2', async () => {
    await expect(exec(process.execPath, [cli, 'tpms', '--tpms', '0'])).rejects.toMatchObject({ code: 2 });
    await expect(exec(process.execPath, [cli, 'explode'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('Usage') });
    await expect(exec(process.execPath, [cli, 'info', '--once'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("unknown option '--once'") });
    const json = await exec(process.execPath, [cli, 'tpms', '--tpms', '99', '--json']).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(json).toMatchObject({ code: 2, stderr: '' });
    expect(JSON.parse((json as { stdout: string }).stdout)).toMatchObject({ error: { code: 'USAGE', message: expect.stringContaining('--tpms') } });
    expect((await exec(process.execPath, [cli, '--version'])).stdout).toMatch(/^selfdeploy-lab \d+\.\d+\.\d+\n$/);
    expect((await exec(process.execPath, [cli, 'bench', '--help'])).stdout).toMatch(/^Usage: selfdeploy-lab bench \[--devices N\]/);
  });

  it('says there is no lab where there is none, instead of making one', async () => {
    const dir = join(scratchDir(), 'not-a-lab');
    const info = await exec(process.execPath, [cli, '--dir', dir, 'info']).catch((error: { code: number; stderr: string }) => error);
    expect(info).toMatchObject({ code: 1, stderr: expect.stringContaining(`there is no lab in ${dir}: the directory does not exist`) });
    expect(existsSync(dir)).toBe(false);
  });
});

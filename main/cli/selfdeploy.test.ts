// The selfdeploy command line: usage, version, and how it reports what it refuses.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { runCli } from './selfdeploy.js';

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { status, stdout, stderr };
}

/** The same, with `input` on standard input. */
async function cliWithStdin(input: string, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const stdin = () => Readable.from([Buffer.from(input)]);
  const status = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin });
  return { status, stdout, stderr };
}

describe('selfdeploy', () => {
  it('prints its usage with --help and exits 0', async () => {
    const { status, stdout } = await cli('--help');
    expect(status).toBe(0);
    expect(stdout).toContain('tpm info [--tcti STR] [--fetch-ek-certificate] [--ek-service URL] [--ek-service-format FORMAT]\n      [--ek-service-ca FILE] [--json]');
  });

  it('prints the package version with --version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await cli('--version')).stdout).toBe(`selfdeploy ${version}\n`);
  });

  it('refuses an unknown command, an unknown option and a missing command with USAGE and status 2: one line, then the usage', async () => {
    for (const [argv, why, usage] of [
      [['tpm', 'explode'], "unknown command 'explode'", 'Usage: selfdeploy tpm COMMAND'],
      [['tpm', 'info', '--frobnicate'], "unknown option '--frobnicate'", 'Usage: see selfdeploy tpm info --help'],
      [['tpm', 'info', '--tcit', 'x'], "unknown option '--tcit' (did you mean --tcti?)", 'Usage: see selfdeploy tpm info --help'],
      [['tpm', 'info', '--fetch-ek-certificate', '--ek-service-format', 'ibm'], '--ek-service-format must be intel or amd, not "ibm"', 'Usage: see selfdeploy'],
      [['dploy'], "unknown command 'dploy' (did you mean deploy?)", 'Usage: selfdeploy COMMAND'],
      [[], '"selfdeploy" needs a command', 'Usage: selfdeploy COMMAND'],
    ] as const) {
      const { status, stderr } = await cli(...argv);
      expect(status, argv.join(' ')).toBe(2);
      const lines = stderr.trimEnd().split('\n');
      expect(lines, stderr).toHaveLength(2);
      expect(lines[0]).toContain(`selfdeploy: USAGE: ${why}`);
      expect(lines[1]).toContain(usage);
    }
  });

  it('prints each command its own usage with --help, and takes no option another command has', async () => {
    const deploy = await cli('deploy', '--help');
    expect(deploy.status).toBe(0);
    expect(deploy.stdout).toMatch(/^Usage: selfdeploy deploy --server URL --ca FILE/);
    expect(deploy.stdout).toContain('--continue-on-error');
    expect(deploy.stdout).not.toContain('--browser-arg');
    const kiosk = await cli('kiosk', '--help');
    expect(kiosk.stdout).toMatch(/^Usage: selfdeploy kiosk/);
    expect(kiosk.stdout).not.toContain('--continue-on-error');
    const refused = await cli('reset', '--continue-on-error');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("unknown option '--continue-on-error'");
  });

  it('takes the Wi-Fi key of a headless deploy from a file or standard input, checks it without ever printing it, and refuses a key without a network', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-wifi-'));
    try {
      const base = ['deploy', '--server', 'https://deploy.example:8443', '--ca', join(dir, 'no-ca.pem'), '--root', join(dir, 'root'), '--state', join(dir, 'state')];
      const keyFile = join(dir, 'key');
      // A good key (one line, a trailing newline is fine): the command goes on, to the CA it cannot read.
      writeFileSync(keyFile, 'bench-passphrase-1\n', { mode: 0o600 });
      const good = await cli(...base, '--wifi-ssid', 'Staging', '--wifi-key-file', keyFile);
      expect(good.stderr).toContain('INPUT_FILE_UNREADABLE');
      expect(good.stderr).toContain('no-ca.pem');
      const fromStdin = await cliWithStdin('bench-passphrase-1\n', ...base, '--wifi-ssid', 'Staging', '--wifi-key-file', '-');
      expect(fromStdin.stderr).toContain('no-ca.pem');
      // Bad keys: INPUT_FILE_INVALID, saying why — and never echoing the key.
      for (const [content, why] of [
        ['short\n', 'a Wi-Fi key has 8 to 63 characters, not 5'],
        ['first-line-key\nsecond-line-key\n', 'it has more than one line'],
        [`${'k'.repeat(64)}\n`, 'not 64'],
        ['tab\there-passphrase\n', 'printable ASCII'],
      ] as const) {
        writeFileSync(keyFile, content);
        const bad = await cli(...base, '--wifi-ssid', 'Staging', '--wifi-key-file', keyFile);
        expect(bad.status, content).toBe(1);
        expect(bad.stderr).toContain(`INPUT_FILE_INVALID`);
        expect(bad.stderr).toContain(why);
        expect(bad.stderr).not.toContain(content.trim().split('\n')[0]);
      }
      const missing = await cli(...base, '--wifi-ssid', 'Staging', '--wifi-key-file', join(dir, 'absent'));
      expect(missing).toMatchObject({ status: 1, stderr: expect.stringContaining('INPUT_FILE_UNREADABLE') });
      const noSsid = await cli(...base, '--wifi-key-file', keyFile);
      expect(noSsid).toMatchObject({ status: 2, stderr: expect.stringContaining('--wifi-key-file needs --wifi-ssid') });
      const longSsid = await cli(...base, '--wifi-ssid', 'x'.repeat(33));
      expect(longSsid).toMatchObject({ status: 2, stderr: expect.stringContaining('--wifi-ssid: an SSID has 1 to 32 characters') });
      // There is no option that takes the key itself.
      const inline = await cli(...base, '--wifi-ssid', 'Staging', '--wifi-key', 'bench-passphrase-1');
      expect(inline).toMatchObject({ status: 2, stderr: expect.stringContaining("unknown option '--wifi-key'") });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a kiosk whose settings are missing, damaged or not a browser, and switches that would take the kiosk apart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-kiosk-cli-'));
    const app = join(dir, 'app.json');
    writeFileSync(app, JSON.stringify({ type: 'kiosk', mode: 'app', appCommand: ['/usr/bin/lobby'] }));
    for (const [argv, status, text] of [
      [['kiosk', '--config', join(dir, 'missing.json'), '--headless'], 1, `KIOSK_CONFIG_INVALID: The kiosk settings cannot be used`],
      [['kiosk', '--config', app, '--headless'], 1, 'the kiosk is in "app" mode'],
      [['kiosk', '--config', app, '--browser-arg=--remote-debugging-port=9222'], 2, 'the debugging, profile and extension switches are the kiosk\'s own'],
      [['kiosk', '--config', app, '--browser-arg', 'https://evil.example/'], 2, '--browser-arg takes a Chromium switch'],
    ] as const) {
      const result = await cli(...argv);
      expect(result.status, argv.join(' ')).toBe(status);
      expect(result.stderr).toContain(text);
    }
    expect((await cli('kiosk', '--config', join(dir, 'missing.json'))).stderr).toContain('ENOENT');
    rmSync(dir, { recursive: true });
  });

  it('refuses ui and deploy without a service, ui with a bad port, and --helper with --root, before starting anything', async () => {
    for (const [argv, why] of [
      [['ui', '--ca', 'ca.pem'], 'ui needs --server URL'],
      [['ui', '--server', 'https://x.example', '--ca', 'ca.pem', '--port', '99999'], '--port takes a TCP port'],
      [['ui', '--server', 'http://x.example', '--ca', 'ca.pem', '--root', '/tmp/r', '--state', '/tmp/s'], '--server must be an https:// URL'],
      [['deploy', '--server', 'https://x.example', '--ca', 'ca.pem', '--helper', '/run/h.sock', '--root', '/tmp/r'], '--helper and --root exclude each other'],
    ] as const) {
      const { status, stderr } = await cli(...argv);
      expect(status, argv.join(' ')).toBe(2);
      expect(stderr).toContain(why);
    }
  });

  it('refuses a malformed TCTI before touching the TSS', async () => {
    const { status, stderr } = await cli('tpm', 'info', '--tcti', 'swtpm:host=1.2.3.4\nport=1');
    expect(status).toBe(2);
    expect(stderr).toContain('invalid TCTI');
  });

  it('reports a refusal as one JSON object on stdout with --json', async () => {
    const { status, stdout, stderr } = await cli('tpm', 'info', '--json', '--tcti', 'BAD');
    expect(status).toBe(2);
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toMatchObject({ error: { code: 'USAGE', title: 'Invalid command line', docs: 'docs/errors.md#usage' } });
  });
});

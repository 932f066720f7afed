// `selfdeploy tpm info` as a technician runs it: the built command, a real swtpm.
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { unsized } from '../../protocol/tpm/bytes.js';
import { marshalTpm2bPublic, parseTpm2bPublic } from '../../protocol/tpm/public.js';
import { SwtpmLab, type LabTpm } from '../../lab/swtpm.js';
import { Tpm } from '../tpm/tpm.js';
import type { TpmReport } from './tpm-info.js';

const exec = promisify(execFile);
const bin = join(import.meta.dirname, '..', '..', 'dist', 'main', 'cli', 'selfdeploy.js');
let lab: SwtpmLab;
let swtpm: LabTpm;

beforeAll(async () => {
  lab = await SwtpmLab.create();
  swtpm = await lab.startTpm();
});

afterAll(async () => {
  await lab?.close();
});

describe('selfdeploy tpm info', () => {
  it('reports manufacturer, firmware and each EK with its certificate and public digest (--json)', async () => {
    const { stdout } = await exec(process.execPath, [bin, 'tpm', 'info', '--tcti', swtpm.tcti, '--json']);
    const report = JSON.parse(stdout) as TpmReport;
    expect(report).toMatchObject({ manufacturer: 'IBM', manufacturerId: '0x49424d00', family: '2.0', tcti: swtpm.tcti });
    expect(report.endorsementKeys.map((k) => [k.kind, k.primary, k.persistent])).toEqual([
      ['ecc-p384', true, true],
      ['rsa-2048', false, true],
    ]);
    const tpm = await Tpm.open({ tcti: swtpm.tcti });
    try {
      for (const key of report.endorsementKeys) {
        const ek = await tpm.ekPublic(key.kind);
        // The digest is SHA-256 over the marshalled TPMT_PUBLIC, recomputed here from the parsed area.
        const tpmt = unsized(marshalTpm2bPublic(parseTpm2bPublic(ek.public)), 'TPM2B_PUBLIC');
        expect(key.publicDigest).toBe(createHash('sha256').update(tpmt).digest('hex'));
        const cert = new X509Certificate(key.certificate!.pem);
        expect(cert.checkIssued(new X509Certificate(readFileSync(lab.caIntermediateCertPath)))).toBe(true);
        expect(key.certificate!.issuer).toBe('CN=swtpm-localca');
      }
    } finally {
      await tpm.close();
    }
  });

  it('prints the same facts for people, with the certificates as PEM', async () => {
    const { stdout } = await exec(process.execPath, [bin, 'tpm', 'info', '--tcti', swtpm.tcti]);
    expect(stdout).toMatch(/^TPM {12}IBM \(0x49424d00\)/);
    expect(stdout).toContain('Endorsement key ecc-p384 (used for attestation)');
    expect(stdout.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(stdout).toMatch(/EK public digest {2}[0-9a-f]{64}/);
  });

  it('explains an absent TPM with its code, remedy and exit status 3', async () => {
    const failure = exec(process.execPath, [bin, 'tpm', 'info', '--tcti', 'swtpm:host=127.0.0.1,port=9']);
    await expect(failure).rejects.toMatchObject({
      code: 3,
      stderr: expect.stringContaining('TPM_UNAVAILABLE (0x800705B4): No TPM 2.0 answered'),
    });
    await expect(failure).rejects.toMatchObject({ stderr: expect.stringContaining('What to do: Enable the TPM 2.0') });
  });

  it('tells a malformed TCTI from an absent TPM: TCTI_INVALID, with how to write one', async () => {
    for (const tcti of ['swtpm:port=abc', 'nosuchmodule']) {
      const failure = await exec(process.execPath, [bin, 'tpm', 'info', '--tcti', tcti]).catch((error: { code: number; stderr: string }) => error);
      expect(failure, tcti).toMatchObject({ code: 2, stderr: expect.stringContaining('TCTI_INVALID') });
      expect((failure as { stderr: string }).stderr).toContain('Give --tcti as MODULE:SETTINGS');
      expect((failure as { stderr: string }).stderr).not.toContain('firmware');
    }
  });

  it('reads the --identity file before the TPM, and says when it is missing — not that the firmware has no serial', async () => {
    const failure = await exec(process.execPath, [bin, 'hash', '--identity', '/nonexistent/identity.json', '--tcti', swtpm.tcti]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringContaining('INPUT_FILE_UNREADABLE') });
    expect((failure as { stderr: string }).stderr).toContain('/nonexistent/identity.json');
    expect((failure as { stderr: string }).stderr).not.toMatch(/firmware|serial number in/);
  });

  it('reports an absent addon as TPM_ADDON_MISSING', async () => {
    const failure = exec(process.execPath, [bin, 'tpm', 'info', '--json'], {
      env: { ...process.env, SELFDEPLOY_TPM_ADDON: '/nonexistent/selfdeploy_tpm.node' },
    });
    await expect(failure).rejects.toMatchObject({ code: 3 });
    const { stdout } = (await failure.catch((e: unknown) => e)) as { stdout: string };
    expect(JSON.parse(stdout)).toMatchObject({ error: { code: 'TPM_ADDON_MISSING', hresult: '0x800705B4' } });
  });

  it('installed (the build without its sources, as packaged), ignores the test-only SELFDEPLOY_TPM_ADDON and loads its own addon', async () => {
    const root = mkdtempSync(join(tmpdir(), 'selfdeploy-installed-'));
    try {
      const checkout = join(import.meta.dirname, '..', '..');
      cpSync(join(checkout, 'package.json'), join(root, 'package.json'));
      for (const dir of ['dist/main', 'dist/protocol', 'native/build/Release']) cpSync(join(checkout, dir), join(root, dir), { recursive: true });
      symlinkSync(join(checkout, 'node_modules'), join(root, 'node_modules'));
      const { stdout } = await exec(process.execPath, [join(root, 'dist', 'main', 'cli', 'selfdeploy.js'), 'tpm', 'info', '--tcti', swtpm.tcti, '--json'], {
        env: { ...process.env, SELFDEPLOY_TPM_ADDON: '/nonexistent/selfdeploy_tpm.node' },
      });
      expect(JSON.parse(stdout)).toMatchObject({ manufacturer: 'IBM', tcti: swtpm.tcti });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

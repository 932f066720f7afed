// Interoperability: a device client made only of tpm2-tools (tpm2_createek, tpm2_createak,
// tpm2_activatecredential, tpm2_quote) attests to the service over HTTPS against swtpm, with an
// RSA-2048, an ECC P-256 and an ECC P-384 endorsement key: the service's credentials are
// activated by the tools and their quotes are accepted.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { device } from '../../protocol/api/endpoints.js';
import { base64Decode, base64Encode, toHex } from '../../protocol/encoding.js';
import { ServiceClient } from '../../protocol/node/https-client.js';
import { sha256 } from '../../protocol/node/tpm-crypto.js';
import { unsized } from '../../protocol/tpm/bytes.js';
import { hash } from '../../lab/identities.js';
import { SwtpmLab, type LabTpm } from '../../lab/swtpm.js';
import { startTestService, type TestService } from '../testing/service.js';

const exec = promisify(execFile);

let lab: SwtpmLab;
let swtpm: LabTpm;
let service: TestService;
let client: ServiceClient;
let work: string;

/** A tpm2-tools command against the lab swtpm; every transient object is flushed after it (no resource manager). */
async function tools(...argv: string[]): Promise<string> {
  const env = { ...process.env, TPM2TOOLS_TCTI: swtpm.tcti };
  const { stdout } = await exec(argv[0]!, argv.slice(1), { cwd: work, env });
  await exec('tpm2_flushcontext', ['-t'], { cwd: work, env });
  return stdout;
}

beforeAll(async () => {
  lab = await SwtpmLab.create();
  swtpm = await lab.startTpm();
  service = await startTestService('sqlite', undefined, { swtpmLocalCa: join(lab.dir, 'ca') }, { https: true, deviceRateLimitPerMinute: 10_000 });
  client = new ServiceClient({ server: service.url!, ca: service.serviceCa });
  work = mkdtempSync(join(tmpdir(), 'selfdeploy-interop-'));
  // One AK, made by tpm2_createak under the RSA EK, serves every EK: ActivateCredential only
  // needs both keys loaded in the same TPM.
  await tools('tpm2_createek', '-c', 'ek-rsa.ctx', '-G', 'rsa', '-u', 'ek-rsa.pub');
  await tools('tpm2_createak', '-C', 'ek-rsa.ctx', '-c', 'ak.ctx', '-G', 'ecc', '-g', 'sha256', '-s', 'ecdsa', '-u', 'ak.pub', '-n', 'ak.name');
  await tools('tpm2_createek', '-c', 'ek-p256.ctx', '-G', 'ecc', '-u', 'ek-p256.pub');
  await tools('tpm2_readpublic', '-c', '0x81010016', '-o', 'ek-p384.pub');
  await tools('tpm2_nvread', '0x01c00002', '-o', 'ek-rsa.der');
  await tools('tpm2_nvread', '0x01c00016', '-o', 'ek-p384.der');
});

afterAll(async () => {
  client?.close();
  await service?.close();
  await lab?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface EkCase {
  name: string;
  /** TPM2B_PUBLIC file written by the tools. */
  publicFile: string;
  certificateFile?: string;
  /** The EK as tpm2_activatecredential's -C takes it, and its authorization. */
  context: string;
  /** Low-range EKs need PolicySecret(endorsement); the high-range P-384 EK takes its empty password. */
  policy: boolean;
}

const cases: EkCase[] = [
  { name: 'RSA-2048 (EK certificate from NV)', publicFile: 'ek-rsa.pub', certificateFile: 'ek-rsa.der', context: 'ek-rsa.ctx', policy: true },
  { name: 'ECC P-256 (no certificate: allow-listed)', publicFile: 'ek-p256.pub', context: 'ek-p256.ctx', policy: true },
  { name: 'ECC P-384 (persistent, EK certificate from NV)', publicFile: 'ek-p384.pub', certificateFile: 'ek-p384.der', context: '0x81010016', policy: false },
];

describe('a tpm2-tools client', () => {
  it.each(cases.map((c, i) => [c.name, c, i] as const))('attests with the %s EK', async (_name, ek, index) => {
    const ekPublic = readFileSync(join(work, ek.publicFile));
    const ekDigest = toHex(sha256(unsized(ekPublic, 'TPM2B_PUBLIC')));
    const hardwareHash = hash(5000 + index, { ekDigest, tpmManufacturer: 'IBM' });
    await service.request({ method: 'POST', url: '/v1/admin/devices', payload: { hardwareHash } });
    if (!ek.certificateFile) await service.request({ method: 'POST', url: '/v1/admin/trust-anchors', payload: { ekDigest, label: ek.name } });

    const challenge = await client.request(device.attestChallenge, {
      body: {
        registration: { serial: `SN${String(5000 + index).padStart(8, '0')}`, hardwareHash },
        ek: { public: base64Encode(ekPublic), ...(ek.certificateFile ? { certificate: base64Encode(readFileSync(join(work, ek.certificateFile))) } : {}) },
        ak: { public: base64Encode(readFileSync(join(work, 'ak.pub'))) },
      },
    });

    // tpm2_makecredential's file format: magic, version, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET.
    const header = Buffer.from('badcc0de00000001', 'hex');
    writeFileSync(join(work, 'cred.bin'), Buffer.concat([header, base64Decode(challenge.credential.idObject), base64Decode(challenge.credential.encryptedSecret)]));
    if (ek.policy) {
      await exec('tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx'], { cwd: work, env: { ...process.env, TPM2TOOLS_TCTI: swtpm.tcti } });
      await exec('tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e'], { cwd: work, env: { ...process.env, TPM2TOOLS_TCTI: swtpm.tcti } });
      await tools('tpm2_activatecredential', '-c', 'ak.ctx', '-C', ek.context, '-i', 'cred.bin', '-o', 'secret.bin', '-P', 'session:session.ctx');
      await exec('tpm2_flushcontext', ['-s'], { cwd: work, env: { ...process.env, TPM2TOOLS_TCTI: swtpm.tcti } });
    } else {
      await tools('tpm2_activatecredential', '-c', 'ak.ctx', '-C', ek.context, '-i', 'cred.bin', '-o', 'secret.bin');
    }

    const nonce = toHex(base64Decode(challenge.nonce));
    expect(challenge.pcrSelection).toEqual([{ hash: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]);
    await tools('tpm2_quote', '-c', 'ak.ctx', '-l', 'sha256:0,1,2,3,4,5,6,7', '-q', nonce, '-m', 'quote.msg', '-s', 'quote.sig', '-g', 'sha256');
    await tools('tpm2_pcrread', 'sha256:0,1,2,3,4,5,6,7', '-o', 'pcrs.bin');
    const values = readFileSync(join(work, 'pcrs.bin'));
    const attested = await client.request(device.attestResponse, {
      body: {
        challengeId: challenge.challengeId,
        secret: base64Encode(readFileSync(join(work, 'secret.bin'))),
        quote: {
          attest: base64Encode(readFileSync(join(work, 'quote.msg'))),
          signature: base64Encode(readFileSync(join(work, 'quote.sig'))),
          pcrs: [{ hash: 'sha256', values: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [String(i), base64Encode(values.subarray(i * 32, i * 32 + 32))])) }],
        },
      },
    });
    expect(attested.attestationToken).toMatch(/^sda_/);
    expect(attested.unverifiedHardware).toBe(!ek.certificateFile);
  });
});

// Every TPM operation of the self-deploy sequence, against real swtpm TPMs provisioned with EK
// certificates by the lab's own CA, checked independently: X.509 chains with @peculiar/x509 and
// `openssl verify`, credentials made by `tpm2_makecredential`, quotes checked by
// `tpm2_checkquote`, signatures verified with node:crypto.
import 'reflect-metadata';

import { execFile } from 'node:child_process';
import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { toHex } from '../../protocol/encoding.js';
import { ByteReader } from '../../protocol/tpm/bytes.js';
import { TpmAlg, TpmSt, TpmaObject } from '../../protocol/tpm/constants.js';
import { hasAttributes, marshalTpm2bPublic, parseTpm2bPublic, publicKeyJwk } from '../../protocol/tpm/public.js';
import { SwtpmLab, type LabTpm } from '../../lab/swtpm.js';
import { TpmError, TpmUnavailable } from './errors.js';
import { publicKeyObject, sha256, verifyTpmSignature } from '../../protocol/node/tpm-crypto.js';
import { loadNativeAddon } from './native.js';
import type { KeyBlob } from './port.js';
import { Tpm } from './tpm.js';
import { EK_PROFILES, ekProfile, type EkKind } from './templates.js';

const exec = promisify(execFile);

let lab: SwtpmLab;
let swtpm: LabTpm;
let tpm: Tpm;
let work: string;

beforeAll(async () => {
  lab = await SwtpmLab.create();
  swtpm = await lab.startTpm();
  tpm = await Tpm.open({ tcti: swtpm.tcti });
  work = mkdtempSync(join(tmpdir(), 'selfdeploy-tpm-test-'));
});

afterAll(async () => {
  await tpm?.close();
  await lab?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function file(name: string, content: Uint8Array | string): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

/** tpm2-tools against the same swtpm (our context stays open: swtpm serves one client at a time). */
async function tpm2(tool: string, args: string[], tcti = 'none') {
  return exec(tool, ['-T', tcti, ...args], { timeout: 30_000 });
}

describe('info', () => {
  it('reads the swtpm identity: IBM, TPM 2.0, and the SHA-1 and SHA-256 banks swtpm_setup allocated', async () => {
    const info = await tpm.info();
    expect(info.manufacturer).toBe('IBM');
    expect(info.manufacturerId).toBe(0x49424d00);
    expect(info.family).toBe('2.0');
    expect(info.specRevision).toBeGreaterThanOrEqual(138);
    expect(info.firmwareVersionRaw[0]).toBeGreaterThan(0);
    expect(info.pcrBanks.map((b) => b.name).sort()).toEqual(['sha1', 'sha256']);
    expect(info.pcrBanks[0]!.pcrs).toHaveLength(24);
  });
});

describe('endorsement keys', () => {
  it('reads both EK certificates, which chain to the lab CA (X.509 library) and carry the TPM EKU and SAN', async () => {
    const certificates = await tpm.ekCertificates();
    expect(certificates.map((c) => c.kind)).toEqual(['ecc-p384', 'rsa-2048']);
    const root = new x509.X509Certificate(readFileSync(lab.caRootCertPath, 'utf8'));
    const intermediate = new x509.X509Certificate(readFileSync(lab.caIntermediateCertPath, 'utf8'));
    for (const { der } of certificates) {
      const cert = new x509.X509Certificate(der);
      const chain = await new x509.X509ChainBuilder({ certificates: [intermediate, root] }).build(cert);
      expect(chain.map((c) => c.subject)).toEqual([cert.subject, intermediate.subject, root.subject]);
      expect(await cert.verify({ publicKey: intermediate.publicKey, signatureOnly: true })).toBe(true);
      expect(await intermediate.verify({ publicKey: root.publicKey, signatureOnly: true })).toBe(true);
      const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
      expect(eku?.usages).toContain('2.23.133.8.1'); // tcg-kp-EKCertificate
      const san = cert.getExtension('2.5.29.17');
      expect(san?.critical).toBe(true); // the TPM's identity lives in a critical directoryName SAN
    }
  });

  it('has EK certificates that openssl verifies against the lab CA, and that no other CA vouches for', async () => {
    const other = await SwtpmLab.create();
    await other.provision();
    try {
      for (const { der, kind } of await tpm.ekCertificates()) {
        const pem = file(`ek-${kind}.pem`, new X509Certificate(der).toString());
        const { stdout } = await exec('openssl', ['verify', '-CAfile', lab.caRootCertPath, '-untrusted', lab.caIntermediateCertPath, pem]);
        expect(stdout).toContain(': OK');
        const foreign = exec('openssl', ['verify', '-CAfile', other.caRootCertPath, '-untrusted', other.caIntermediateCertPath, pem]);
        await expect(foreign).rejects.toThrow(/unable to get local issuer certificate|verification failed/);
      }
    } finally {
      await other.close();
    }
  });

  it('returns EK publics whose keys are the ones the certificates certify', async () => {
    for (const certificate of await tpm.ekCertificates()) {
      const ek = await tpm.ekPublic(certificate.kind);
      expect(ek.persistent).toBe(true);
      const fromCert = new X509Certificate(certificate.der).publicKey.export({ format: 'jwk' });
      const fromTpm = createPublicKey({ key: publicKeyJwk(ek.area), format: 'jwk' }).export({ format: 'jwk' });
      expect(fromTpm).toEqual(fromCert);
      expect(toHex(ek.digest)).toBe(toHex(sha256(ek.public.slice(2))));
    }
  });

  it('re-creates from the TCG templates exactly the EKs swtpm persisted (RSA L-1, ECC P-384 H-3)', async () => {
    const native = new (loadNativeAddon().TpmContext)(swtpm.tcti);
    await native.open();
    try {
      for (const kind of ['rsa-2048', 'ecc-p384'] as EkKind[]) {
        const persisted = await tpm.ekPublic(kind);
        const created = await native.primaryPublic({
          primary: { hierarchy: 'endorsement', template: marshalTpm2bPublic(ekProfile(kind).template) },
        });
        expect(created.persistent).toBe(false);
        expect(toHex(created.public), kind).toBe(toHex(persisted.public));
      }
    } finally {
      await native.close();
    }
  });

  it('creates the ECC P-256 EK from its template when the TPM has neither it nor its certificate', async () => {
    const ek = await tpm.ekPublic('ecc-p256');
    expect(ek.persistent).toBe(false);
    expect(ek.area.type).toBe(TpmAlg.ECC);
    expect(EK_PROFILES.map((p) => p.kind)).toContain('ecc-p256');
    expect((await tpm.ekPublic('ecc-p256')).digest).toEqual(ek.digest); // deterministic from the seed
  });
});

describe('attestation key', () => {
  it('is a restricted signing key fixed to this TPM and its parent (ECC P-256 by default, RSA 2048 on request)', async () => {
    for (const alg of ['ecc', 'rsa'] as const) {
      const ak = await tpm.createAk(alg);
      const area = parseTpm2bPublic(ak.public);
      expect(area.type).toBe(alg === 'ecc' ? TpmAlg.ECC : TpmAlg.RSA);
      expect(hasAttributes(area, TpmaObject.restricted, TpmaObject.sign, TpmaObject.fixedTPM, TpmaObject.fixedParent)).toBe(true);
      expect(hasAttributes(area, TpmaObject.decrypt)).toBe(false);
      expect(ak.private.length).toBeGreaterThan(32);
    }
  });
});

/** Parses a tpm2_makecredential output file: BADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET. */
function readCredentialFile(bytes: Uint8Array) {
  const r = new ByteReader(bytes, 'tpm2-tools credential');
  expect(r.u32()).toBe(0xbadcc0de);
  expect(r.u32()).toBe(1);
  const idSize = r.u16();
  const idObject = Uint8Array.from([idSize >> 8, idSize & 0xff, ...r.raw(idSize)]);
  const secretSize = r.u16();
  const secret = Uint8Array.from([secretSize >> 8, secretSize & 0xff, ...r.raw(secretSize)]);
  r.finish();
  return { idObject, secret };
}

describe('credential activation', () => {
  let ak: KeyBlob;
  beforeAll(async () => {
    ak = await tpm.createAk();
  });

  it.each(['rsa-2048', 'ecc-p384'] as EkKind[])(
    'recovers a secret that tpm2_makecredential -T none bound to the AK name and the %s EK',
    async (kind) => {
      const ek = await tpm.ekPublic(kind);
      const secret = createHash('sha256').update(`secret for ${kind}`).digest();
      const out = join(work, `cred-${kind}.out`);
      await tpm2('tpm2_makecredential', ['-u', file(`ek-${kind}.pub`, ek.public), '-s', file(`secret-${kind}`, secret), '-n', toHex(ak.name), '-o', out]);
      const { idObject, secret: encrypted } = readCredentialFile(readFileSync(out));
      const recovered = await tpm.activateCredential({ ak, ek: kind, credentialBlob: idObject, secret: encrypted });
      expect(toHex(recovered)).toBe(toHex(secret));
    },
  );

  it('refuses a credential made for another AK name', async () => {
    const other = await tpm.createAk();
    const ek = await tpm.ekPublic('rsa-2048');
    const out = join(work, 'cred-other.out');
    await tpm2('tpm2_makecredential', ['-u', file('ek-other.pub', ek.public), '-s', file('secret-other', new Uint8Array(32).fill(9)), '-n', toHex(other.name), '-o', out]);
    const { idObject, secret } = readCredentialFile(readFileSync(out));
    const activation = tpm.activateCredential({ ak, ek: 'rsa-2048', credentialBlob: idObject, secret });
    await expect(activation).rejects.toBeInstanceOf(TpmError);
    await expect(activation).rejects.toMatchObject({ call: 'Esys_ActivateCredential', rc: expect.any(Number) });
  });
});

/**
 * The PCR file `tpm2_quote -o` writes and `tpm2_checkquote -f` reads ("serialized"): the C structs
 * in host (little-endian) order — TPML_PCR_SELECTION, a UINT32 list count, then TPML_DIGESTs of
 * up to eight TPM2B_DIGEST each. (Its plain "values" form with -l fails in tpm2-tools 5.4.)
 */
function tpm2ToolsPcrFile(hashAlg: number, values: Map<number, Uint8Array>): Buffer {
  const pcrs = [...values.keys()].sort((a, b) => a - b);
  const selection = Buffer.alloc(4 + 16 * 8);
  selection.writeUInt32LE(1, 0);
  selection.writeUInt16LE(hashAlg, 4);
  selection.writeUInt8(3, 6);
  for (const pcr of pcrs) selection[7 + (pcr >> 3)]! |= 1 << (pcr & 7);
  const lists: Buffer[] = [];
  for (let i = 0; i < pcrs.length; i += 8) {
    const list = Buffer.alloc(4 + 8 * 66);
    const chunk = pcrs.slice(i, i + 8);
    list.writeUInt32LE(chunk.length, 0);
    chunk.forEach((pcr, j) => {
      const value = values.get(pcr)!;
      list.writeUInt16LE(value.length, 4 + j * 66);
      list.set(value, 6 + j * 66);
    });
    lists.push(list);
  }
  const count = Buffer.alloc(4);
  count.writeUInt32LE(lists.length, 0);
  return Buffer.concat([selection, count, ...lists]);
}

describe('quote', () => {
  const pcrs = [{ hashAlg: TpmAlg.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }];

  it('produces a quote over a nonce that tpm2_checkquote accepts, with its PCR values; a wrong nonce fails', async () => {
    for (const alg of ['ecc', 'rsa'] as const) {
      const ak = await tpm.createAk(alg);
      const nonce = await tpm.getRandom(32);
      const quote = await tpm.quote({ ak, qualifyingData: nonce, pcrs });
      expect(quote.parsed.type).toBe(TpmSt.ATTEST_QUOTE);
      expect(toHex(quote.parsed.extraData)).toBe(toHex(nonce));
      const values = quote.pcrs.find((b) => b.hashAlg === TpmAlg.SHA256)!;
      const args = [
        '-u', file(`ak-${alg}.pub`, ak.public),
        '-m', file(`quote-${alg}.msg`, quote.attest),
        '-s', file(`quote-${alg}.sig`, quote.signature),
        '-f', file(`pcrs-${alg}.bin`, tpm2ToolsPcrFile(TpmAlg.SHA256, values.values)),
        '-g', 'sha256',
      ];
      const { stdout } = await exec('tpm2_checkquote', [...args, '-q', toHex(nonce)]);
      expect(stdout).toContain('pcrs:');
      const wrongNonce = toHex(new Uint8Array(32).fill(1));
      await expect(exec('tpm2_checkquote', [...args, '-q', wrongNonce])).rejects.toThrow();
      expect(verifyTpmSignature(parseTpm2bPublic(ak.public), quote.attest, quote.signature)).toBe(true);
    }
  });
});

describe('device key', () => {
  it('signs a digest in the TPM with a signature node:crypto verifies, and only for that message', async () => {
    const key = await tpm.createDeviceKey();
    const area = parseTpm2bPublic(key.public);
    expect(hasAttributes(area, TpmaObject.sign, TpmaObject.fixedTPM)).toBe(true);
    expect(hasAttributes(area, TpmaObject.restricted)).toBe(false);
    const message = new TextEncoder().encode('{"iss":"device","aud":"https://service/v1/token"}');
    const signature = await tpm.sign({ key, digest: sha256(message) });
    expect(verifyTpmSignature(area, message, signature)).toBe(true);
    expect(verifyTpmSignature(area, new TextEncoder().encode('another message'), signature)).toBe(false);
    expect(publicKeyObject(area).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('is certified by the AK: the attestation names the key, carries the qualifying data and verifies under the AK', async () => {
    const ak = await tpm.createAk();
    const key = await tpm.createDeviceKey();
    const qualifyingData = await tpm.getRandom(32);
    const certification = await tpm.certify({ key, ak, qualifyingData });
    expect(toHex(certification.parsed.name)).toBe(toHex(key.name));
    expect(toHex(certification.parsed.extraData)).toBe(toHex(qualifyingData));
    const akArea = parseTpm2bPublic(ak.public);
    expect(verifyTpmSignature(akArea, certification.attest, certification.signature)).toBe(true);
    const tampered = Uint8Array.from(certification.attest);
    tampered[tampered.length - 1]! ^= 1;
    expect(verifyTpmSignature(akArea, tampered, certification.signature)).toBe(false);
  });
});

describe('restarts and concurrency', () => {
  it('reloads key blobs after the swtpm restarts, and the reloaded key signs', async () => {
    const key = await tpm.createDeviceKey();
    const ak = await tpm.createAk();
    await tpm.close();
    await swtpm.restart();
    tpm = await Tpm.open({ tcti: swtpm.tcti });
    expect(toHex(await tpm.loadKey(key))).toBe(toHex(key.name));
    expect(toHex(await tpm.loadKey(ak))).toBe(toHex(ak.name));
    const digest = sha256(Uint8Array.of(1, 2, 3));
    const area = parseTpm2bPublic(key.public);
    expect(verifyTpmSignature(area, Uint8Array.of(1, 2, 3), await tpm.sign({ key, digest }))).toBe(true);
  });

  it('serializes concurrent callers on one TPM: all of them succeed', async () => {
    const key = await tpm.createDeviceKey();
    const ak = await tpm.createAk();
    const area = parseTpm2bPublic(key.public);
    const calls = Array.from({ length: 12 }, async (_, i) => {
      const message = Uint8Array.of(i);
      if (i % 3 === 0) return verifyTpmSignature(area, message, await tpm.sign({ key, digest: sha256(message) }));
      if (i % 3 === 1) return (await tpm.quote({ ak, qualifyingData: message, pcrs: [{ hashAlg: TpmAlg.SHA256, pcrs: [i] }] })).parsed.extraData[0] === i;
      return (await tpm.getRandom(48)).length === 48;
    });
    expect(await Promise.all(calls)).toEqual(new Array(12).fill(true));
  });
});

describe('no TPM', () => {
  it('fails fast with TpmUnavailable when nothing listens on the port', async () => {
    const started = Date.now();
    const opening = Tpm.open({ tcti: 'swtpm:host=127.0.0.1,port=9' });
    await expect(opening).rejects.toBeInstanceOf(TpmUnavailable);
    await expect(opening).rejects.toMatchObject({ code: 'TPM_UNAVAILABLE', reason: 'no-answer' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('gives up within the open timeout on a port that accepts connections but never answers', async () => {
    const servers: Server[] = [];
    const sockets: Socket[] = [];
    const listen = (port: number) =>
      new Promise<number>((resolve, reject) => {
        const server = createServer((socket) => void sockets.push(socket)); // accept, never reply
        servers.push(server);
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
      });
    let port = 0;
    for (let attempt = 0; attempt < 20 && port === 0; attempt++) {
      const candidate = await listen(0);
      try {
        await listen(candidate + 1);
        port = candidate;
      } catch {
        // control port taken: try another pair
      }
    }
    try {
      const started = Date.now();
      await expect(Tpm.open({ tcti: `swtpm:host=127.0.0.1,port=${port}`, openTimeoutMs: 1_000 })).rejects.toMatchObject({
        name: 'TpmUnavailable',
        reason: 'timeout',
      });
      expect(Date.now() - started).toBeLessThan(2_500);
    } finally {
      for (const socket of sockets) socket.destroy();
      for (const server of servers) server.close();
    }
  });
});

describe.runIf(existsSync('/dev/tpmrm0'))('the machine TPM (/dev/tpmrm0; skipped where there is none)', () => {
  it('opens, identifies itself and gives the EK public', async () => {
    const device = await Tpm.open({ tcti: 'device:/dev/tpmrm0' });
    try {
      expect((await device.info()).family).toBe('2.0');
      expect((await device.primaryEk()).ek.digest).toHaveLength(32);
    } finally {
      await device.close();
    }
  });
});

describe("the key file's parent", () => {
  it('is made persistent at 0x81000001 as the SRK the key was made under, once; a handle another key holds is refused untouched', async () => {
    const own = await lab.startTpm('tpm-persist');
    let device = await Tpm.open({ tcti: own.tcti });
    const readSrk = async () => {
      await device.close();
      try {
        return await tpm2('tpm2_readpublic', ['-c', '0x81000001'], own.tcti).then(
          (out) => out.stdout,
          () => null,
        );
      } finally {
        device = await Tpm.open({ tcti: own.tcti });
      }
    };
    try {
      expect(await readSrk()).toBeNull(); // a fresh TPM holds no SRK there
      const key = await device.createDeviceKey();
      await device.persistParent(key);
      const srk = await readSrk();
      expect(srk).toMatch(/^type:\s+value: ecc$/m);
      expect(srk).toContain(`name: ${toHex(key.parentName)}`);
      await device.persistParent(key); // already there: nothing to do
      expect(toHex(await device.loadKey(key))).toBe(toHex(key.name));

      // Another key at the handle: the SRK is not put there, and that key stays.
      await device.close();
      await tpm2('tpm2_evictcontrol', ['-C', 'o', '-c', '0x81000001'], own.tcti);
      await tpm2('tpm2_createprimary', ['-C', 'o', '-G', 'rsa2048', '-c', join(work, 'other.ctx')], own.tcti);
      await tpm2('tpm2_evictcontrol', ['-C', 'o', '-c', join(work, 'other.ctx'), '0x81000001'], own.tcti);
      await tpm2('tpm2_flushcontext', ['-t'], own.tcti); // no resource manager: free the transient slot
      device = await Tpm.open({ tcti: own.tcti });
      const second = await device.createDeviceKey();
      await expect(device.persistParent(second)).rejects.toMatchObject({ code: 'TPM_COMMAND_FAILED', message: expect.stringContaining('0x81000001 holds another key') });
      expect(await readSrk()).toMatch(/^type:\s+value: rsa$/m);
    } finally {
      await device.close();
    }
  });
});

// TPM trust anchors as vendors publish them: a bundle with the same root under two names (PEM and
// DER), an intermediate that expired after it certified TPMs (as Infineon's did in October 2025),
// and files that are no CA at all — imported through the admin tool and the API on SQLite and
// PostgreSQL, and then used: a real swtpm's EK, certified by the expired intermediate while it was
// valid, attests under the default "at-issuance" rule and is refused under "now".
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { admin, device as deviceApi } from '../../protocol/api/endpoints.js';
import { base64Encode, toHex } from '../../protocol/encoding.js';
import { TpmAlg } from '../../protocol/tpm/constants.js';
import { hash } from '../../lab/identities.js';
import { SwtpmLab } from '../../lab/swtpm.js';
import type { EndorsementKey, KeyBlob } from '../../main/tpm/port.js';
import { Tpm } from '../../main/tpm/tpm.js';
import { startTestService, type TestService } from '../testing/service.js';
import { YEAR_MS, derOf, labCa, labEkCertificate, type LabCa } from '../../lab/ek-pki.js';

const YEAR = YEAR_MS;
const ca = labCa;
const ekCertificate = (ek: EndorsementKey, issuer: LabCa, notBefore: Date, notAfter: Date, caIssuers?: string) => labEkCertificate(ek.area, issuer, notBefore, notAfter, caIssuers);
const der = (certificate: x509.X509Certificate) => Buffer.from(derOf(certificate));

describe.each(['sqlite', 'postgres'] as const)('a vendor CA bundle on %s', (kind) => {
  let lab: SwtpmLab;
  let tpm: Tpm;
  let ek: EndorsementKey;
  let ak: KeyBlob;
  let service: TestService;
  let bundle: string;
  let root: LabCa;
  let expired: LabCa;
  let leaf: x509.X509Certificate;
  const scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-bundle-'));

  beforeAll(async () => {
    const now = Date.now();
    root = await ca('Vendor EK Root', new Date(now - 10 * YEAR), new Date(now + 15 * YEAR));
    expired = await ca('Vendor EK Intermediate 2015', new Date(now - 10 * YEAR), new Date(now - 60 * 86_400_000), root);
    const current = await ca('Vendor EK Intermediate 2025', new Date(now - YEAR), new Date(now + 10 * YEAR), root);
    bundle = join(scratch, 'vendor');
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'root.pem'), root.certificate.toString('pem'));
    writeFileSync(join(bundle, 'Root CA.cer'), der(root.certificate)); // the same root again, in DER
    writeFileSync(join(bundle, 'intermediates.pem'), `${expired.certificate.toString('pem')}\n${current.certificate.toString('pem')}\n`);
    writeFileSync(join(bundle, 'README.txt'), 'not a certificate, and not named like one');
    lab = await SwtpmLab.create();
    const swtpm = await lab.startTpm();
    await swtpm.removeEkCertificatesFromNv();
    tpm = await Tpm.open({ tcti: swtpm.tcti });
    ({ ek } = await tpm.primaryEk());
    ak = await tpm.createAk();
    // Issued while the intermediate was valid (five years ago), valid for twenty years.
    leaf = await ekCertificate(ek, expired, new Date(now - 5 * YEAR), new Date(now + 15 * YEAR));
    service = await startTestService(kind, kind === 'postgres' ? inject('postgresAdminUrl') : undefined, {}, { https: true, deviceRateLimitPerMinute: 100_000 });
  });

  afterAll(async () => {
    await tpm?.close();
    await service?.close();
    await lab?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const adminTool = join(import.meta.dirname, '..', '..', 'dist', 'backend', 'cli', 'admin.js');
  const run = (...args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      const caFile = join(scratch, 'service-ca.pem');
      writeFileSync(caFile, service.serviceCa);
      execFile(process.execPath, [adminTool, ...args, '--server', service.url!.href, '--ca', caFile, '--token', service.adminToken], (error, stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stdout, stderr }));
    });

  it('imports a directory: each certificate once, the expired intermediate reported by name and kept', async () => {
    const result = await run('trust-anchors', 'add', bundle, '--json');
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as { items: { subject: string }[]; outcomes: { file: string; subject: string; outcome: string; detail: string | null }[] };
    expect(report.outcomes.map((o) => [o.file.slice(bundle.length + 1), o.subject, o.outcome])).toEqual([
      ['Root CA.cer', 'CN=Vendor EK Root', 'added'],
      ['intermediates.pem', 'CN=Vendor EK Intermediate 2015', 'added, expired'],
      ['intermediates.pem', 'CN=Vendor EK Intermediate 2025', 'added'],
      ['root.pem', 'CN=Vendor EK Root', 'duplicate'],
    ]);
    expect(report.outcomes[3]!.detail).toContain('Root CA.cer');
    expect(report.items).toHaveLength(3);
    // Again: nothing new, no error.
    const again = await run('trust-anchors', 'add', join(bundle, 'root.pem'));
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('already trusted');
    expect(again.stdout).toContain('Nothing new to trust.');
  });

  it('lists each anchor with subject, issuer, validity, key type and how many devices attested through it', async () => {
    const list = await service.call(admin.tenant.listTrustAnchors);
    expect(list.items.find((a) => a.subject === 'CN=Vendor EK Intermediate 2015')).toMatchObject({ issuer: 'CN=Vendor EK Root', keyType: 'EC P-384', devices: 0, notBefore: expect.any(String), notAfter: expect.any(String) });
    const shown = await run('trust-anchors', 'list');
    expect(shown.stdout).toMatch(/CN=Vendor EK Intermediate 2015\s+CN=Vendor EK Root\s+\S+ to \S+ \(expired\)\s+EC P-384\s+0/);
  });

  it('refuses a bundle with a file that is no CA certificate, naming the file, and adds nothing', async () => {
    const before = (await service.call(admin.tenant.listTrustAnchors)).items.length;
    const bad = join(scratch, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'ok.pem'), (await ca('Another Root', new Date(Date.now() - YEAR), new Date(Date.now() + YEAR))).certificate.toString('pem'));
    writeFileSync(join(bad, 'leaf.pem'), leaf.toString('pem'));
    writeFileSync(join(bad, 'garbage.crt'), 'hello');
    const result = await run('trust-anchors', 'add', bad);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('TRUST_ANCHOR_INVALID');
    expect(result.stderr).toContain(join(bad, 'leaf.pem'));
    expect(result.stderr).toContain('is not a CA certificate');
    expect(result.stderr).toContain(join(bad, 'garbage.crt'));
    expect((await service.call(admin.tenant.listTrustAnchors)).items.length).toBe(before);
  });

  it('trusts a TPM the expired intermediate certified while valid ("at-issuance"), not under "now"', async () => {
    const registration = { serial: `SN-IFX-${kind}`, hardwareHash: hash(81, { serial: `SN-IFX-${kind}`, ekDigest: toHex(ek.digest), tpmManufacturer: 'IFX' }) };
    const deviceId = (await service.call(admin.devices.add, { body: { hardwareHash: registration.hardwareHash } })).id;
    const challenge = () =>
      service.request({ method: 'POST', url: deviceApi.attestChallenge.path, token: null, payload: { registration, ek: { public: base64Encode(ek.public), certificate: base64Encode(new Uint8Array(leaf.rawData)) }, ak: { public: base64Encode(ak.public) } } });
    expect((await service.call(admin.tenant.getSettings)).ekIssuerValidity).toBe('at-issuance');
    const accepted = await challenge();
    expect(accepted.statusCode, accepted.body).toBe(200);
    // The device attests to the end: the anchors its chain went through count it.
    const c = accepted.json<{ challengeId: string; credential: { idObject: string; encryptedSecret: string }; nonce: string }>();
    const secret = await tpm.activateCredential({ ak, ek: ek.kind, credentialBlob: Buffer.from(c.credential.idObject, 'base64'), secret: Buffer.from(c.credential.encryptedSecret, 'base64') });
    const quote = await tpm.quote({ ak, qualifyingData: Buffer.from(c.nonce, 'base64'), pcrs: [{ hashAlg: TpmAlg.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }] });
    const values = Object.fromEntries([...quote.pcrs[0]!.values].map(([i, v]) => [String(i), base64Encode(v)]));
    const answered = await service.request({ method: 'POST', url: deviceApi.attestResponse.path, token: null, payload: { challengeId: c.challengeId, secret: base64Encode(secret), quote: { attest: base64Encode(quote.attest), signature: base64Encode(quote.signature), pcrs: [{ hash: 'sha256', values }] } } });
    expect(answered.statusCode, answered.body).toBe(200);
    const counts = Object.fromEntries((await service.call(admin.tenant.listTrustAnchors)).items.map((a) => [a.subject, a.devices]));
    expect(counts).toMatchObject({ 'CN=Vendor EK Root': 1, 'CN=Vendor EK Intermediate 2015': 1, 'CN=Vendor EK Intermediate 2025': 0 });
    expect((await run('settings', 'set', '--ek-issuer-validity', 'now')).stdout).toContain('now (every certificate of the chain valid today)');
    // The other setting kept its value.
    expect((await service.call(admin.tenant.getSettings)).bindEkOnFirstUse).toBe(false);
    const refused = await challenge();
    expect(refused.json<{ code: string; detail: string }>()).toMatchObject({ code: 'EK_CERTIFICATE_UNTRUSTED', detail: expect.stringContaining('CN=Vendor EK Intermediate 2015 is not valid now') });
    await run('settings', 'set', '--ek-issuer-validity', 'at-issuance');
    // "At issuance" is not "whenever": a certificate issued after its issuer expired is refused.
    const late = await ekCertificate(ek, expired, new Date(Date.now() - 30 * 86_400_000), new Date(Date.now() + YEAR));
    const lateChallenge = await service.request({ method: 'POST', url: deviceApi.attestChallenge.path, token: null, payload: { registration, ek: { public: base64Encode(ek.public), certificate: base64Encode(new Uint8Array(late.rawData)) }, ak: { public: base64Encode(ak.public) } } });
    expect(lateChallenge.json<{ code: string; detail: string }>()).toMatchObject({ code: 'EK_CERTIFICATE_UNTRUSTED', detail: expect.stringContaining('when its issuer CN=Vendor EK Intermediate 2015 was not valid') });
    await service.call(admin.devices.delete, { params: { id: deviceId } });
  });

  it('reaches a root through an intermediate the certificate names (caIssuers), fetched once from an allowed host and kept in the database', async () => {
    // An intermediate nobody added, served where the EK certificate says it is.
    const hidden = await ca('Vendor EK Intermediate (AIA only)', new Date(Date.now() - YEAR), new Date(Date.now() + 5 * YEAR), root);
    const served: string[] = [];
    const server = createServer((request, response) => {
      served.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(der(hidden.certificate));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const leafAia = await ekCertificate(ek, hidden, new Date(Date.now() - 86_400_000), new Date(Date.now() + YEAR), `http://${host}/issuers/hidden.cer`);
      const check = () => service.call(deviceApi.ekCheck, { body: { ek: { public: base64Encode(ek.public), certificate: base64Encode(new Uint8Array(leafAia.rawData)) } } });
      // Not allowed to fetch: the failure names the missing link, where it is, and what to do.
      const refused = await check();
      expect(refused).toMatchObject({ verdict: 'refused', code: 'EK_CERTIFICATE_UNTRUSTED' });
      expect(refused.detail).toContain("whose issuer CN=Vendor EK Intermediate (AIA only) is neither a trust anchor nor among the intermediates the TPM sent");
      expect(refused.detail).toContain(`http://${host}/issuers/hidden.cer`);
      expect(refused.detail).toContain('aiaHosts');
      expect(served).toEqual([]);
      const settings = await service.call(admin.tenant.getSettings);
      await service.call(admin.tenant.putSettings, { body: { ...settings, aiaHosts: [host] } });
      expect(await check()).toMatchObject({ verdict: 'trusted', anchors: ['CN=Vendor EK Root'] });
      expect(await check()).toMatchObject({ verdict: 'trusted' });
      expect(served).toEqual(['/issuers/hidden.cer']);
      const kept = await service.store.db.selectFrom('fetched_issuers').select('url').execute();
      expect(kept).toEqual([{ url: `http://${host}/issuers/hidden.cer` }]);
      // The device may send the intermediate itself (its chain NV indices): no fetching needed.
      await service.call(admin.tenant.putSettings, { body: settings });
      expect(await service.call(deviceApi.ekCheck, { body: { ek: { public: base64Encode(ek.public), certificate: base64Encode(new Uint8Array(leafAia.rawData)), chain: [base64Encode(der(hidden.certificate))] } } })).toMatchObject({ verdict: 'trusted' });
    } finally {
      server.close();
    }
  });
});

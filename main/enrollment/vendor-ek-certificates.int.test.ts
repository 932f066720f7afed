// EK certificates from a TPM vendor's service, against a real swtpm whose EK certificates were taken
// out of NV (a firmware TPM) and a loopback stand-in for the vendor's service in Intel's and AMD's
// URL schemes and formats. tpm2-tools' tpm2_getekcertificate asks the same stand-in: the URL it
// derives must be the agent's.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EkVendorService, type VendorFormat } from '../../lab/ek-vendor.js';
import { SwtpmLab, type LabTpm } from '../../lab/swtpm.js';
import { Tpm } from '../tpm/tpm.js';
import type { EndorsementKey } from '../tpm/port.js';
import { ekServiceUrl, VendorEkCertificates } from './vendor-ek-certificates.js';

const exec = promisify(execFile);
let lab: SwtpmLab;
let swtpm: LabTpm;
let tpm: Tpm;
let rsa: EndorsementKey;
let ecc: EndorsementKey;
let dir: string;
const der = (path: string) => new Uint8Array(readFileSync(path));

beforeAll(async () => {
  lab = await SwtpmLab.create();
  swtpm = await lab.startTpm();
  await swtpm.removeEkCertificatesFromNv();
  tpm = await Tpm.open({ tcti: swtpm.tcti });
  rsa = await tpm.ekPublic('rsa-2048');
  ecc = await tpm.ekPublic('ecc-p384');
  dir = mkdtempSync(join(tmpdir(), 'selfdeploy-ek-vendor-'));
});

afterAll(async () => {
  await tpm?.close();
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("EK certificates from the TPM vendor's service", () => {
  it('a TPM without certificates in NV attests with the RSA EK, which has none', async () => {
    expect(await tpm.ekCertificates()).toEqual([]);
    expect((await tpm.primaryEk()).certificate).toBeUndefined();
  });

  for (const format of ['intel', 'amd'] as const) {
    it(`${format}: fetches each EK's certificate at the URL tpm2_getekcertificate derives too, checks it, and keeps it`, async () => {
      const vendor = await EkVendorService.start(format);
      try {
        vendor.add(der(swtpm.ekCertificatePaths.rsa2048));
        vendor.add(der(swtpm.ekCertificatePaths.eccP384));
        const services = [{ manufacturer: 'IBM', format, url: vendor.url, ca: vendor.caPem }];
        const cacheFile = join(dir, `${format}.json`);
        const certificates = new VendorEkCertificates({ cacheFile });
        for (const [ek, file] of [[rsa, swtpm.ekCertificatePaths.rsa2048], [ecc, swtpm.ekCertificatePaths.eccP384]] as const) {
          const found = await certificates.certificate('IBM', ek, services);
          expect(Buffer.from(found.der)).toEqual(readFileSync(file));
          expect(found).toMatchObject({ kind: ek.kind, nvIndex: null, fetchedFrom: ekServiceUrl(services[0]!, ek.area).href });
          // tpm2-tools asks the same URL (offline, with the EK public as a TPM2B_PUBLIC file). Debian's
          // tpm2-tools 5.4 knows Intel's scheme only (AMD's came with -E in 5.6); the AMD key is checked
          // against the stand-in's own derivation from the certificate.
          if (format !== 'intel') continue;
          const publicFile = join(dir, `${format}-${ek.kind}.pub`);
          writeFileSync(publicFile, ek.public);
          const asked = vendor.requests.length;
          const out = join(dir, `${format}-${ek.kind}.crt`);
          // (5.4 opens a TCTI even offline: the lab TPM's, which it does not ask.)
          await exec('tpm2_getekcertificate', ['-X', '-x', '-u', publicFile, '-o', out, vendor.url], { env: { ...process.env, TPM2TOOLS_TCTI: swtpm.tcti } });
          expect(vendor.requests.slice(asked)).toEqual([new URL(found.fetchedFrom!).pathname]);
          expect(new X509Certificate(readFileSync(out)).raw).toEqual(readFileSync(file));
        }
        // Kept: asked again, the service is not.
        const asked = vendor.requests.length;
        expect(Buffer.from((await new VendorEkCertificates({ cacheFile }).certificate('IBM', ecc, services)).der)).toEqual(readFileSync(swtpm.ekCertificatePaths.eccP384));
        expect(vendor.requests.length).toBe(asked);
      } finally {
        await vendor.close();
      }
    });
  }

  it('says why there is none: no service for the manufacturer, none for this EK, a service away, a wrong answer', async () => {
    const vendor = await EkVendorService.start('amd');
    try {
      const services = [{ manufacturer: 'IBM', format: 'amd' as VendorFormat, url: vendor.url, ca: vendor.caPem }];
      const fresh = () => new VendorEkCertificates({ cacheFile: null });
      await expect(fresh().certificate('IBM', rsa, [])).rejects.toMatchObject({ code: 'EK_CERTIFICATE_NOT_AVAILABLE', message: expect.stringContaining('no EK certificate service is known for its manufacturer') });
      await expect(fresh().certificate('IBM', rsa, [{ ...services[0]!, url: null }])).rejects.toMatchObject({ code: 'EK_CERTIFICATE_NOT_AVAILABLE' });
      await expect(fresh().certificate('IBM', rsa, services)).rejects.toMatchObject({ code: 'EK_CERTIFICATE_NOT_AVAILABLE', message: expect.stringContaining('HTTP 404') });
      vendor.failure = 503;
      await expect(fresh().certificate('IBM', rsa, services)).rejects.toMatchObject({ code: 'EK_CERTIFICATE_SERVICE_UNREACHABLE', message: expect.stringContaining('HTTP 503') });
      vendor.failure = 'drop';
      await expect(fresh().certificate('IBM', rsa, services)).rejects.toMatchObject({ code: 'EK_CERTIFICATE_SERVICE_UNREACHABLE' });
      // Another TPM's certificate under this key's URL (a broken mirror): never sent as this EK's.
      vendor.failure = { body: readFileSync(swtpm.ekCertificatePaths.eccP384) };
      await expect(fresh().certificate('IBM', rsa, services)).rejects.toMatchObject({ code: 'EK_CERTIFICATE_SERVICE_INVALID', message: expect.stringContaining('another key') });
      vendor.failure = { body: Buffer.from('<html>proxy login</html>') };
      await expect(fresh().certificate('IBM', rsa, services)).rejects.toMatchObject({ code: 'EK_CERTIFICATE_SERVICE_INVALID', message: expect.stringContaining('not an X.509 certificate') });
      vendor.failure = { body: Buffer.alloc(200_000, 0x30) };
      await expect(fresh().certificate('IBM', rsa, services)).rejects.toMatchObject({ code: 'EK_CERTIFICATE_SERVICE_INVALID', message: expect.stringContaining('cut off') });
      // Its TLS certificate is not trusted without the entry's CA: no answer is taken from it.
      vendor.failure = null;
      await expect(fresh().certificate('IBM', rsa, [{ manufacturer: 'IBM', format: 'amd', url: vendor.url }])).rejects.toMatchObject({ code: 'EK_CERTIFICATE_SERVICE_UNREACHABLE', message: expect.stringContaining('certificate') });
    } finally {
      await vendor.close();
    }
  });
});

// Device certificates as the service writes them (DER by hand, signed by Node): what OpenSSL and
// the agent read — the device id as subject and URI, clientAuth, the key identifiers, a year's
// validity — and a chain OpenSSL verifies for a TLS client.
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createCa, issueDeviceCertificate, serialNumber, signingCa } from './pki.js';

describe('device certificates', () => {
  it('are issued for the request key by the device CA, as OpenSSL verifies for a TLS client', async () => {
    const ca = await createCa('Contoso device CA');
    const signer = signingCa(ca);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const id = '6f1c2d3e-0000-4000-8000-000000000001';
    const issued = issueDeviceCertificate(signer, id, spki);
    const certificate = new X509Certificate(issued.pem);
    const issuer = new X509Certificate(ca.certificatePem);
    expect(certificate.verify(issuer.publicKey)).toBe(true);
    expect(certificate.checkIssued(issuer)).toBe(true);
    expect(certificate.subject).toBe(`CN=${id}`);
    expect(certificate.subjectAltName).toBe(`URI:urn:uuid:${id}`);
    expect(certificate.serialNumber.toLowerCase()).toBe(issued.serialNumber);
    expect(certificate.publicKey.export({ type: 'spki', format: 'der' }).equals(Buffer.from(spki))).toBe(true);
    expect(certificate.ca).toBe(false);
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(new Date(certificate.validTo).getTime() - new Date(certificate.validFrom).getTime()).toBe(365 * 24 * 3600 * 1000);
    expect(Math.abs(new Date(certificate.validFrom).getTime() - (Date.now() - 60_000))).toBeLessThan(5_000);

    const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-pki-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
      writeFileSync(join(dir, 'device.pem'), issued.pem);
      expect(execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), '-purpose', 'sslclient', join(dir, 'device.pem')], { encoding: 'utf8' })).toBe(`${join(dir, 'device.pem')}: OK\n`);
      const text = execFileSync('openssl', ['x509', '-in', join(dir, 'device.pem'), '-noout', '-text'], { encoding: 'utf8' });
      expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/Key Usage: critical\s+Digital Signature/);
      const caKeyId = execFileSync('openssl', ['x509', '-in', join(dir, 'ca.pem'), '-noout', '-ext', 'subjectKeyIdentifier'], { encoding: 'utf8' }).split('\n')[1]!.trim();
      expect(text).toMatch(new RegExp(`Authority Key Identifier: \\s+(keyid:)?${caKeyId}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('have positive serial numbers without a leading zero byte', () => {
    for (let i = 0; i < 200; i++) expect(serialNumber()).toMatch(/^(0[1-9a-f]|[1-7][0-9a-f])[0-9a-f]{30}$/);
  });
});

// A TPM vendor's EK certificate service, on loopback, for tests of TPMs that keep no EK certificate
// in NV: it serves the certificates it is given under the URL scheme and in the answer format of
// Intel's service (…/ekcertservice/<base64url SHA-256 of the key>, JSON) or AMD's
// (…/pki/aia/<hex>, DER). The key part of each URL is computed here from the certificate's public
// key as the vendors describe it — not from the TPM's public area, as the agent does — so the two
// derivations check each other. It records every request and can be switched to failing.
import { X509Certificate, createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

import { createCa, issueServerCertificate } from '../backend/tenant/pki.js';

export type VendorFormat = 'intel' | 'amd';

const fromBase64url = (text: string) => Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
const toBase64url = (bytes: Buffer) => bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

/** The URL key of a certificate's public key at a service of `format` (from the key as X.509 holds it). */
export function vendorKeyOf(format: VendorFormat, der: Uint8Array): string {
  const jwk = new X509Certificate(der).publicKey.export({ format: 'jwk' });
  const rsa = jwk.kty === 'RSA';
  const parts = rsa ? [fromBase64url(jwk.n!)] : [fromBase64url(jwk.x!), fromBase64url(jwk.y!)];
  const exponent = rsa ? fromBase64url(jwk.e!) : Buffer.alloc(0);
  const hash = createHash('sha256');
  if (format === 'intel') {
    for (const part of parts) hash.update(part);
    if (rsa) hash.update(exponent);
    return encodeURIComponent(toBase64url(hash.digest()));
  }
  hash.update(Buffer.from(rsa ? [0, 0, 0x22, 0x22] : [0, 0, 0x44, 0x44]));
  if (rsa) hash.update(Buffer.concat([Buffer.alloc(4 - exponent.length), exponent]));
  for (const part of parts) hash.update(part);
  return hash.digest().subarray(0, 16).toString('hex');
}

export class EkVendorService {
  /** Paths asked for, in order. */
  readonly requests: string[] = [];
  /** What every request gets instead of the certificate: nothing (connection dropped), a status, or another body. */
  failure: 'drop' | number | { body: Buffer } | null = null;
  private readonly certificates = new Map<string, Uint8Array>();

  private constructor(
    private readonly server: Server,
    readonly format: VendorFormat,
    /** The service's TLS CA (PEM), for the profile entry's `ca`. */
    readonly caPem: string,
  ) {}

  static async start(format: VendorFormat): Promise<EkVendorService> {
    const ca = await createCa(`selfdeploy lab ${format} EK certificate service CA`, 1);
    const tls = await issueServerCertificate(ca, ['127.0.0.1'], 1);
    const holder: { service?: EkVendorService } = {};
    const server = createServer({ cert: tls.certificatePem + ca.certificatePem, key: tls.privateKeyPem }, (request, response) => holder.service!.answer(request.url ?? '', request.socket.destroy.bind(request.socket), response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.service = new EkVendorService(server, format, ca.certificatePem);
    return holder.service;
  }

  /** The base URL the profile names: Intel's or AMD's path under this server. */
  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.format === 'intel' ? '/ekcertservice/' : '/pki/aia/'}`;
  }

  /** Serves `der` (an EK certificate) at the URL its key derives. */
  add(der: Uint8Array): void {
    this.certificates.set(vendorKeyOf(this.format, der), der);
  }

  private answer(path: string, drop: () => void, response: ServerResponse): void {
    this.requests.push(path);
    const failure = this.failure;
    if (failure === 'drop') return drop();
    if (typeof failure === 'number') return void response.writeHead(failure).end();
    if (failure) return void response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(failure.body);
    const prefix = new URL(this.url).pathname;
    const der = path.startsWith(prefix) ? this.certificates.get(path.slice(prefix.length)) : undefined;
    if (!der) return void response.writeHead(404, { 'content-type': 'text/plain' }).end('no certificate for this key\n');
    if (this.format === 'amd') return void response.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(der);
    const key = path.slice(prefix.length);
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pubhash: key, certificate: toBase64url(Buffer.from(der)) }));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// EK certificates from the TPM vendor's service. Firmware TPMs (Intel PTT, AMD fTPM) mostly keep no
// EK certificate in NV; their vendors serve one per EK over HTTPS, at a URL derived from the EK's
// public key (protocol/profile.ts, EK_SERVICE_FORMATS, says how). The agent asks the service for its
// TPM's manufacturer — the profile names it, or the vendor's public default — checks the answer is a
// certificate for this very EK, keeps it in its state directory (a certificate never changes for an
// EK) and sends it as if read from NV. Whether the certificate is trusted is the deployment
// service's decision, against its trust anchors: the vendor's TLS only keeps the question private.
import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';

import { ekCertificateServiceFor, type EkCertificateService } from '../../protocol/profile.js';
import { ServiceProblem, exchange } from '../../protocol/node/https-client.js';
import { isRetryableStatus, isTransientNetworkError } from '../../protocol/retry.js';
import { TpmAlg } from '../../protocol/tpm/constants.js';
import { publicKeyJwk, type TpmtPublic } from '../../protocol/tpm/public.js';
import { toHex } from '../../protocol/encoding.js';
import type { EkCertificate, EndorsementKey } from '../tpm/port.js';
import { EnrollmentError } from './errors.js';
import { distinguishedName } from '../../protocol/node/certificate-names.js';

/** An EK certificate is a few kilobytes; Intel's JSON wraps one in base64. */
const ANSWER_MAX_BYTES = 64 * 1024;
const SILENCE_MS = 15_000;
const DEADLINE_MS = 30_000;

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
const u32 = (value: number) => Buffer.from([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);

/** The part of the URL that names this EK at a service of `format`. */
export function ekServiceKey(format: EkCertificateService['format'], ek: TpmtPublic): string {
  const hash = createHash('sha256');
  if (format === 'intel') {
    if (ek.type === TpmAlg.RSA) {
      if (ek.exponent !== 0 && ek.exponent !== 65537) throw new EnrollmentError('EK_CERTIFICATE_NOT_AVAILABLE', `the EK's RSA exponent ${ek.exponent} is not one the Intel service knows`);
      hash.update(ek.modulus).update(Buffer.from([0x01, 0x00, 0x01]));
    } else hash.update(ek.x).update(ek.y);
    // base64url with its padding, the padding URL-escaped (as curl_easy_escape does).
    return encodeURIComponent(base64url(hash.digest()));
  }
  if (ek.type === TpmAlg.RSA) hash.update(Buffer.from([0, 0, 0x22, 0x22])).update(u32(ek.exponent === 0 ? 65537 : ek.exponent)).update(ek.modulus);
  else hash.update(Buffer.from([0, 0, 0x44, 0x44])).update(ek.x).update(ek.y);
  return hash.digest().subarray(0, 16).toString('hex');
}

/** The URL of this EK's certificate at `service`. */
export function ekServiceUrl(service: EkCertificateService, ek: TpmtPublic): URL {
  const base = service.url!.endsWith('/') ? service.url! : `${service.url!}/`;
  return new URL(`${base}${ekServiceKey(service.format, ek)}`);
}

/** The DER certificate in a service's answer: Intel's JSON `certificate` (base64url, maybe URL-escaped), AMD's DER (or PEM). */
export function certificateOfAnswer(format: EkCertificateService['format'], body: Buffer): Uint8Array {
  const invalid = (why: string) => new EnrollmentError('EK_CERTIFICATE_SERVICE_INVALID', `the ${format === 'intel' ? 'Intel' : 'AMD'}-style EK certificate service answered ${why}`);
  let der: Buffer;
  if (format === 'intel') {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw invalid('with no JSON');
    }
    const text = (json as { certificate?: unknown } | null)?.certificate;
    if (typeof text !== 'string' || text.length === 0) throw invalid('with no "certificate"');
    const b64 = decodeURIComponent(text).replace(/-/g, '+').replace(/_/g, '/').replace(/\s/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw invalid('with a "certificate" that is not base64url');
    der = Buffer.from(b64, 'base64');
  } else {
    const text = body.toString('latin1');
    der = text.includes('-----BEGIN CERTIFICATE-----') ? Buffer.from(text.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''), 'base64') : body;
  }
  try {
    new X509Certificate(der);
  } catch {
    throw invalid('with something that is not an X.509 certificate');
  }
  return new Uint8Array(der);
}

/** Whether the certificate's key is the EK. */
export function certifiesEk(der: Uint8Array, ek: TpmtPublic): boolean {
  const spki = (key: ReturnType<typeof createPublicKey>) => key.export({ format: 'der', type: 'spki' });
  try {
    return spki(new X509Certificate(der).publicKey).equals(spki(createPublicKey({ key: publicKeyJwk(ek), format: 'jwk' })));
  } catch {
    return false;
  }
}

interface Cached {
  ekDigest: string;
  url: string;
  der: string;
}

export interface VendorEkCertificatesOptions {
  /** The file the fetched certificate is kept in (STATE/ek-certificate.json); null: kept nowhere (selfdeploy tpm info). */
  cacheFile: string | null;
  log?: (event: string, detail?: Record<string, unknown>) => void;
}

/** Asks a TPM vendor's EK certificate service, once per EK: what it answered stays in the state directory. */
export class VendorEkCertificates {
  constructor(private readonly options: VendorEkCertificatesOptions) {}

  /** The certificate fetched for `ek` before, if any (and still one of this EK). */
  cached(ek: Pick<EndorsementKey, 'kind' | 'digest' | 'area'>): EkCertificate | undefined {
    if (this.options.cacheFile === null) return undefined;
    try {
      const cached = JSON.parse(readFileSync(this.options.cacheFile, 'utf8')) as Cached;
      const der = new Uint8Array(Buffer.from(cached.der, 'base64'));
      if (cached.ekDigest === toHex(ek.digest) && certifiesEk(der, ek.area)) return { kind: ek.kind, nvIndex: null, fetchedFrom: cached.url, der };
    } catch {
      // none yet, or damaged: asked again
    }
    return undefined;
  }

  private keep(ek: Pick<EndorsementKey, 'digest'>, url: string, der: Uint8Array): void {
    if (this.options.cacheFile === null) return;
    mkdirSync(dirname(this.options.cacheFile), { recursive: true, mode: 0o700 });
    const temporary = `${this.options.cacheFile}.tmp`;
    writeFileSync(temporary, JSON.stringify({ ekDigest: toHex(ek.digest), url, der: Buffer.from(der).toString('base64') } satisfies Cached) + '\n', { mode: 0o600 });
    renameSync(temporary, this.options.cacheFile);
  }

  /**
   * The certificate of `ek` from the service for `manufacturer` (the profile's, else the vendor's
   * default). EK_CERTIFICATE_NOT_AVAILABLE when there is no service or it has none;
   * EK_CERTIFICATE_SERVICE_UNREACHABLE (retryable: the engine waits it out like the deployment
   * service) when it cannot be reached or fails; EK_CERTIFICATE_SERVICE_INVALID for an answer that
   * is no certificate of this EK.
   */
  async certificate(manufacturer: string, ek: EndorsementKey, services: readonly EkCertificateService[]): Promise<EkCertificate> {
    const cached = this.cached(ek);
    if (cached) return cached;
    const service = ekCertificateServiceFor(manufacturer, services);
    if (!service) throw new EnrollmentError('EK_CERTIFICATE_NOT_AVAILABLE', `the TPM (manufacturer ${manufacturer || 'unknown'}) keeps no EK certificate, and no EK certificate service is known for its manufacturer`);
    const url = ekServiceUrl(service, ek.area);
    this.options.log?.('ek-certificate.fetch', { url: url.href, format: service.format });
    const agent = new Agent({ ...(service.ca ? { ca: [...rootCertificates, service.ca] } : {}), keepAlive: false });
    let answer;
    try {
      answer = await exchange({ method: 'GET', url, headers: { accept: service.format === 'intel' ? 'application/json' : 'application/pkix-cert, */*' }, agent, timeoutMs: SILENCE_MS, deadlineMs: DEADLINE_MS, maxBytes: ANSWER_MAX_BYTES });
    } catch (error) {
      if (error instanceof ServiceProblem) throw new EnrollmentError('EK_CERTIFICATE_SERVICE_INVALID', `the EK certificate service at ${url.origin}: ${error.message}`);
      const code = (error as NodeJS.ErrnoException).code ?? '';
      const why = `${code ? `${code}: ` : ''}${(error as Error).message}`;
      throw new EnrollmentError('EK_CERTIFICATE_SERVICE_UNREACHABLE', `cannot reach the EK certificate service at ${url.origin} (${why})${isTransientNetworkError(code) ? '' : '; check the device can reach it over HTTPS'}`);
    } finally {
      agent.destroy();
    }
    if (answer.status === 404) throw new EnrollmentError('EK_CERTIFICATE_NOT_AVAILABLE', `the EK certificate service at ${url.origin} has no certificate for this TPM's EK (HTTP 404)`);
    if (isRetryableStatus(answer.status)) throw new EnrollmentError('EK_CERTIFICATE_SERVICE_UNREACHABLE', `the EK certificate service at ${url.origin} answered HTTP ${answer.status}`);
    if (answer.status !== 200) throw new EnrollmentError('EK_CERTIFICATE_SERVICE_INVALID', `the EK certificate service at ${url.origin} answered HTTP ${answer.status}`);
    const der = certificateOfAnswer(service.format, answer.body ?? Buffer.alloc(0));
    if (!certifiesEk(der, ek.area)) throw new EnrollmentError('EK_CERTIFICATE_SERVICE_INVALID', `the EK certificate service at ${url.origin} answered with a certificate for another key than this TPM's EK`);
    this.keep(ek, url.href, der);
    this.options.log?.('ek-certificate.fetched', { url: url.href, subject: distinguishedName(new X509Certificate(der).subject) || '(empty)' });
    return { kind: ek.kind, nvIndex: null, fetchedFrom: url.href, der };
  }
}

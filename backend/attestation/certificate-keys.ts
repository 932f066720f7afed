// Device certificate keys by serial number, for token requests: a client assertion is verified
// with the key of the device's live certificate, and parsing the certificate for it on every
// request would cost more than the check. The most recently used stay; bounded by count — each
// key holds about 4 KB of OpenSSL memory outside the JS heap (the soak benchmark measured it) — so
// a large fleet does not grow the service; a key that fell out is parsed again from its
// certificate. A join keeps the new certificate's key, as its token request follows at once.
import { X509Certificate, type KeyObject } from 'node:crypto';

/** How many device certificate keys the service keeps parsed (about 4 MB). */
export const CERTIFICATE_KEY_CACHE = 1000;

export class CertificateKeys {
  private readonly keys = new Map<string, KeyObject>();

  /** The key of the certificate with this serial number (PEM given, parsed only when not kept). */
  of(serialNumber: string, pem: string): KeyObject {
    const key = this.keys.get(serialNumber) ?? new X509Certificate(pem).publicKey;
    this.keep(serialNumber, key);
    return key;
  }

  /** Keeps a certificate's key as the most recently used, the least recently used out when full. */
  keep(serialNumber: string, key: KeyObject): void {
    if (!this.keys.delete(serialNumber) && this.keys.size >= CERTIFICATE_KEY_CACHE) this.keys.delete(this.keys.keys().next().value!);
    this.keys.set(serialNumber, key);
  }
}

// The intermediates an EK chain may need besides the trust anchors: those the device sent (the
// TPM's chain NV indices), and those an EK certificate names in its Authority Information Access
// (caIssuers URL) — fetched only from hosts the tenant allows (`aiaHosts`), bounded in time and
// size, and kept in the database so every replica shares what one fetched. What is fetched is no
// more trusted than what the device sends: a chain is trusted only when it reaches an anchor, every
// signature valid.
import 'reflect-metadata';

import * as x509 from '@peculiar/x509';

import { exchange } from '../../protocol/node/https-client.js';
import type { Store } from '../store/store.js';
import '../tenant/pki.js'; // registers Node's WebCrypto with @peculiar/x509

const ANSWER_MAX_BYTES = 64 * 1024;
const DEADLINE_MS = 10_000;
/** Links fetched for one chain at most. */
const MAX_LINKS = 4;

/** The caIssuers URLs of a certificate's Authority Information Access, http(s) only. */
export function caIssuerUrls(certificate: x509.X509Certificate): string[] {
  const aia = certificate.getExtension<x509.AuthorityInfoAccessExtension>('1.3.6.1.5.5.7.1.1');
  return (aia?.caIssuers ?? []).filter((name) => name.type === 'url' && /^https?:\/\//i.test(name.value)).map((name) => name.value);
}

/** Whether `url`'s host is one the tenant lets the service fetch issuers from ("pki.example.com", or "host:port"). */
export function aiaHostAllowed(url: string, allowed: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.hostname.toLowerCase();
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e === host || e === parsed.host.toLowerCase();
  });
}

/** One GET of a certificate (DER, or PEM), bounded; null when it does not come. */
async function fetchCertificate(url: string): Promise<Uint8Array | null> {
  try {
    const answer = await exchange({ method: 'GET', url: new URL(url), headers: { accept: 'application/pkix-cert, */*' }, timeoutMs: DEADLINE_MS, deadlineMs: DEADLINE_MS, maxBytes: ANSWER_MAX_BYTES });
    return answer.status === 200 && answer.body ? parseCertificate(answer.body) : null;
  } catch {
    return null; // away, too slow or too large: the chain is judged without it
  }
}

function parseCertificate(bytes: Buffer): Uint8Array | null {
  try {
    const text = bytes.toString('latin1');
    const certificate = text.includes('-----BEGIN CERTIFICATE-----') ? new x509.X509Certificate(text.slice(text.indexOf('-----BEGIN CERTIFICATE-----'))) : new x509.X509Certificate(bytes);
    return new Uint8Array(certificate.rawData);
  } catch {
    return null;
  }
}

/**
 * The issuers to add for `leaf`: following caIssuers from the leaf upwards while a certificate's
 * issuer is neither among `known` nor fetched yet — from the database first, else from its URL
 * when the host is allowed.
 */
export async function fetchedIssuers(store: Store, leaf: x509.X509Certificate, known: readonly x509.X509Certificate[], allowedHosts: readonly string[]): Promise<Uint8Array[]> {
  const found: Uint8Array[] = [];
  const subjects = new Set(known.map((c) => c.subject));
  let current = leaf;
  for (let link = 0; link < MAX_LINKS && !subjects.has(current.issuer) && current.subject !== current.issuer; link++) {
    const url = caIssuerUrls(current).find((u) => aiaHostAllowed(u, allowedHosts));
    if (!url) break;
    let der = await store.trustAnchors.fetchedIssuer(url);
    if (!der) {
      der = await fetchCertificate(url);
      if (!der) break;
      await store.trustAnchors.keepFetchedIssuer(url, der);
    }
    const issuer = new x509.X509Certificate(der);
    found.push(der);
    subjects.add(issuer.subject);
    current = issuer;
  }
  return found;
}

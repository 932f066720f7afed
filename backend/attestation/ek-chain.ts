// The EK certificate's chain to a trust anchor, through the intermediates the TPM sent (its chain
// NV indices) and those its caIssuers URLs give (fetched from the tenant's aiaHosts and kept in the
// database: issuers.ts); verified with Node's X.509 (verify.ts).
import 'reflect-metadata';

import * as x509 from '@peculiar/x509';

import type { TenantSettings } from '../../protocol/api/admin.js';
import type { TpmtPublic } from '../../protocol/tpm/public.js';
import type { Store } from '../store/store.js';
import type { TrustAnchor } from '../store/trust-anchors.js';
import { fetchedIssuers } from './issuers.js';
import { bytesOf, verifyEkCertificate } from './verify.js';

/** A certificate (PEM or DER) parsed, or none when it does not parse. */
function parsedCertificate(certificate: string | Uint8Array): x509.X509Certificate[] {
  try {
    return [new x509.X509Certificate(certificate)];
  } catch {
    return [];
  }
}

/** The fingerprints of the anchors the chain went through; EK_CERTIFICATE_* when it does not hold. */
export async function verifiedEkChain(store: Store, certificate: Uint8Array, ek: TpmtPublic, anchors: readonly TrustAnchor[], settings: TenantSettings, sent: readonly string[] = []): Promise<string[]> {
  const pems = anchors.flatMap((a) => (a.pem ? [a.pem] : []));
  const intermediates = sent.map((text, i) => bytesOf(`ek.chain.${i}`, text));
  if (settings.aiaHosts.length) {
    try {
      const leaf = new x509.X509Certificate(certificate);
      const known = [...pems, ...intermediates].flatMap(parsedCertificate);
      intermediates.push(...(await fetchedIssuers(store, leaf, known, settings.aiaHosts)));
    } catch {
      // a certificate that does not parse: verifyEkCertificate says so
    }
  }
  return verifyEkCertificate(certificate, ek, pems, new Date(), settings.ekIssuerValidity, intermediates);
}

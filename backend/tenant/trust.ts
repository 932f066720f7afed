// Adding TPM trust anchors: CA certificates only (EK chains end in a manufacturer CA), currently
// valid, each once.
import { ServiceError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { TrustAnchor } from '../store/trust-anchors.js';
import { certificateFacts, splitPem, type CertificateFacts } from './pki.js';

/** The CA certificates of a PEM text, each checked: parses, is a CA, is valid now. */
export function parseCertificateAnchors(pemText: string, source = 'the PEM text'): CertificateFacts[] {
  const pems = splitPem(pemText);
  if (pems.length === 0) throw new ServiceError('TRUST_ANCHOR_INVALID', `${source} holds no PEM certificate`);
  const facts = pems.map((pem, i) => {
    let f;
    try {
      f = certificateFacts(pem);
    } catch {
      throw new ServiceError('TRUST_ANCHOR_INVALID', `certificate ${i + 1} of ${source} does not parse`);
    }
    if (!f.isCa) throw new ServiceError('TRUST_ANCHOR_INVALID', `${f.subject} (${source}) is not a CA certificate`);
    if (!f.validNow) throw new ServiceError('TRUST_ANCHOR_INVALID', `${f.subject} (${source}) is not valid now (expires ${f.notAfter})`);
    return f;
  });
  return facts;
}

export async function addCertificateAnchors(store: Store, facts: readonly CertificateFacts[], label?: string): Promise<TrustAnchor[]> {
  // All or nothing: refuse before adding any when one is already there.
  const known = new Set((await store.trustAnchors.list()).map((a) => a.fingerprint));
  const repeated = facts.find((f, i) => known.has(f.fingerprint) || facts.findIndex((g) => g.fingerprint === f.fingerprint) !== i);
  if (repeated) throw new ServiceError('NAME_TAKEN', `${repeated.subject} is already a trust anchor`);
  const added: TrustAnchor[] = [];
  for (const f of facts) {
    added.push(await store.trustAnchors.addCertificate({ label: label ?? f.subject, pem: f.pem, subject: f.subject, fingerprint: f.fingerprint, notAfter: f.notAfter }));
  }
  return added;
}

// Adding TPM trust anchors as vendors publish them: bundles of PEM or DER files, often the same
// certificate under two names, sometimes with intermediates that have expired. Every certificate
// must be a CA's (EK chains end in a manufacturer CA) and parse — a file that holds anything else
// refuses the import, naming the file. The same certificate is stored once, whatever its names or
// how often it is added. An expired (or not yet valid) CA is reported by name and, as the tenant's
// `ekIssuerValidity` says, kept ("at-issuance": it still vouches for the TPMs it certified while
// valid) or left out ("now"): one expired file never fails the import.
import { X509Certificate } from 'node:crypto';

import type { TenantSettings } from '../../protocol/api/admin.js';
import { ServiceError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { TrustAnchor } from '../store/trust-anchors.js';
import { certificateFacts, splitPem, type CertificateFacts } from './pki.js';

/** One file of a bundle: its name (for messages) and its bytes (PEM, one or more certificates, or DER). */
export interface AnchorFile {
  name: string;
  bytes: Buffer;
}

/** What became of one certificate of an import. */
export interface AnchorOutcome {
  file: string;
  subject: string;
  fingerprint: string;
  outcome: 'added' | 'added, expired' | 'left out, expired' | 'already trusted' | 'duplicate';
  /** For a duplicate: the file that holds the same certificate; for an expired one: when it expired. */
  detail: string | null;
}

export interface ParsedAnchor {
  file: string;
  facts: CertificateFacts;
}

/** The certificates of the files: every one a CA's that parses, or TRUST_ANCHOR_INVALID naming each file that is not. */
export function parseAnchorFiles(files: readonly AnchorFile[]): ParsedAnchor[] {
  if (files.length === 0) throw new ServiceError('TRUST_ANCHOR_INVALID', 'no certificate files were given');
  const parsed: ParsedAnchor[] = [];
  const refused: string[] = [];
  for (const file of files) {
    const text = file.bytes.toString('latin1');
    const pems = splitPem(text);
    const blocks: (string | Buffer)[] = pems.length ? pems : text.includes('-----BEGIN') ? [] : [file.bytes];
    if (blocks.length === 0) {
      refused.push(`${file.name}: holds no certificate (PEM or DER)`);
      continue;
    }
    blocks.forEach((block, index) => {
      const which = blocks.length > 1 ? `${file.name} (certificate ${index + 1})` : file.name;
      let facts: CertificateFacts;
      try {
        facts = certificateFacts(typeof block === 'string' ? block : new X509Certificate(block).toString());
      } catch {
        refused.push(`${which}: ${typeof block === 'string' ? 'a PEM block that does not parse as a certificate' : 'neither PEM nor a DER certificate'}`);
        return;
      }
      if (!facts.isCa) refused.push(`${which}: ${facts.subject} is not a CA certificate (EK certificates are registered with their devices, not trusted)`);
      else parsed.push({ file: file.name, facts });
    });
  }
  if (refused.length) throw new ServiceError('TRUST_ANCHOR_INVALID', `nothing was added: ${refused.join('; ')}`);
  return parsed;
}

/** The certificates of one PEM text (the API's `pem` body): as a file named "the PEM text". */
export function parseCertificateAnchors(pemText: string, source = 'the PEM text'): ParsedAnchor[] {
  return parseAnchorFiles([{ name: source, bytes: Buffer.from(pemText, 'utf8') }]);
}

/**
 * Adds what is new: each certificate once (a second copy is a duplicate, one the store has is
 * already trusted), expired ones as `validity` says. Returns the anchors added and every
 * certificate's outcome.
 */
export async function addCertificateAnchors(store: Store, anchors: readonly ParsedAnchor[], options: { label?: string | undefined; validity: TenantSettings['ekIssuerValidity'] }): Promise<{ added: TrustAnchor[]; outcomes: AnchorOutcome[] }> {
  const known = new Set((await store.trustAnchors.list()).map((a) => a.fingerprint));
  const seen = new Map<string, string>();
  const added: TrustAnchor[] = [];
  const outcomes: AnchorOutcome[] = [];
  for (const { file, facts } of anchors) {
    const base = { file, subject: facts.subject, fingerprint: facts.fingerprint };
    const earlier = seen.get(facts.fingerprint);
    if (earlier !== undefined) {
      outcomes.push({ ...base, outcome: 'duplicate', detail: `the same certificate as ${earlier}` });
      continue;
    }
    seen.set(facts.fingerprint, file);
    if (known.has(facts.fingerprint)) {
      outcomes.push({ ...base, outcome: 'already trusted', detail: null });
      continue;
    }
    const expired = facts.validNow ? null : `valid ${facts.notBefore} to ${facts.notAfter}`;
    if (expired && options.validity === 'now') {
      outcomes.push({ ...base, outcome: 'left out, expired', detail: `${expired}; the tenant checks EK chains as of now (settings set --ek-issuer-validity at-issuance keeps expired vendor CAs)` });
      continue;
    }
    added.push(await store.trustAnchors.addCertificate({ label: options.label ?? facts.subject, pem: facts.pem, subject: facts.subject, fingerprint: facts.fingerprint, notAfter: facts.notAfter }));
    outcomes.push({ ...base, outcome: expired ? 'added, expired' : 'added', detail: expired });
  }
  return { added, outcomes };
}

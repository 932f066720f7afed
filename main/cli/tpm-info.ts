// `selfdeploy tpm info`: what a technician needs to know about a device's TPM — who made it,
// its firmware, its PCR banks, and its endorsement keys with their certificates and digests.
import { X509Certificate } from 'node:crypto';

import { toHex } from '../../protocol/encoding.js';
import type { EkCertificate, EndorsementKey } from '../tpm/port.js';
import { Tpm, type TpmInfo } from '../tpm/tpm.js';
import { ekProfile } from '../tpm/templates.js';
import type { CliIo } from '../../protocol/errors/report.js';
import type { EkCertificateService } from '../../protocol/profile.js';
import type { VendorEkCertificates } from '../enrollment/vendor-ek-certificates.js';
import { distinguishedName } from '../../protocol/node/certificate-names.js';

export interface EndorsementReport {
  kind: EndorsementKey['kind'];
  primary: boolean;
  persistent: boolean;
  persistentHandle: string;
  publicDigest: string;
  certificate: {
    /** The NV index it was read from, or null when it came from the vendor's service (fetchedFrom). */
    nvIndex: string | null;
    fetchedFrom: string | null;
    pem: string;
    subject: string;
    issuer: string;
    serialNumber: string;
    notBefore: string;
    notAfter: string;
  } | null;
}

export interface TpmReport extends Omit<TpmInfo, 'manufacturerId' | 'firmwareVersionRaw'> {
  manufacturerId: string;
  firmwareVersionRaw: [string, string];
  endorsementKeys: EndorsementReport[];
}

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

function describeCertificate(cert: EkCertificate): NonNullable<EndorsementReport['certificate']> {
  const x509 = new X509Certificate(cert.der);
  return {
    nvIndex: cert.nvIndex === null ? null : hex32(cert.nvIndex),
    fetchedFrom: cert.fetchedFrom ?? null,
    pem: x509.toString(),
    subject: distinguishedName(x509.subject) || '(empty)',
    issuer: distinguishedName(x509.issuer),
    serialNumber: x509.serialNumber,
    notBefore: new Date(x509.validFrom).toISOString(),
    notAfter: new Date(x509.validTo).toISOString(),
  };
}

/** Asks the TPM vendor's EK certificate service for a TPM that keeps no certificate in NV. */
export interface FetchEkCertificate {
  vendor: VendorEkCertificates;
  /** The services to ask, given the TPM's manufacturer (a --ek-service mirror stands for it). */
  services: (manufacturer: string) => EkCertificateService[];
}

export async function collectTpmReport(tpm: Tpm, fetch?: FetchEkCertificate): Promise<TpmReport> {
  const info = await tpm.info();
  const certificates = await tpm.ekCertificates();
  const primary = await tpm.primaryEk(certificates);
  // The offline route: a technician fetches the certificate once, the administrator registers it.
  if (fetch && !primary.certificate) certificates.push(await fetch.vendor.certificate(info.manufacturer, primary.ek, fetch.services(info.manufacturer)));
  const keys: EndorsementReport[] = [];
  const kinds = certificates.length > 0 ? certificates.map((c) => c.kind) : [primary.ek.kind];
  for (const kind of kinds) {
    const ek = kind === primary.ek.kind ? primary.ek : await tpm.ekPublic(kind);
    const certificate = certificates.find((c) => c.kind === kind);
    keys.push({
      kind,
      primary: kind === primary.ek.kind,
      persistent: ek.persistent,
      persistentHandle: hex32(ekProfile(kind).persistentHandle),
      publicDigest: toHex(ek.digest),
      certificate: certificate ? describeCertificate(certificate) : null,
    });
  }
  return {
    ...info,
    manufacturerId: hex32(info.manufacturerId),
    firmwareVersionRaw: [hex32(info.firmwareVersionRaw[0]), hex32(info.firmwareVersionRaw[1])],
    endorsementKeys: keys,
  };
}

export function formatTpmReport(report: TpmReport): string {
  const revision = `${Math.floor(report.specRevision / 100)}.${String(report.specRevision % 100).padStart(2, '0')}`;
  const lines = [
    `TPM            ${report.manufacturer} (${report.manufacturerId})${report.vendor ? `, ${report.vendor}` : ''}`,
    `TCTI           ${report.tcti}`,
    `Firmware       ${report.firmwareVersion} (${report.firmwareVersionRaw.join(' ')})`,
    `Specification  TPM ${report.family}, level ${report.specLevel}, revision ${revision} (${report.specDate.year}, day ${report.specDate.dayOfYear})`,
    `PCR banks      ${report.pcrBanks.map((b) => `${b.name} (${b.pcrs.length} PCRs)`).join(', ') || 'none'}`,
  ];
  for (const ek of report.endorsementKeys) {
    lines.push(
      '',
      `Endorsement key ${ek.kind}${ek.primary ? ' (used for attestation)' : ''}`,
      `  Handle            ${ek.persistent ? `persistent ${ek.persistentHandle}` : 'not persistent (created from the TCG template)'}`,
      `  EK public digest  ${ek.publicDigest}`,
    );
    if (!ek.certificate) {
      lines.push("  Certificate       none in NV: the agent asks the TPM vendor's service for one (selfdeploy tpm info --fetch-ek-certificate shows it); else this TPM can only be trusted through an EK allow-list");
      continue;
    }
    const c = ek.certificate;
    lines.push(
      `  Certificate       ${c.nvIndex === null ? `from ${c.fetchedFrom ?? "the vendor's service"}` : `NV ${c.nvIndex}`}, serial ${c.serialNumber}`,
      `    Subject         ${c.subject}`,
      `    Issuer          ${c.issuer}`,
      `    Valid           ${c.notBefore} to ${c.notAfter}`,
      c.pem.trimEnd(),
    );
  }
  return lines.join('\n') + '\n';
}

export async function tpmInfo(options: { tcti?: string; json: boolean; fetch?: FetchEkCertificate }, io: CliIo): Promise<void> {
  const tpm = await Tpm.open(options.tcti === undefined ? {} : { tcti: options.tcti });
  try {
    const report = await collectTpmReport(tpm, options.fetch);
    io.stdout(options.json ? JSON.stringify(report, null, 2) + '\n' : formatTpmReport(report));
  } finally {
    await tpm.close();
  }
}

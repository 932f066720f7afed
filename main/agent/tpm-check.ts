// The TPM check of `selfdeploy tpm check` and the ESP's diagnostics panel: will this device pass
// "Securing your hardware"? — asked before anyone registers it. Each line is one condition
// attestation needs, with its catalogue code and remedy when it does not hold: a TPM 2.0 that
// answers; hierarchies without passwords and no dictionary-attack lockout; an EK certificate (NV,
// or the vendor's service); with the service, its verdict on it (POST /v1/attest/ek-check:
// registers and changes nothing) and the device's clock against the service's.
import { X509Certificate } from 'node:crypto';

import { catalogueEntry, type ErrorCode } from '../../protocol/errors/catalogue.js';
import { distinguishedName } from '../../protocol/node/certificate-names.js';
import type { EkCertificateService } from '../../protocol/profile.js';
import { base64Encode } from '../../protocol/encoding.js';
import { DeviceApi } from '../backend-client/device-api.js';
import { MAX_CLOCK_SKEW_MS } from '../deploy/steps/network.js';
import { EnrollmentError } from '../enrollment/errors.js';
import type { VendorEkCertificates } from '../enrollment/vendor-ek-certificates.js';
import { tpmReport, type IdentitySource } from '../identity/identity.js';
import type { EkCertificate } from '../tpm/port.js';
import { Tpm } from '../tpm/tpm.js';

export type CheckName = 'tpm' | 'usable' | 'ek-certificate' | 'trusted' | 'clock';

export interface CheckLine {
  check: CheckName;
  /** "skipped": not asked (no --server), or not reachable after an earlier failure. */
  status: 'pass' | 'fail' | 'skipped';
  message: string;
  code: ErrorCode | null;
  remedy: string | null;
}

export interface TpmCheckOptions {
  tcti?: string;
  /** A TPM the agent has open already (the diagnostics panel): checked, not closed. */
  tpm?: Tpm;
  /** Ask the vendor's EK certificate service (else only a certificate fetched before counts). */
  askVendor?: boolean;
  /** The deployment service to ask (with its CA); without it the service's lines are skipped. */
  service?: { server: URL; ca: string };
  vendor: VendorEkCertificates;
  services: (manufacturer: string) => EkCertificateService[];
  identity: IdentitySource;
}


const pass = (check: CheckName, message: string): CheckLine => ({ check, status: 'pass', message, code: null, remedy: null });
const fail = (check: CheckName, code: ErrorCode, message: string): CheckLine => ({ check, status: 'fail', message, code, remedy: catalogueEntry(code).remedy });
const skip = (check: CheckName, message: string): CheckLine => ({ check, status: 'skipped', message, code: null, remedy: null });
const codeOf = (error: unknown): ErrorCode => ((error as { code?: unknown }).code as ErrorCode | undefined) ?? 'AGENT_INTERNAL';

/** Every line, in order; a TPM that does not answer skips the rest. */
export async function runTpmCheck(options: TpmCheckOptions): Promise<CheckLine[]> {
  let tpm: Tpm;
  try {
    tpm = options.tpm ?? (await Tpm.open(options.tcti === undefined ? {} : { tcti: options.tcti }));
  } catch (error) {
    const rest = (['usable', 'ek-certificate', 'trusted', 'clock'] as const).map((c) => skip(c, 'no TPM to check'));
    return [fail('tpm', codeOf(error), (error as Error).message), ...rest];
  }
  try {
    const lines: CheckLine[] = [];
    const info = await tpm.info();
    if (info.family !== '2.0') {
      return [fail('tpm', 'TPM_UNAVAILABLE', `the TPM is family ${info.family}, not 2.0`), ...(['usable', 'ek-certificate', 'trusted', 'clock'] as const).map((c) => skip(c, 'not a TPM 2.0'))];
    }
    lines.push(pass('tpm', `${info.manufacturer}${info.vendor ? ` (${info.vendor})` : ''}, firmware ${info.firmwareVersion}, on ${info.tcti}`));
    const state = await tpm.usability();
    if (state.inLockout) lines.push(fail('usable', 'TPM_IN_LOCKOUT', `dictionary-attack lockout (${state.lockoutCounter} of ${state.maxAuthFail} failures; it recovers one every ${state.lockoutRecoverySeconds} s)`));
    else if (state.ownerAuthSet || state.endorsementAuthSet) lines.push(fail('usable', 'TPM_OWNED', `the ${[state.ownerAuthSet && 'owner', state.endorsementAuthSet && 'endorsement'].filter(Boolean).join(' and ')} hierarchy has a password`));
    else lines.push(pass('usable', `no hierarchy password; ${state.lockoutCounter} of ${state.maxAuthFail} authorization failures counted`));

    let primary;
    try {
      primary = await tpm.primaryEk();
    } catch (error) {
      lines.push(fail('ek-certificate', codeOf(error), `the endorsement key could not be made: ${(error as Error).message}`));
      return [...lines, skip('trusted', 'no endorsement key'), await clockLine(options)];
    }
    let certificate: EkCertificate | undefined = primary.certificate;
    let certificateLine: CheckLine;
    if (certificate) {
      certificateLine = pass('ek-certificate', `${primary.ek.kind}, in NV ${`0x${certificate.nvIndex!.toString(16).padStart(8, '0')}`}, issued by ${distinguishedName(new X509Certificate(certificate.der).issuer)}`);
    } else {
      try {
        certificate = options.askVendor === false ? options.vendor.cached(primary.ek) : undefined;
        if (!certificate && options.askVendor === false) throw new EnrollmentError('EK_CERTIFICATE_NOT_AVAILABLE', "none fetched from the vendor's service yet (selfdeploy tpm check asks it)");
        certificate ??= await options.vendor.certificate(info.manufacturer, primary.ek, options.services(info.manufacturer));
        certificateLine = pass('ek-certificate', `${primary.ek.kind}, none in NV; from ${certificate.fetchedFrom ?? "the vendor's service"}, issued by ${distinguishedName(new X509Certificate(certificate.der).issuer)}`);
      } catch (error) {
        certificateLine = fail('ek-certificate', codeOf(error), `${primary.ek.kind}, none in NV; ${(error as Error).message}`);
      }
    }
    if (!options.service) {
      lines.push(certificateLine, skip('trusted', 'give --server and --ca to ask the service'), skip('clock', 'give --server and --ca to compare'));
      return lines;
    }
    const api = new DeviceApi({ server: options.service.server, ca: options.service.ca, timeoutMs: 15_000 });
    try {
      const report = await tpmReport(tpm, options.identity);
      let trusted: CheckLine;
      try {
        const chain = await tpm.ekChainCertificates();
        const verdict = await api.checkEk({ ek: { public: base64Encode(primary.ek.public), ...(certificate ? { certificate: base64Encode(certificate.der) } : {}), ...(chain.length ? { chain: chain.map(base64Encode) } : {}) }, tpm: report });
        if (verdict.verdict === 'refused') trusted = fail('trusted', (verdict.code ?? 'EK_NOT_TRUSTED') as ErrorCode, verdict.detail);
        else trusted = pass('trusted', verdict.verdict === 'trusted' ? `${verdict.detail}${verdict.anchors.length > 1 ? ` (through ${verdict.anchors.slice(0, -1).join(', ')})` : ''}` : verdict.detail);
        // An EK the service allow-lists needs no certificate: its absence is then no failure.
        if (verdict.verdict === 'allow-listed' && certificateLine.status === 'fail') certificateLine = pass('ek-certificate', `${certificateLine.message} — the service allow-lists this EK`);
      } catch (error) {
        trusted = fail('trusted', codeOf(error), (error as Error).message);
      }
      lines.push(certificateLine, trusted, await clockLine(options, api));
    } finally {
      api.close();
    }
    return lines;
  } finally {
    if (!options.tpm) await tpm.close();
  }
}

async function clockLine(options: TpmCheckOptions, api?: DeviceApi): Promise<CheckLine> {
  if (!options.service || !api) return skip('clock', options.service ? 'not compared' : 'give --server and --ca to compare');
  try {
    const probe = await api.probe();
    if (!probe.date) return fail('clock', 'SERVICE_RESPONSE_INVALID', 'the service sent no Date header');
    // The Date header has whole seconds and left the service half a round trip ago.
    const skew = Date.now() - (Date.parse(probe.date) + probe.roundTripMs / 2);
    const text = `${Math.abs(Math.round(skew / 1000))} s ${skew >= 0 ? 'ahead of' : 'behind'} the service`;
    return Math.abs(skew) > MAX_CLOCK_SKEW_MS + 1000 ? fail('clock', 'CLOCK_SKEW', text) : pass('clock', text);
  } catch (error) {
    return fail('clock', codeOf(error), (error as Error).message);
  }
}

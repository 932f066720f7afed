// Certificates: trusted roots into the system CA store (/usr/local/share/ca-certificates, then
// update-ca-certificates), and device client certificates — a key made in the TPM, certified by
// the device key, issued by the service — kept as /etc/selfdeploy/certificates/NAME.crt with the
// key as a TSS2 PRIVATE KEY file beside it (its private part wrapped by the TPM: useless elsewhere).
import { X509Certificate, createPublicKey } from 'node:crypto';

import type { ItemBody } from '../../protocol/items.js';
import { publicKeyJwk, parseTpm2bPublic } from '../../protocol/tpm/public.js';
import type { ApplyContext } from './port.js';
import { parseTss2PrivateKeyPem, tss2PrivateKeyDer } from '../../protocol/tpm/key-file.js';
import { ItemError, safe, textOf, type Plan } from './placed.js';
import { placePath } from '../target/places.js';
import type { TargetPort } from '../target/port.js';

export function trustedRootPath(name: string): string {
  return placePath('trustedRoot', { name: safe(name, 'certificate') });
}

export function clientCertificatePaths(name: string): { certificate: string; chain: string; key: string; keyDer: string } {
  const values = { name: safe(name, 'certificate') };
  return { certificate: placePath('clientCertificate', values), chain: placePath('clientChain', values), key: placePath('clientKey', values), keyDer: placePath('clientKeyDer', values) };
}

/** Renewed when less than this is left. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

export function trustedRootPlan(item: { name: string; payload: Extract<ItemBody<'certificate'>, { type: 'trusted-root' }> }): Plan {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(item.payload.pem);
  } catch {
    throw new ItemError('ITEM_FAILED', `certificate "${item.name}" is not a valid PEM certificate`);
  }
  if (!certificate.ca) throw new ItemError('ITEM_FAILED', `certificate "${item.name}" is not a CA certificate, so it cannot be a trusted root`);
  return {
    files: [{ path: trustedRootPath(item.name), content: certificate.toString(), mode: 0o644 }],
    commands: [{ argv: ['update-ca-certificates'], inverse: ['update-ca-certificates', '--fresh'] }],
  };
}

/** Whether the client certificate is there, valid for another 30 days, and for the key beside it. */
export async function clientCertificateInPlace(target: TargetPort, name: string, now = Date.now()): Promise<boolean> {
  const paths = clientCertificatePaths(name);
  const [pem, keyFile, keyDer] = [await textOf(target, paths.certificate), await textOf(target, paths.key), await target.readFile(paths.keyDer)];
  if (!pem || !keyFile || !keyDer) return false;
  try {
    if (!keyDer.equals(tss2PrivateKeyDer(keyFile))) return false;
    const certificate = new X509Certificate(pem);
    if (Date.parse(certificate.validTo) - now < RENEW_BEFORE_MS) return false;
    const key = createPublicKey({ key: publicKeyJwk(parseTpm2bPublic(parseTss2PrivateKeyPem(keyFile).public)), format: 'jwk' });
    return certificate.publicKey.export({ format: 'der', type: 'spki' }).equals(key.export({ format: 'der', type: 'spki' }));
  } catch {
    return false; // damaged: made again
  }
}

export async function issueClientCertificate(target: TargetPort, key: string, item: { id: string; name: string }, context: ApplyContext): Promise<void> {
  if (!context.clientCertificate) throw new ItemError('ITEM_FAILED', `certificate "${item.name}" needs the device's TPM and the service, which this run does not have`);
  const issued = await context.clientCertificate(item.id);
  const paths = clientCertificatePaths(item.name);
  // The key first: a certificate is never in place without the key it is for.
  await target.writeFile(key, paths.key, issued.keyFile, 0o600);
  await target.writeFile(key, paths.keyDer, tss2PrivateKeyDer(issued.keyFile), 0o600);
  await target.writeFile(key, paths.chain, issued.chain, 0o644);
  await target.writeFile(key, paths.certificate, issued.certificate, 0o644);
}

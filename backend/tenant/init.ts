// `selfdeploy-server init`: creates the tenant once — data directory, service and device CAs,
// HTTPS certificate, database, branding, TPM trust anchors, and the first admin token.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { TOKEN_DEFAULT_DAYS, TenantSettingsSchema } from '../../protocol/api/admin.js';
import { BrandingSchema } from '../../protocol/branding.js';
import { ServiceError } from '../errors.js';
import { Store } from '../store/store.js';
import { validateLogo } from './branding.js';
import { PublicUrlSchema, publicUrlsFromCertificate } from './public-urls.js';
import { DataDir, DEFAULT_LISTEN, type ServiceConfig } from './data-dir.js';
import { createCa, issueServerCertificate, splitPem } from './pki.js';
import { CERTIFICATE_FILE, InputFileError, readFilesOrDirectories } from '../../protocol/node/input-file.js';
import { addCertificateAnchors, parseAnchorFiles, type AnchorFile, type AnchorOutcome } from './trust.js';

export interface InitOptions {
  dataDir: string;
  organizationName: string;
  /** Default: sqlite:selfdeploy.db inside the data directory. */
  db?: string;
  listen?: string;
  /** PEM files or directories of PEM files with TPM manufacturer CA certificates. */
  trustAnchors?: string[];
  /** A swtpm local CA directory (lab): trusts its root and intermediate. */
  swtpmLocalCa?: string;
  /** EK public digests of TPMs without EK certificates. */
  ekDigests?: string[];
  /** Names the self-issued HTTPS certificate covers, besides localhost, 127.0.0.1 and ::1. */
  hostnames?: string[];
  /** The https:// origins devices reach the service at (default: the HTTPS certificate's names at the listen port). */
  publicUrls?: string[];
  /** A given HTTPS certificate (chain) and key instead of a self-issued one, and the CA agents trust. */
  httpsCert?: string;
  httpsKey?: string;
  httpsCa?: string;
  accentColor?: string;
  logo?: string;
  support?: { phone?: string; email?: string; url?: string };
  /** Registrations without an EK digest take the EK of their first attestation. */
  bindEkOnFirstUse?: boolean;
  /** Let devices with a virtual TPM attest (default: only when --swtpm-localca makes this a lab). */
  allowVirtualTpms?: boolean;
}

export interface InitResult {
  dataDir: string;
  serviceCaPath: string;
  listen: string;
  /** Where devices reach the service: what their client assertions must be for. */
  publicUrls: string[];
  db: string;
  adminToken: string;
  trustAnchors: number;
  /** What became of each trust anchor certificate given (duplicates, expired ones …). */
  trustAnchorOutcomes: AnchorOutcome[];
}

function readInput(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ServiceError('SERVICE_CONFIG_INVALID', `cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** The trust anchor files named (files, or directories of *.pem, *.crt, *.cer, *.der), read before anything is written. */
function anchorFiles(paths: readonly string[]): AnchorFile[] {
  try {
    return paths.length ? readFilesOrDirectories(paths, 'trust anchor', CERTIFICATE_FILE) : [];
  } catch (error) {
    if (error instanceof InputFileError) throw new ServiceError(error.code === 'INPUT_FILE_UNREADABLE' ? 'SERVICE_CONFIG_INVALID' : 'TRUST_ANCHOR_INVALID', error.message);
    throw error;
  }
}

export async function initTenant(options: InitOptions): Promise<InitResult> {
  const dir = new DataDir(options.dataDir);
  if (dir.initialized) throw new ServiceError('SERVICE_CONFIG_INVALID', `${dir.path} is already initialised (config.json exists)`);
  const branding = BrandingSchema.safeParse({
    organizationName: options.organizationName,
    ...(options.accentColor ? { accentColor: options.accentColor } : {}),
    support: options.support ?? {},
  });
  if (!branding.success) {
    throw new ServiceError('VALIDATION_FAILED', 'the branding is not valid', branding.error.issues.map((i) => ({ path: i.path.join('.'), reason: i.message })));
  }
  const logo = options.logo ? validateLogo(Buffer.from(readFileSync(options.logo))) : null;
  if (!!options.httpsCert !== !!options.httpsKey) throw new ServiceError('SERVICE_CONFIG_INVALID', '--https-cert and --https-key go together');
  // Everything given is checked before anything is written: a failed init leaves nothing behind.
  const files = anchorFiles([...(options.trustAnchors ?? []), ...(options.swtpmLocalCa ? [join(options.swtpmLocalCa, 'swtpm-localca-rootca-cert.pem'), join(options.swtpmLocalCa, 'issuercert.pem')] : [])]);
  const anchors = files.length ? parseAnchorFiles(files) : [];
  const ekDigests = (options.ekDigests ?? []).map((digest) => {
    const ekDigest = digest.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(ekDigest)) throw new ServiceError('TRUST_ANCHOR_INVALID', `"${digest}" is not a SHA-256 EK digest`);
    return ekDigest;
  });
  // A lab (its swtpm CA trusted) uses virtual TPMs: allowed there, and shown in the settings.
  const settings = TenantSettingsSchema.parse({ bindEkOnFirstUse: options.bindEkOnFirstUse ?? false, allowVirtualTpms: options.allowVirtualTpms ?? options.swtpmLocalCa !== undefined });
  const httpsChain = options.httpsCert ? readInput(options.httpsCert, 'HTTPS certificate') : undefined;
  if (httpsChain !== undefined && splitPem(httpsChain).length === 0) throw new ServiceError('SERVICE_CONFIG_INVALID', `${options.httpsCert} holds no PEM certificate`);
  const httpsKey = options.httpsKey ? readInput(options.httpsKey, 'HTTPS key') : undefined;
  const httpsCa = options.httpsCa ? readInput(options.httpsCa, 'HTTPS CA') : undefined;

  const config: ServiceConfig = {
    version: 1,
    db: options.db ?? 'sqlite:selfdeploy.db',
    listen: options.listen ?? DEFAULT_LISTEN,
    deviceRateLimitPerMinute: 120,
    adminAuthFailuresPerMinute: 10,
    trustProxy: false,
    logLevel: 'info',
  };
  const store = await Store.open(config.db, dir.path);
  try {
    if (await store.tenant.find()) throw new ServiceError('SERVICE_CONFIG_INVALID', 'this database already holds a tenant');
    dir.create();
    if (httpsChain !== undefined && httpsKey !== undefined) {
      dir.write(dir.tlsCertPath, httpsChain, 0o644);
      dir.write(dir.tlsKeyPath, httpsKey, 0o600);
      dir.write(dir.serviceCaPath, httpsCa ?? splitPem(httpsChain).at(-1)!, 0o644);
    } else {
      const serviceCa = await createCa(`${options.organizationName} selfdeploy service CA`);
      const names = ['localhost', '127.0.0.1', '::1', ...(options.hostnames ?? [])];
      const server = await issueServerCertificate(serviceCa, [...new Set(names)]);
      dir.write(dir.serviceCaPath, serviceCa.certificatePem, 0o644);
      dir.write(dir.serviceCaKeyPath, serviceCa.privateKeyPem, 0o600);
      dir.write(dir.tlsCertPath, server.certificatePem + serviceCa.certificatePem, 0o644);
      dir.write(dir.tlsKeyPath, server.privateKeyPem, 0o600);
    }
    const deviceCa = await createCa(`${options.organizationName} selfdeploy device CA`);
    dir.write(dir.deviceCaPath, deviceCa.certificatePem, 0o644);
    dir.write(dir.deviceCaKeyPath, deviceCa.privateKeyPem, 0o600);

    await store.tenant.create(branding.data, settings);
    if (logo) await store.tenant.setBranding(branding.data, logo);
    const imported = await addCertificateAnchors(store, anchors, { validity: settings.ekIssuerValidity });
    const trustAnchors = imported.added.length + ekDigests.length;
    for (const ekDigest of ekDigests) await store.trustAnchors.addEkDigest({ label: `EK ${ekDigest.slice(0, 12)}`, ekDigest });
    const { token } = await store.tokens.create({ name: 'initial-admin', scope: 'admin', expiresInDays: TOKEN_DEFAULT_DAYS });
    // Given, they are the setting; not given, the service derives them at each start from its
    // certificate and the port it listens on (so `start --listen` elsewhere keeps them right).
    if (options.publicUrls?.length) config.publicUrls = [...new Set(options.publicUrls.map((url) => PublicUrlSchema.parse(url)))];
    const port = Number(/:(\d+)$/.exec(config.listen)![1]);
    const publicUrls = config.publicUrls ?? publicUrlsFromCertificate(dir.read(dir.tlsCertPath, 'HTTPS certificate'), port);
    dir.writeConfig(config); // last: a data directory with config.json is complete
    return { dataDir: dir.path, serviceCaPath: dir.serviceCaPath, listen: config.listen, publicUrls, db: config.db, adminToken: token, trustAnchors, trustAnchorOutcomes: imported.outcomes };
  } finally {
    await store.close();
  }
}


// Agent updates: the feed the deployment service hosts in electron-updater's generic-provider
// format (GET /v1/updates/linux/latest-linux.yml and the files it names, public: a device fetches
// it before it has enrolled), and the admin API that publishes a release from uploaded content.
// `critical` is selfdeploy's own field: only a critical release is applied during the OOBE.
import { z } from 'zod';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export const versionField = z.string().max(64).regex(SEMVER, 'must be a semantic version such as 1.4.2 or 2.0.0-rc.1');

/**
 * Semantic-version order (semver.org §11): numbers numerically; a pre-release comes before its
 * release; pre-release identifiers compare numerically when both are numbers, otherwise as text.
 */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (!pa || !pb) throw new RangeError(`not semantic versions: "${a}", "${b}"`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  if (pa[4] === undefined || pb[4] === undefined) return pa[4] === pb[4] ? 0 : pa[4] === undefined ? 1 : -1;
  const xa = pa[4].split('.');
  const xb = pb[4].split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    if (xa[i] === undefined) return -1;
    if (xb[i] === undefined) return 1;
    const na = /^\d+$/.test(xa[i]!);
    const nb = /^\d+$/.test(xb[i]!);
    if (na && nb) {
      const d = Number(xa[i]) - Number(xb[i]);
      if (d !== 0) return Math.sign(d);
    } else if (na !== nb) return na ? -1 : 1;
    else if (xa[i] !== xb[i]) return xa[i]! < xb[i]! ? -1 : 1;
  }
  return 0;
}

/** A release file's name: what the feed's `url` holds and GET /v1/updates/linux/{name} serves. */
export const releaseFileName = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a plain file name (letters, digits, . _ -)');

/** PUT /v1/admin/updates/{version}: publish uploaded content (selfdeploy-admin content upload) as a release. */
export const PublishReleaseRequestSchema = z.object({
  critical: z.boolean().default(false),
  notes: z.string().max(4000).default(''),
  file: z.object({
    name: releaseFileName,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case SHA-256 hex digest'),
    size: z.number().int().min(1),
  }),
});
export type PublishReleaseRequest = z.input<typeof PublishReleaseRequestSchema>;

export const ReleaseSchema = z.object({
  version: versionField,
  critical: z.boolean(),
  notes: z.string(),
  file: z.object({ name: z.string(), sha256: z.string(), sha512: z.string(), size: z.number().int() }),
  publishedAt: z.string(),
});
export type Release = z.output<typeof ReleaseSchema>;

export const ReleaseListSchema = z.object({ items: z.array(ReleaseSchema) });

/** latest-linux.yml as electron-updater's generic provider reads it, plus `critical` (and each file's `sha256`). */
export const UpdateFeedSchema = z.object({
  version: versionField,
  files: z
    .array(
      z.object({
        url: releaseFileName,
        sha512: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'must be a base64 SHA-512'),
        size: z.number().int().min(1),
        /** selfdeploy's addition: the content digest, which resumable downloads (If-Range) use. */
        sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
      }),
    )
    .min(1)
    .max(8),
  path: releaseFileName,
  sha512: z.string(),
  releaseDate: z.string(),
  critical: z.boolean().default(false),
});
export type UpdateFeed = z.output<typeof UpdateFeedSchema>;

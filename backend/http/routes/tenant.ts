// /v1/admin/branding, /v1/admin/trust-anchors and /v1/admin/tokens: the tenant's settings.
import { createHash } from 'node:crypto';

import { admin } from '../../../protocol/api/endpoints.js';
import type { EncodingError } from '../../../protocol/encoding.js';
import { base64Decode } from '../../../protocol/encoding.js';
import { ServiceError, notFound } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { TrustAnchor } from '../../store/trust-anchors.js';
import { validateLogo } from '../../tenant/branding.js';
import { addCertificateAnchors, parseAnchorFiles, parseCertificateAnchors } from '../../tenant/trust.js';
import { certificateFacts } from '../../tenant/pki.js';
import { route, type Route } from '../route.js';

/** An anchor as the admin API shows it: a certificate's issuer, validity and key type; how many devices attested through it. */
async function anchorViews(store: Store, anchors: readonly TrustAnchor[]) {
  const counts = await store.trustAnchors.deviceCounts();
  return Promise.all(
    anchors.map(async ({ pem, ...anchor }) => {
      const facts = pem ? certificateFacts(pem) : null;
      const devices = anchor.fingerprint ? (counts.get(anchor.fingerprint) ?? 0) : anchor.ekDigest && (await store.devices.findByEkDigest(anchor.ekDigest)) ? 1 : 0;
      return { ...anchor, issuer: facts?.issuer ?? null, notBefore: facts?.notBefore ?? null, keyType: facts?.keyType ?? null, devices };
    }),
  );
}

async function brandingView(store: Store) {
  const tenant = await store.tenant.require();
  const logo = tenant.logo && Buffer.from(tenant.logo.data, 'base64');
  return {
    ...tenant.branding,
    logo: tenant.logo && logo ? { mediaType: tenant.logo.mediaType, bytes: logo.length, sha256: createHash('sha256').update(logo).digest('hex') } : null,
  };
}

export function tenantRoutes(store: Store): Route[] {
  return [
    route(admin.tenant.getBranding, () => brandingView(store)),
    route(admin.tenant.getLogo, async () => {
      const { logo } = await store.tenant.require();
      if (!logo) throw notFound('the logo');
      return logo;
    }),
    route(
      admin.tenant.putBranding,
      async ({ body }) => {
        const { logo: logoText, ...branding } = body;
        let logo;
        if (typeof logoText === 'string') {
          let bytes: Uint8Array;
          try {
            bytes = base64Decode(logoText.replace(/\s+/g, ''));
          } catch (error) {
            throw new ServiceError('BRANDING_INVALID', `the logo is not base64: ${(error as EncodingError).message}`, [{ path: 'logo', reason: 'not base64' }]);
          }
          logo = validateLogo(Buffer.from(bytes));
        } else {
          logo = logoText; // null removes, undefined keeps
        }
        await store.tenant.require();
        await store.tenant.setBranding(branding, logo);
        return brandingView(store);
      },
    ),
    route(admin.tenant.getSettings, async () => (await store.tenant.require()).settings),
    route(
      admin.tenant.putSettings,
      async ({ body }) => {
        await store.tenant.require();
        await store.tenant.setSettings(body);
        return body;
      },
    ),
    route(admin.tenant.listTrustAnchors, async () => ({ items: await anchorViews(store, await store.trustAnchors.list()) })),
    route(
      admin.tenant.addTrustAnchors,
      async ({ body }) => {
        if ('ekDigest' in body) return { items: await anchorViews(store, [await store.trustAnchors.addEkDigest(body)]), outcomes: [] };
        const parsed = 'pem' in body ? parseCertificateAnchors(body.pem) : parseAnchorFiles(body.files.map((f) => ({ name: f.name, bytes: Buffer.from(f.data, 'base64') })));
        const { added, outcomes } = await addCertificateAnchors(store, parsed, { label: body.label, validity: (await store.tenant.require()).settings.ekIssuerValidity });
        return { items: await anchorViews(store, added), outcomes };
      },
    ),
    route(
      admin.tenant.removeTrustAnchor,
      async ({ params }) => {
        if (!(await store.trustAnchors.remove(params.id))) throw notFound(`trust anchor ${params.id}`);
        return undefined;
      },
    ),
    route(admin.tenant.listTokens, async () => ({ items: await store.tokens.list() })),
    route(
      admin.tenant.createToken,
      async ({ body }) => {
        for (const name of body.groups ?? []) await store.groups.require(name);
        const { token, record } = await store.tokens.create(body);
        return { ...record, token };
      },
    ),
    route(
      admin.tenant.revokeToken,
      async ({ params, token }) => {
        if (token?.id === params.id) throw new ServiceError('IN_USE', 'a token cannot revoke itself; use another admin token');
        if (!(await store.tokens.revoke(params.id))) throw notFound(`live token ${params.id}`);
        return undefined;
      },
    ),
    route(admin.tenant.getToken, async ({ params }) => {
      const found = await store.tokens.get(params.id);
      if (!found) throw notFound(`token ${params.id}`);
      return found;
    }),
  ];
}

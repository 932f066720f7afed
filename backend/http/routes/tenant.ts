// /v1/admin/branding, /v1/admin/trust-anchors and /v1/admin/tokens: the tenant's settings.
import { createHash } from 'node:crypto';

import { admin } from '../../../protocol/api/endpoints.js';
import type { EncodingError } from '../../../protocol/encoding.js';
import { base64Decode } from '../../../protocol/encoding.js';
import { ServiceError, notFound } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { TrustAnchor } from '../../store/trust-anchors.js';
import { validateLogo } from '../../tenant/branding.js';
import { addCertificateAnchors, parseCertificateAnchors } from '../../tenant/trust.js';
import { route, type Route } from '../route.js';

const anchorView = ({ pem: _pem, ...anchor }: TrustAnchor) => anchor;

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
    route(admin.tenant.listTrustAnchors, async () => ({ items: (await store.trustAnchors.list()).map(anchorView) })),
    route(
      admin.tenant.addTrustAnchors,
      async ({ body }) => {
        const added = 'pem' in body ? await addCertificateAnchors(store, parseCertificateAnchors(body.pem), body.label) : [await store.trustAnchors.addEkDigest(body)];
        return { items: added.map(anchorView) };
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
        const { token, record } = await store.tokens.create(body.name, body.scope);
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
  ];
}

// /v1/admin/branding, /v1/admin/trust-anchors and /v1/admin/tokens: the tenant's settings.
import { createHash } from 'node:crypto';

import { z } from 'zod';

import {
  AddTrustAnchorRequestSchema,
  BrandingViewSchema,
  CreateTokenRequestSchema,
  CreatedTokenSchema,
  PutBrandingRequestSchema,
  TenantSettingsSchema,
  TokenListSchema,
  TrustAnchorListSchema,
} from '../../../protocol/api/admin.js';
import type { EncodingError } from '../../../protocol/encoding.js';
import { base64Decode } from '../../../protocol/encoding.js';
import { ServiceError, notFound } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { TrustAnchor } from '../../store/trust-anchors.js';
import { validateLogo } from '../../tenant/branding.js';
import { addCertificateAnchors, parseCertificateAnchors } from '../../tenant/trust.js';
import { defineRoute, type AnyRoute } from '../route.js';

const IdParams = z.object({ id: z.string().max(64) });

const anchorView = ({ pem: _pem, ...anchor }: TrustAnchor) => anchor;

async function brandingView(store: Store) {
  const tenant = await store.tenant.require();
  const logo = tenant.logo && Buffer.from(tenant.logo.data, 'base64');
  return {
    ...tenant.branding,
    logo: tenant.logo && logo ? { mediaType: tenant.logo.mediaType, bytes: logo.length, sha256: createHash('sha256').update(logo).digest('hex') } : null,
  };
}

export function tenantRoutes(store: Store): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/admin/branding',
      operationId: 'getBranding',
      summary: 'The organisation branding the ESP shows',
      tag: 'tenant',
      access: 'read',
      success: { status: 200, description: 'The branding', schema: BrandingViewSchema },
      handler: () => brandingView(store),
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/admin/branding',
      operationId: 'putBranding',
      summary: 'Set the branding; the logo (base64) is checked by content: PNG, JPEG or script-free SVG, at most 512 KB',
      tag: 'tenant',
      access: 'admin',
      body: PutBrandingRequestSchema,
      bodyLimit: 2 * 1024 * 1024,
      success: { status: 200, description: 'The branding', schema: BrandingViewSchema },
      handler: async ({ body }) => {
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
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/settings',
      operationId: 'getSettings',
      summary: "The tenant's enrollment settings",
      tag: 'tenant',
      access: 'read',
      success: { status: 200, description: 'The settings', schema: TenantSettingsSchema },
      handler: async () => (await store.tenant.require()).settings,
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/admin/settings',
      operationId: 'putSettings',
      summary: "Set the tenant's enrollment settings",
      tag: 'tenant',
      access: 'admin',
      body: TenantSettingsSchema,
      success: { status: 200, description: 'The settings', schema: TenantSettingsSchema },
      handler: async ({ body }) => {
        await store.tenant.require();
        await store.tenant.setSettings(body);
        return body;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/trust-anchors',
      operationId: 'listTrustAnchors',
      summary: 'TPM trust anchors: manufacturer CA certificates and allow-listed EK digests',
      tag: 'tenant',
      access: 'read',
      success: { status: 200, description: 'The trust anchors', schema: TrustAnchorListSchema },
      handler: async () => ({ items: (await store.trustAnchors.list()).map(anchorView) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/trust-anchors',
      operationId: 'addTrustAnchors',
      summary: 'Trust CA certificates (PEM, one or more) or allow one EK digest for a TPM without EK certificate',
      tag: 'tenant',
      access: 'admin',
      body: AddTrustAnchorRequestSchema,
      problems: [409],
      success: { status: 201, description: 'What was added', schema: TrustAnchorListSchema },
      handler: async ({ body }) => {
        const added = 'pem' in body ? await addCertificateAnchors(store, parseCertificateAnchors(body.pem), body.label) : [await store.trustAnchors.addEkDigest(body)];
        return { items: added.map(anchorView) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/trust-anchors/:id',
      operationId: 'removeTrustAnchor',
      summary: 'Stop trusting a CA certificate or an EK digest',
      tag: 'tenant',
      access: 'admin',
      params: IdParams,
      problems: [404],
      success: { status: 204, description: 'Removed' },
      handler: async ({ params }) => {
        if (!(await store.trustAnchors.remove(params.id))) throw notFound(`trust anchor ${params.id}`);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/tokens',
      operationId: 'listTokens',
      summary: 'API tokens (never their secrets)',
      tag: 'tenant',
      access: 'admin',
      success: { status: 200, description: 'The tokens', schema: TokenListSchema },
      handler: async () => ({ items: await store.tokens.list() }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/tokens',
      operationId: 'createToken',
      summary: 'Create an API token; its secret is returned this once',
      tag: 'tenant',
      access: 'admin',
      body: CreateTokenRequestSchema,
      success: { status: 201, description: 'The token with its secret', schema: CreatedTokenSchema },
      handler: async ({ body }) => {
        const { token, record } = await store.tokens.create(body.name, body.scope);
        return { ...record, token };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/tokens/:id',
      operationId: 'revokeToken',
      summary: 'Revoke an API token',
      tag: 'tenant',
      access: 'admin',
      params: IdParams,
      problems: [404],
      success: { status: 204, description: 'Revoked' },
      handler: async ({ params, token }) => {
        if (token?.id === params.id) throw new ServiceError('IN_USE', 'a token cannot revoke itself; use another admin token');
        if (!(await store.tokens.revoke(params.id))) throw notFound(`live token ${params.id}`);
        return undefined;
      },
    }),
  ];
}

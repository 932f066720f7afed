// The service's public URLs: the https:// origins devices reach it at — what a client assertion's
// `aud` must name (RFC 7523 §3: the token endpoint of *this* server). A setting in config.json,
// never the request's Host header, which whoever sends the request chooses. By default the names
// the HTTPS certificate covers, at the port the service listens on.
import { X509Certificate } from 'node:crypto';

import { z } from 'zod';

import { endpointPath } from '../../protocol/api/endpoint.js';
import { device } from '../../protocol/api/endpoints.js';

/** An https:// origin: scheme, host and port, no path, query or fragment. */
export const PublicUrlSchema = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    } catch {
      return false;
    }
  }, 'must be an https:// origin such as https://deploy.example:8443 (no path)')
  .transform((value) => new URL(value).origin);

/** The origins for the names in a PEM certificate chain's leaf (DNS names and IP addresses), at `port`. */
export function publicUrlsFromCertificate(chainPem: string, port: number): string[] {
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)?.[0];
  if (!leaf) return [];
  const names = (new X509Certificate(leaf).subjectAltName ?? '')
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined && !name.includes('*'));
  const urls = names.map((name) => new URL(`https://${name.includes(':') ? `[${name}]` : name}:${port}`).origin);
  return [...new Set(urls)];
}

/** What a client assertion's `aud` may be: the token endpoint at each public URL. */
export function tokenAudiences(publicUrls: readonly string[]): string[] {
  return publicUrls.map((origin) => new URL(endpointPath(device.token), origin).href);
}

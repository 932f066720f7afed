import { describe, expect, it } from 'vitest';

import { createCa, issueServerCertificate } from './pki.js';
import { PublicUrlSchema, publicUrlsFromCertificate, tokenAudiences } from './public-urls.js';

describe("the service's public URLs", () => {
  it('are the names the HTTPS certificate covers, at the listen port', async () => {
    const ca = await createCa('Test service CA');
    const server = await issueServerCertificate(ca, ['localhost', '127.0.0.1', '::1', 'deploy.contoso.example']);
    expect(publicUrlsFromCertificate(server.certificatePem + ca.certificatePem, 8443)).toEqual(['https://localhost:8443', 'https://127.0.0.1:8443', 'https://[::1]:8443', 'https://deploy.contoso.example:8443']);
    expect(publicUrlsFromCertificate(server.certificatePem, 443)).toContain('https://deploy.contoso.example'); // the default port is no part of an origin
    expect(publicUrlsFromCertificate('no certificate', 443)).toEqual([]);
  });

  it('are https:// origins, normalised, and nothing else', () => {
    expect(PublicUrlSchema.parse('https://Deploy.Contoso.example:443/')).toBe('https://deploy.contoso.example');
    for (const bad of ['http://deploy.example', 'https://deploy.example/path', 'https://deploy.example/?q=1', 'https://user:pw@deploy.example', 'deploy.example', '']) {
      expect(PublicUrlSchema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('give the token endpoint as the audience a client assertion must name', () => {
    expect(tokenAudiences(['https://deploy.example:8443', 'https://10.0.0.5:8443'])).toEqual(['https://deploy.example:8443/v1/token', 'https://10.0.0.5:8443/v1/token']);
  });
});

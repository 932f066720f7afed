// The kiosk's URL rules against a corpus of URLs that spell one place many ways: each must meet the
// rule its place meets, blocked stays blocked however it is written, and legitimate URLs still load.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { kioskNavigation } from './kiosk.js';
import { allowedBy, blockedBy, normalizeUrl } from './url-rules.js';

const site = { homeUrl: 'https://visit.fabrikam.example/', allowedUrls: ['https://visit.fabrikam.example/*', 'https://*.fabrikam-cdn.example/*'], blockedUrls: ['https://visit.fabrikam.example/admin'] };

describe('URL normalisation', () => {
  it.each([
    ['HTTPS://Visit.Fabrikam.Example./rooms', 'https://visit.fabrikam.example/rooms'],
    ['https://visit.fabrikam.example:443/rooms', 'https://visit.fabrikam.example/rooms'],
    ['http://visit.fabrikam.example:80/', 'http://visit.fabrikam.example/'],
    ['https://visit.fabrikam.example:8443/', 'https://visit.fabrikam.example:8443/'],
    ['https://visit.fabrikam.example/%72%6F%6F%6D%73', 'https://visit.fabrikam.example/rooms'],
    ['https://visit.fabrikam.example/a%2fb%3f', 'https://visit.fabrikam.example/a%2Fb%3F'],
    ['https://visit.fabrikam.example//rooms///floor', 'https://visit.fabrikam.example/rooms/floor'],
    ['https://visit.fabrikam.example/x/../rooms/./2', 'https://visit.fabrikam.example/rooms/2'],
    ['https://visit.fabrikam.example/x/%2e%2E/rooms', 'https://visit.fabrikam.example/rooms'],
    ['https://visit.fabrikam.example/../../rooms', 'https://visit.fabrikam.example/rooms'],
    ['https://visit.fabrikam.example/rooms/', 'https://visit.fabrikam.example/rooms/'],
    ['https://visit.fabrikam.example', 'https://visit.fabrikam.example/'],
    ['https://visit.fabrikam.example/?q=%7e%41', 'https://visit.fabrikam.example/?q=~A'],
    ['https://0x7f.1/', 'https://127.0.0.1/'],
    ['https://bücher.example/', 'https://xn--bcher-kva.example/'],
  ])('%s is %s', (url, href) => {
    expect(normalizeUrl(url)?.href).toBe(href);
  });

  it.each(['file:///etc/passwd', 'javascript:alert(1)', 'chrome://settings', 'not a url', 'https://a@b.example/', 'https://evil.example\\@visit.fabrikam.example/', 'https://a.example/ x', 'https://a.example/\u0000', 'https:///path', 'https://:443/'])(
    'refuses %s',
    (url) => {
      expect(normalizeUrl(url)).toBeNull();
    },
  );
});

describe('a blocked path', () => {
  it.each([
    'https://visit.fabrikam.example/admin',
    'https://visit.fabrikam.example/admin/',
    'https://visit.fabrikam.example/admin?tab=users',
    'https://visit.fabrikam.example/admin#users',
    'https://visit.fabrikam.example/admin;jsessionid=1',
    'https://visit.fabrikam.example/admin/users',
    'https://visit.fabrikam.example/ADMIN',
    'https://visit.fabrikam.example/Admin/',
    'https://visit.fabrikam.example/%61dmin',
    'https://visit.fabrikam.example/%41DMIN/users',
    'https://visit.fabrikam.example//admin',
    'https://visit.fabrikam.example/./admin',
    'https://visit.fabrikam.example/rooms/../admin',
    'https://visit.fabrikam.example/rooms/%2e%2e/admin',
    'https://visit.fabrikam.example/rooms%2F..%2Fadmin',
    'https://visit.fabrikam.example/%2Fadmin',
    'https://visit.fabrikam.example/admin%2Fusers',
    'https://VISIT.fabrikam.example./admin',
    'https://visit.fabrikam.example:443/admin',
    'https://visit.fabrikam.example/admin/.',
  ])('%s is blocked', (url) => {
    expect(kioskNavigation(url, site)).toEqual({ allowed: false, reason: 'blocked' });
  });

  it.each([
    'https://visit.fabrikam.example/',
    'https://visit.fabrikam.example/administrator',
    'https://visit.fabrikam.example/rooms/admin',
    'https://visit.fabrikam.example/rooms?next=/admin',
    'https://visit.fabrikam.example/rooms/%2e%2e%2e',
    'https://img.fabrikam-cdn.example/admin/logo.png',
    'https://visit.fabrikam.example/rooms/2?floor=2#map',
    'https://visit.fabrikam.example/r%C3%A4ume',
  ])('%s still loads', (url) => {
    expect(kioskNavigation(url, site)).toEqual({ allowed: true });
  });

  it('covers a pattern written with a trailing slash, a default port or a trailing dot the same way', () => {
    const url = normalizeUrl('https://visit.fabrikam.example/admin/users')!;
    for (const pattern of ['https://visit.fabrikam.example/admin/', 'https://visit.fabrikam.example:443/admin', 'https://visit.fabrikam.example./admin', 'https://VISIT.fabrikam.example/%61dmin']) {
      expect(blockedBy(pattern, url), pattern).toBe(true);
    }
  });
});

describe('allowed patterns', () => {
  it('match the normalised URL and never another site', () => {
    const allowed = (pattern: string, url: string) => allowedBy(pattern, normalizeUrl(url)!);
    expect(allowed('https://*.contoso.example/*', 'https://intranet.contoso.example/home')).toBe(true);
    expect(allowed('https://*.contoso.example/*', 'https://contoso.example.evil/home')).toBe(false);
    expect(allowed('https://*.contoso.example/*', 'https://evil.example/x.contoso.example/home')).toBe(false);
    expect(allowed('https://a.example/x?y', 'https://a.example/xzy')).toBe(false);
    expect(allowed('https://a.example', 'https://a.example/anything?at=all')).toBe(true);
    expect(allowed('https://a.example/rooms', 'https://a.example/%72ooms?floor=2')).toBe(true);
    expect(allowed('https://a.example/rooms', 'https://a.example/rooms/secret')).toBe(false);
    expect(allowed('https://a.example:8443/*', 'https://a.example/x')).toBe(false);
  });

  it('a URL and its normalised form get the same verdict, whatever the URL (property)', () => {
    const segment = fc.constantFrom('admin', 'ADMIN', '%61dmin', 'rooms', '.', '..', '', '%2e%2e', 'a;b=1', 'x%2Fy', 'r%C3%A4ume');
    const url = fc.tuple(fc.constantFrom('https://visit.fabrikam.example', 'HTTPS://Visit.Fabrikam.Example.', 'https://visit.fabrikam.example:443', 'https://img.fabrikam-cdn.example', 'https://evil.example'), fc.array(segment, { maxLength: 6 }), fc.option(fc.constantFrom('q=1', 'next=/admin'))).map(
      ([origin, segments, query]) => `${origin}/${segments.join('/')}${query ? `?${query}` : ''}`,
    );
    fc.assert(
      fc.property(url, (raw) => {
        const normalized = normalizeUrl(raw);
        if (!normalized) return;
        expect(kioskNavigation(normalized.href, site)).toEqual(kioskNavigation(raw, site));
        expect(normalizeUrl(normalized.href)?.href).toBe(normalized.href); // idempotent
      }),
      { numRuns: 500 },
    );
  });
});

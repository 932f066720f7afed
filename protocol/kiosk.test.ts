import { describe, expect, it } from 'vitest';

import { kioskNavigation, signageRetryMs } from './kiosk.js';

const rules = { homeUrl: 'https://visit.fabrikam.example/', allowedUrls: ['https://visit.fabrikam.example/*', 'https://*.fabrikam-cdn.example/*'], blockedUrls: ['https://visit.fabrikam.example/admin*'] };

describe('the kiosk browser’s rules', () => {
  it.each([
    ['https://visit.fabrikam.example/', true],
    ['https://visit.fabrikam.example/rooms?floor=2', true],
    ['https://img.fabrikam-cdn.example/logo.png', true],
    ['https://visit.fabrikam.example/admin/users', false],
    ['https://evil.example/', false],
    ['https://visit.fabrikam.example.evil.example/', false],
    ['https://evil.example/x.fabrikam-cdn.example/logo.png', false],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['chrome://settings', false],
    ['not a url', false],
    ['https://visit.fabrikam.example@evil.example/', false],
    ['https://evil.example\\@visit.fabrikam.example/', false],
    ['HTTPS://VISIT.FABRIKAM.EXAMPLE/rooms', true],
  ])('%s → allowed %s', (url, allowed) => {
    expect(kioskNavigation(url, rules).allowed).toBe(allowed);
  });

  it('says why a URL is refused, blocked patterns winning over allowed ones', () => {
    expect(kioskNavigation('https://visit.fabrikam.example/admin', rules)).toEqual({ allowed: false, reason: 'blocked' });
    expect(kioskNavigation('https://evil.example/', rules)).toEqual({ allowed: false, reason: 'not-allowed' });
    expect(kioskNavigation('ftp://visit.fabrikam.example/', rules)).toEqual({ allowed: false, reason: 'scheme' });
  });

  it('allows every http(s) URL but the blocked ones when no allowed pattern is set', () => {
    const open = { homeUrl: 'https://a.example/', allowedUrls: [], blockedUrls: ['*://*.social.example/*'] };
    expect(kioskNavigation('https://news.example/today', open).allowed).toBe(true);
    expect(kioskNavigation('https://www.social.example/feed', open).allowed).toBe(false);
  });

  it('backs signage reloads off from 2 s, doubling, to at most 5 minutes', () => {
    expect([1, 2, 3, 4, 10, 50].map(signageRetryMs)).toEqual([2000, 4000, 8000, 16000, 300_000, 300_000]);
  });
});

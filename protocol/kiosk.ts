// The kiosk's rules, decided in one place for every host: which URLs the kiosk browser may load
// (the profile's allowed and blocked patterns, matched on the normalised URL as protocol/url-rules.ts
// says; blocked wins; only http and https), and how digital signage backs off when its page fails to load.
import type { KioskEndState } from './profile.js';
import { allowedBy, blockedBy, normalizeUrl } from './url-rules.js';

export type NavigationVerdict = { allowed: true } | { allowed: false; reason: 'scheme' | 'blocked' | 'not-allowed' };

/** Whether the kiosk may load `url`: never another scheme; never a blocked pattern; with allowed patterns, only those (and home). */
export function kioskNavigation(url: string, rules: Pick<KioskEndState, 'homeUrl' | 'allowedUrls' | 'blockedUrls'>): NavigationVerdict {
  const normalized = normalizeUrl(url);
  if (normalized === null) return { allowed: false, reason: 'scheme' };
  if (rules.blockedUrls.some((pattern) => blockedBy(pattern, normalized))) return { allowed: false, reason: 'blocked' };
  if (rules.allowedUrls.length === 0) return { allowed: true };
  if (rules.homeUrl && normalizeUrl(rules.homeUrl)?.href === normalized.href) return { allowed: true };
  return rules.allowedUrls.some((pattern) => allowedBy(pattern, normalized)) ? { allowed: true } : { allowed: false, reason: 'not-allowed' };
}

/** Signage reloads a page that failed after 2 s, 4 s, 8 s … at most 5 minutes apart. */
export function signageRetryMs(failures: number): number {
  return Math.min(300_000, 2000 * 2 ** Math.max(0, failures - 1));
}

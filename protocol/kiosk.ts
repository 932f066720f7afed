// The kiosk's rules, decided in one place for every host: which URLs the kiosk browser may load
// (the profile's allowed and blocked patterns, * as a wildcard; blocked wins; only http and https),
// and how digital signage backs off when its page fails to load.
import { matchesUrlPattern, type KioskEndState } from './profile.js';

export type NavigationVerdict = { allowed: true } | { allowed: false; reason: 'scheme' | 'blocked' | 'not-allowed' };

/** Whether the kiosk may load `url`: never another scheme; never a blocked pattern; with allowed patterns, only those (and home). */
export function kioskNavigation(url: string, rules: Pick<KioskEndState, 'homeUrl' | 'allowedUrls' | 'blockedUrls'>): NavigationVerdict {
  const href = canonical(url);
  if (href === null) return { allowed: false, reason: 'scheme' };
  if (rules.blockedUrls.some((pattern) => matchesUrlPattern(pattern, href))) return { allowed: false, reason: 'blocked' };
  if (rules.allowedUrls.length === 0) return { allowed: true };
  if (rules.homeUrl && canonical(rules.homeUrl) === href) return { allowed: true };
  return rules.allowedUrls.some((pattern) => matchesUrlPattern(pattern, href)) ? { allowed: true } : { allowed: false, reason: 'not-allowed' };
}

/**
 * An http(s) URL with scheme and host in lower case and at least "/" as its path — as the browser
 * hands it over — or null for anything else: another scheme, user info ("a@b" tricks),
 * backslashes, spaces or control characters, which a canonical URL never holds.
 */
function canonical(url: string): string | null {
  const parts = /^(https?):\/\/([^/?#]+)([/?#].*)?$/i.exec(url);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (!parts || /[\s\\\u0000-\u001f]/.test(url) || parts[2]!.includes('@')) return null;
  const rest = parts[3] ?? '/';
  return `${parts[1]!.toLowerCase()}://${parts[2]!.toLowerCase()}${rest.startsWith('/') ? rest : `/${rest}`}`;
}

/** Signage reloads a page that failed after 2 s, 4 s, 8 s … at most 5 minutes apart. */
export function signageRetryMs(failures: number): number {
  return Math.min(300_000, 2000 * 2 ** Math.max(0, failures - 1));
}

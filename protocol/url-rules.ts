// The kiosk's URL rules, matched against what the server will serve rather than against how a URL
// happens to be spelled. A URL is normalised first — scheme and host in lower case, the host
// without a trailing dot, the default port dropped, percent-encoded unreserved characters decoded
// (the rest upper-cased), duplicate slashes merged, "." and ".." segments resolved — and a URL that
// cannot be an http(s) URL with no user info, backslash, space or control character is refused.
//
// Patterns are scheme://host/path with `*` standing for any run of characters (within the scheme
// and the host, never across a "/"; in the path, anything), compared without regard to case.
// - An allowed pattern matches the normalised URL; one without a path covers the whole site.
// - A blocked pattern covers more, so that no spelling gets round it: its path also covers the
//   same path with or without a trailing slash, with any query, fragment or ";parameters", and
//   everything below it (https://site/admin blocks /admin, /admin/, /admin?x, /admin;s=1 and
//   /admin/users, not /administrator); and it is tried on the URL as normalised and again with
//   every percent-encoding decoded (%2F too) and ";parameters" removed, as some servers read it.
//   Blocked wins over allowed.

/**
 * The WHATWG URL parser — the same in Node, Electron and Chromium, so the kiosk reads a URL as its
 * browser does (IDN hosts to punycode, IPv4 forms like 0x7f.1 to 127.0.0.1) — as far as the rules
 * use it; declared here because the protocol layer compiles without Node's or the DOM's types.
 */
interface ParsedUrl {
  protocol: string;
  username: string;
  password: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
}
declare const URL: new (url: string) => ParsedUrl;

export interface NormalizedUrl {
  scheme: 'http' | 'https';
  /** Lower case, without a trailing dot; IPv6 in brackets. */
  host: string;
  /** "" for the scheme's default port. */
  port: string;
  /** Starts with "/"; unreserved characters decoded, other escapes in upper case, dot segments resolved. */
  path: string;
  /** Without the "?", or null. */
  query: string | null;
  href: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Decodes %XX escapes of unreserved characters; upper-cases the hex of the others (or decodes all of them). */
function percent(text: string, all = false): string {
  return text.replace(/%([0-9A-Fa-f]{2})?/g, (_, hex: string | undefined) => {
    if (hex === undefined) return all ? '%' : '%25'; // a "%" that escapes nothing is a "%"
    const char = String.fromCharCode(parseInt(hex, 16));
    return all || UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/** Merges duplicate slashes and resolves "." and ".." segments (RFC 3986 §5.2.4), keeping a trailing slash. */
function resolveSegments(path: string): string {
  const segments = path.split('/').slice(1);
  const out: string[] = [];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '..') out.pop();
    if (segment === '.' || segment === '..' || segment === '') {
      if (last) out.push('');
      return;
    }
    out.push(segment);
  });
  return `/${out.join('/')}`;
}

/** The URL as a server reads it, or null when it is no http(s) URL the kiosk would load. */
export function normalizeUrl(url: string): NormalizedUrl | null {
  // What a browser's canonical URL never holds: refused rather than guessed at.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\s\\\u0000-\u001f\u007f]/.test(url)) return null;
  const authority = /^(https?):\/\/([^/?#]*)/i.exec(url);
  if (!authority || authority[2]!.includes('@') || authority[2] === '') return null;
  let parsed: ParsedUrl;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const scheme = parsed.protocol === 'https:' ? 'https' : parsed.protocol === 'http:' ? 'http' : null;
  if (!scheme || parsed.username || parsed.password) return null;
  const host = parsed.hostname.toLowerCase().replace(/\.+$/, '');
  if (!host) return null;
  const path = resolveSegments(percent(parsed.pathname));
  const query = parsed.search ? percent(parsed.search.slice(1)) : null;
  const port = parsed.port;
  return { scheme, host, port, path, query, href: `${scheme}://${host}${port ? `:${port}` : ''}${path}${query !== null ? `?${query}` : ''}` };
}

/** The other reading of a URL a blocked pattern is tried on: every escape decoded, ";parameters" removed. */
function decodedReading(url: NormalizedUrl): NormalizedUrl {
  const path = resolveSegments(
    percent(url.path, true)
      .split('/')
      .map((segment) => segment.split(';')[0]!)
      .join('/'),
  );
  return { ...url, path, href: `${url.scheme}://${url.host}${url.port ? `:${url.port}` : ''}${path}${url.query !== null ? `?${url.query}` : ''}` };
}

interface Pattern {
  scheme: RegExp;
  authority: RegExp;
  /** The path part (without query), or null: the whole site. */
  path: string | null;
  /** The query part, when the pattern names one. */
  query: string | null;
}

const escape = (text: string) => text.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
const compile = (text: string, any: string) => text.split('*').map(escape).join(any);

function parsePattern(pattern: string): Pattern | null {
  const parts = /^([^:/]+):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/.exec(pattern.trim());
  if (!parts) return null;
  const scheme = parts[1]!.toLowerCase();
  // The host as a URL's is: lower case, no trailing dot, no default port.
  const authority = parts[2]!
    .toLowerCase()
    .replace(/\.+(?=(:\d+)?$)/, '')
    .replace(scheme === 'https' ? /:443$/ : scheme === 'http' ? /:80$/ : /$^/, '');
  const rawPath = parts[3] ?? '';
  const path = rawPath === '' ? null : rawPath.includes('*') ? percent(rawPath) : resolveSegments(percent(rawPath));
  return { scheme: new RegExp(`^${compile(scheme, '[^:/]*')}$`, 'i'), authority: new RegExp(`^${compile(authority, '[^/]*')}$`, 'i'), path, query: parts[4] === undefined ? null : percent(parts[4]) };
}

function siteMatches(pattern: Pattern, url: NormalizedUrl): boolean {
  return pattern.scheme.test(url.scheme) && pattern.authority.test(`${url.host}${url.port ? `:${url.port}` : ''}`);
}

/** An allowed pattern: the normalised URL, exactly as the pattern says (a pattern without a path: the whole site). */
export function allowedBy(pattern: string, url: NormalizedUrl): boolean {
  const p = parsePattern(pattern);
  if (!p || !siteMatches(p, url)) return false;
  if (p.path === null) return true;
  const target = p.query === null ? `${url.path}${url.query !== null ? `?${url.query}` : ''}` : `${url.path}?${url.query ?? ''}`;
  const wanted = p.query === null ? compile(p.path, '.*') + (p.path.endsWith('*') ? '' : '(\\?.*)?') : `${compile(p.path, '.*')}\\?${compile(p.query, '.*')}`;
  return new RegExp(`^${wanted}$`, 'i').test(target);
}

/** A blocked pattern: the path, its variants and everything below it, on both readings of the URL. */
export function blockedBy(pattern: string, url: NormalizedUrl): boolean {
  const p = parsePattern(pattern);
  if (!p) return false;
  return [url, decodedReading(url)].some((reading) => {
    if (!siteMatches(p, reading)) return false;
    if (p.path === null) return true;
    const base = p.path.replace(/\/+$/, '');
    const pathRule = p.path.endsWith('*') ? compile(p.path, '.*') : `${compile(base, '.*')}(/.*)?`;
    if (!new RegExp(`^${pathRule}$`, 'i').test(reading.path)) return false;
    return p.query === null || new RegExp(`^${compile(p.query, '.*')}$`, 'i').test(reading.query ?? '');
  });
}

/** Whether a pattern is one the rules can use: scheme://host[/path][?query], `*` as the wildcard. */
export function isUrlPattern(pattern: string): boolean {
  return parsePattern(pattern) !== null;
}

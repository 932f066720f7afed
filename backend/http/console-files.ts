// The web console's files, served by the service itself at /admin (same origin as the API, so
// its session cookie and CSRF token work and nothing crosses origins): admin.html for every
// console path (the console routes in the browser), the ESP for the branding preview, and the
// built assets, by exact file name only. A strict Content-Security-Policy allows scripts, styles
// and connections from the service alone; the console cannot be framed (the preview only by it).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { FastifyInstance, FastifyReply } from 'fastify';

import { ServiceError } from '../errors.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * The ESP itself (index.html of the same build) at /admin/esp-preview.html, for the branding
 * page's preview: it may be framed by the console (same origin) and nothing else; framed with
 * #preview it talks to the console, never to an agent.
 */
const PREVIEW_HEADERS = {
  ...SECURITY_HEADERS,
  'content-security-policy': SECURITY_HEADERS['content-security-policy'].replace("frame-ancestors 'none'", "frame-ancestors 'self'"),
  'x-frame-options': 'SAMEORIGIN',
};

/** Where the build put the console: a directory with admin.html and assets/ (dist/renderer). */
export function defaultConsoleDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  // Built: dist/backend/http → dist/renderer. From source (tests): backend/http → dist/renderer.
  for (const candidate of [join(here, '..', '..', 'renderer'), join(here, '..', '..', 'dist', 'renderer')]) {
    if (existsSync(join(candidate, 'admin.html')) && existsSync(join(candidate, 'assets'))) return candidate;
  }
  return undefined;
}

export function consoleFiles(app: FastifyInstance, configured?: string): void {
  const found = configured ?? defaultConsoleDir();
  const dir = found && existsSync(join(found, 'admin.html')) && existsSync(join(found, 'assets')) ? found : undefined;
  const assets = dir ? new Set(readdirSync(join(dir, 'assets'))) : new Set<string>();
  // The build links its assets relative to the page (./assets/…, which Electron's app:// needs);
  // the console's page answers deep paths too (/admin/devices/…), so its links are made absolute.
  const absolute = (html: Buffer) => html.toString('utf8').replaceAll('"./assets/', '"/admin/assets/');
  const page = dir ? absolute(readFileSync(join(dir, 'admin.html'))) : undefined;
  const esp = dir && existsSync(join(dir, 'index.html')) ? absolute(readFileSync(join(dir, 'index.html'))) : undefined;

  const sendPage = (reply: FastifyReply) => {
    if (!page) throw new ServiceError('CONSOLE_NOT_BUILT', `no built console${configured ? ` in ${configured}` : ''} (admin.html and assets/)`);
    return reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' }).type('text/html; charset=utf-8').send(page);
  };

  app.get('/admin', (_request, reply) => reply.redirect('/admin/', 308));
  app.get('/admin/', (_request, reply) => sendPage(reply));
  app.get('/admin/esp-preview.html', (_request, reply) => {
    if (!esp) throw new ServiceError('CONSOLE_NOT_BUILT', `no built ESP${configured ? ` in ${configured}` : ''} (index.html) to preview the branding with`);
    return reply.headers({ ...PREVIEW_HEADERS, 'cache-control': 'no-store' }).type('text/html; charset=utf-8').send(esp);
  });
  app.get('/admin/assets/:file', (request, reply) => {
    const { file } = request.params as { file: string };
    if (!dir || !assets.has(file) || !/^[A-Za-z0-9._-]+$/.test(file)) return reply.callNotFound();
    return reply
      .headers({ ...SECURITY_HEADERS, 'cache-control': 'public, max-age=31536000, immutable' })
      .type(TYPES[extname(file)] ?? 'application/octet-stream')
      .send(readFileSync(join(dir, 'assets', file)));
  });
  // The console's own paths (/admin/devices/…): the same page; the console routes in the browser.
  app.get('/admin/*', (request, reply) => (/^\/admin\/[A-Za-z0-9/_.-]*$/.test(request.url.split('?')[0]!) ? sendPage(reply) : reply.callNotFound()));
}

// The demo tenant's kiosk site, served on loopback for the lab and the end-to-end tests: the
// lobby's visitor pages at https://visit.fabrikam.example/ (home, opening hours, a staff area the
// profile blocks, a redirect into it, a window.open and a frame of a site it does not allow) and
// that other site, https://news.contoso.example/. Chromium reaches both names here through a host
// mapping and trusts the site's key through a pin (`chromiumArgs`). It counts every request, so
// a test can prove a refused page never reached the server.
import { createHash, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';

import { createCa, issueServerCertificate } from '../backend/tenant/pki.js';

export const VISITOR_HOME = 'https://visit.fabrikam.example/';
export const OTHER_SITE = 'https://news.contoso.example/';

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>body{font:18px system-ui,sans-serif;margin:2rem}a,button{display:block;margin:.6rem 0;font:inherit}</style></head><body><h1>${title}</h1>${body}</body></html>`;

const PAGES: Record<string, Record<string, string>> = {
  'visit.fabrikam.example': {
    '/': page(
      'Welcome to Fabrikam',
      `<p id="visitor">Please sign in at the desk.</p>
<a id="hours" href="/hours">Opening hours</a>
<a id="staff" href="/staff/">Staff area</a>
<a id="to-staff" href="/go/staff">Staff area (via a redirect)</a>
<a id="news" href="${OTHER_SITE}">Contoso news</a>
<a id="news-tab" href="${OTHER_SITE}" target="_blank">Contoso news in a new window</a>
<a id="hours-tab" href="/hours" target="_blank">Opening hours in a new window</a>
<a id="map" href="/map">Map</a>`,
    ),
    '/hours': page('Opening hours', '<p>Monday to Friday, 8:00 to 18:00.</p><a id="home" href="/">Back to the welcome page</a>'),
    '/map': page('Map', `<iframe id="frame" title="News" src="${OTHER_SITE}" width="400" height="200"></iframe>`),
    '/staff/': page('Staff only', '<p>Rotas and door codes.</p>'),
  },
  'news.contoso.example': { '/': page('Contoso news', '<p>Today: nothing.</p>') },
};

export class VisitorSite {
  /** Requests seen, as "host path" (e.g. "visit.fabrikam.example /staff/"). */
  readonly requests: string[];
  /** While true, every connection is dropped without an answer (a site that is down). */
  down = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly certificatePem: string,
    requests: string[],
  ) {
    this.requests = requests;
  }

  static async start(): Promise<VisitorSite> {
    const ca = await createCa('selfdeploy lab visitor site CA', 1);
    const tls = await issueServerCertificate(ca, Object.keys(PAGES), 1);
    const requests: string[] = [];
    const holder: { site?: VisitorSite } = {};
    const server = createServer({ cert: tls.certificatePem + ca.certificatePem, key: tls.privateKeyPem }, (request, response) => {
      if (holder.site?.down) {
        request.socket.destroy();
        return;
      }
      const host = (request.headers.host ?? '').replace(/:\d+$/, '');
      const path = new URL(request.url ?? '/', 'https://x').pathname;
      requests.push(`${host} ${path}`);
      if (host === 'visit.fabrikam.example' && path === '/go/staff') {
        response.writeHead(302, { Location: '/staff/' }).end();
        return;
      }
      const html = PAGES[host]?.[path];
      response.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(html ?? page('Not found', ''));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    holder.site = new VisitorSite(server, (server.address() as { port: number }).port, tls.certificatePem, requests);
    return holder.site;
  }

  /** Chromium switches that send both names to this server and trust its key (only with its own profile directory). */
  get chromiumArgs(): string[] {
    const spki = new X509Certificate(this.certificatePem).publicKey.export({ type: 'spki', format: 'der' });
    const rules = Object.keys(PAGES).map((host) => `MAP ${host} 127.0.0.1:${this.port}`);
    return [`--host-resolver-rules=${rules.join(', ')}`, `--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`];
  }

  /** How many requests reached `url` (host and path). */
  hits(url: string): number {
    const { hostname, pathname } = new URL(url);
    return this.requests.filter((seen) => seen === `${hostname} ${pathname}`).length;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

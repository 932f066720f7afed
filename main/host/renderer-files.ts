// The renderer's files as both hosts serve them (the dev host over HTTP, Electron over app://):
// only below the renderer directory, never through a symlink out, with the one CSP the ESP runs
// under — scripts and styles from itself only, connections only to the host's own endpoint.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The Content-Security-Policy of the ESP; `connect` is what it may connect to besides itself. */
export function rendererCsp(connect: string | null): string {
  return `default-src 'self'; connect-src ${connect ?? "'none'"}; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`;
}

export interface RendererFile {
  status: 200 | 400 | 404;
  body?: Buffer;
  contentType?: string;
}

/** The file for a request path ("/", "/assets/x.js"), percent-encoded as it came. */
export function rendererFile(dir: string | undefined, rawPath: string): RendererFile {
  if (!dir || !existsSync(dir)) return { status: 404 };
  let pathname: string;
  try {
    pathname = decodeURIComponent(rawPath);
  } catch {
    return { status: 400 };
  }
  const root = realpathSync(dir);
  let file = join(root, pathname === '/' ? 'index.html' : pathname);
  try {
    file = realpathSync(file);
  } catch {
    return { status: 404 };
  }
  if (!file.startsWith(root + sep) || !statSync(file).isFile()) return { status: 404 };
  return { status: 200, body: readFileSync(file), contentType: TYPES[extname(file)] ?? 'application/octet-stream' };
}

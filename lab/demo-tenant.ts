// A demo tenant for the lab and the end-to-end tests, made the way an administrator would, through
// the admin API: branding, a kiosk profile (with a time zone), items of every kind (a password and
// a Chromium policy, a trusted root and a TPM-held device client certificate, Wi-Fi and wired
// 802.1X networks, a real .deb built with dpkg-deb, a script) and a group holding the lab device.
// Its kiosk shows the lab's visitor site (visitor-site.ts), with a staff area it blocks.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { z } from 'zod';

import type { ServiceClient } from '../protocol/node/https-client.js';
import { VISITOR_HOME } from './visitor-site.js';

/** The admin API as the caller reaches it (ServiceClient in the lab and benchmarks, inject in tests). */
export type AdminCall = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: { json?: unknown; bytes?: Uint8Array; query?: Record<string, string> }) => Promise<unknown>;

/** The admin API over HTTPS, through a ServiceClient that carries an admin token. */
export function clientAdminCall(client: ServiceClient): AdminCall {
  return (method, path, body = {}) =>
    client.call(method, path, {
      schema: z.unknown(),
      ...(body.json !== undefined ? { json: body.json } : {}),
      ...(body.bytes ? { bytes: body.bytes } : {}),
      ...(body.query ? { query: body.query } : {}),
    });
}

export const DEMO_GROUP = 'lobby-kiosks';

/** The demo profile's end state: a browser kiosk on the lab's visitor site, its staff area blocked. */
export const DEMO_KIOSK = {
  type: 'kiosk',
  mode: 'browser',
  homeUrl: VISITOR_HOME,
  allowedUrls: ['https://visit.fabrikam.example/*'],
  blockedUrls: ['https://visit.fabrikam.example/staff/*'],
  showEndSessionButton: true,
  idleRestartMinutes: 5,
} as const;
export const DEMO_APP_MARKER = '/opt/lobby-browser/bin/lobby-browser';

/** Builds a small real Debian package: what `apps` installs in the demo. */
export function buildDemoPackage(version = '1.0'): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-demo-deb-'));
  try {
    mkdirSync(join(dir, 'pkg', 'DEBIAN'), { recursive: true });
    mkdirSync(join(dir, 'pkg', 'opt', 'lobby-browser', 'bin'), { recursive: true });
    writeFileSync(
      join(dir, 'pkg', 'DEBIAN', 'control'),
      `Package: lobby-browser\nVersion: ${version}\nArchitecture: all\nMaintainer: selfdeploy lab <lab@selfdeploy.invalid>\nDescription: the selfdeploy lab's kiosk browser stand-in\n`,
    );
    writeFileSync(join(dir, 'pkg', 'opt', 'lobby-browser', 'bin', 'lobby-browser'), '#!/bin/sh\necho "lobby browser"\n', { mode: 0o755 });
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-b', join(dir, 'pkg'), join(dir, 'lobby-browser.deb')], { stdio: 'ignore' });
    return readFileSync(join(dir, 'lobby-browser.deb'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const DEMO_SCRIPT = '#!/bin/sh\nset -e\nmkdir -p "$SELFDEPLOY_ROOT/etc/selfdeploy"\necho "configured by $SELFDEPLOY_ITEM" > "$SELFDEPLOY_ROOT/etc/selfdeploy/welcome.txt"\n';

export interface DemoTenantOptions {
  /** The lab device (or the bench's devices) to put in the demo group. */
  deviceId: string | readonly string[];
  /** A CA certificate (PEM) to hand out as a trusted root. */
  rootCaPem: string;
  /** ESP timeout of the profile. */
  timeoutMinutes?: number;
  /** Extra profile settings merged over the demo's. */
  profile?: Record<string, unknown>;
}

export async function seedDemoTenant(call: AdminCall, options: DemoTenantOptions): Promise<{ packageSha256: string }> {
  await call('PUT', '/v1/admin/branding', { json: { organizationName: 'Fabrikam Lobby', accentColor: '#0f6cbd', support: { email: 'help@fabrikam.example' } } });
  await call('POST', '/v1/admin/groups', { json: { name: DEMO_GROUP, kind: 'static', description: 'Lobby kiosks (selfdeploy lab)' } });
  for (const id of typeof options.deviceId === 'string' ? [options.deviceId] : options.deviceId) await call('PUT', `/v1/admin/groups/${DEMO_GROUP}/members/${id}`, { json: {} });
  await call('PUT', '/v1/admin/profiles/lobby-kiosk', {
    json: {
      description: 'Lobby kiosk, browser mode',
      deviceName: { template: 'LOBBY-%RAND:4%' },
      oobe: { timeZone: 'Europe/Berlin' },
      esp: { timeoutMinutes: options.timeoutMinutes ?? 30, allowReset: true, allowLogCollection: true, blockingApps: { selected: ['lobby-browser'] } },
      endState: DEMO_KIOSK,
      ...options.profile,
    },
  });
  await call('POST', '/v1/admin/profiles/lobby-kiosk/assignments', { json: { group: DEMO_GROUP } });

  const deb = buildDemoPackage();
  const app = (await call('POST', '/v1/admin/content', { bytes: deb, query: { label: 'lobby-browser_1.0_all.deb' } })) as { sha256: string; size: number };
  const script = Buffer.from(DEMO_SCRIPT);
  const uploadedScript = (await call('POST', '/v1/admin/content', { bytes: script, query: { label: 'welcome.sh' } })) as { sha256: string; size: number };
  const items: [string, string, unknown][] = [
    ['policies', 'password-length', { kind: 'password', minLength: 12 }],
    ['policies', 'kiosk-browser', { kind: 'chromium', policies: { HomepageLocation: 'https://visit.fabrikam.example/', URLBlocklist: ['*'], URLAllowlist: ['https://visit.fabrikam.example/*'], IncognitoModeAvailability: 1 } }],
    ['certificates', 'fabrikam-root', { type: 'trusted-root', pem: options.rootCaPem }],
    ['certificates', 'device-network', { type: 'device-client', purpose: 'network' }],
    ['networks', 'lobby-wifi', { type: 'wifi', ssid: 'Fabrikam Lobby', security: 'wpa2-psk', psk: 'lab-only-passphrase' }],
    ['networks', 'lobby-wired', { type: 'wired-8021x', identity: 'kiosk@fabrikam.example', clientCertificate: 'device-network', caCertificate: 'fabrikam-root', serverDomain: 'radius.fabrikam.example' }],
    [
      'apps',
      'lobby-browser',
      { package: 'lobby-browser', version: '1.0', installer: 'deb', content: { sha256: app.sha256, size: app.size }, detection: { type: 'file-exists', path: DEMO_APP_MARKER } },
    ],
    ['scripts', 'welcome', { interpreter: 'sh', content: { sha256: uploadedScript.sha256, size: uploadedScript.size }, timeoutSeconds: 60 }],
  ];
  for (const [collection, name, body] of items) {
    await call('PUT', `/v1/admin/${collection}/${name}`, { json: body });
    await call('POST', `/v1/admin/${collection}/${name}/assignments`, { json: { group: DEMO_GROUP } });
  }
  return { packageSha256: app.sha256 };
}

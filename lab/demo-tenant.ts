// A demo tenant for the lab and the end-to-end tests, made the way an administrator would, through
// the admin API: branding, a kiosk profile (with a time zone), items of every kind (a password and
// a Chromium policy, a trusted root and a TPM-held device client certificate, Wi-Fi and wired
// 802.1X networks, a real .deb built with dpkg-deb, a script) and a group holding the lab device.
// Its kiosk shows the lab's visitor site (visitor-site.ts), with a staff area it blocks.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { AnswerOf, Endpoint, InputArgs } from '../protocol/api/endpoint.js';
import { admin, documents } from '../protocol/api/endpoints.js';
import type { RequestOptions, ServiceClient } from '../protocol/node/https-client.js';
import { VISITOR_HOME } from './visitor-site.js';

/** The admin API as the caller reaches it (ServiceClient in the lab and benchmarks, inject in tests). */
export type AdminCall = <E extends Endpoint>(endpoint: E, ...input: InputArgs<E>) => Promise<AnswerOf<E>>;

/** The admin API over HTTPS, through a ServiceClient that carries an admin token. */
export function clientAdminCall(client: ServiceClient): AdminCall {
  // The same input, without the client's own options (headers, retry), which are all optional.
  return (endpoint, ...input) => client.request(endpoint, ...(input as InputArgs<typeof endpoint, RequestOptions>));
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
  await call(admin.tenant.putBranding, { body: { organizationName: 'Fabrikam Lobby', accentColor: '#0f6cbd', support: { email: 'help@fabrikam.example' } } });
  await call(admin.groups.create, { body: { name: DEMO_GROUP, kind: 'static', description: 'Lobby kiosks (selfdeploy lab)' } });
  for (const deviceId of typeof options.deviceId === 'string' ? [options.deviceId] : options.deviceId) await call(admin.groups.addMember, { params: { name: DEMO_GROUP, deviceId } });
  await call(documents.profiles.put, {
    params: { name: 'lobby-kiosk' },
    body: {
      description: 'Lobby kiosk, browser mode',
      deviceName: { template: 'LOBBY-%RAND:4%' },
      oobe: { timeZone: 'Europe/Berlin' },
      esp: { timeoutMinutes: options.timeoutMinutes ?? 30, allowReset: true, allowLogCollection: true, blockingApps: { selected: ['lobby-browser'] } },
      endState: { ...DEMO_KIOSK, allowedUrls: [...DEMO_KIOSK.allowedUrls], blockedUrls: [...DEMO_KIOSK.blockedUrls] },
      ...options.profile,
    },
  });
  await call(documents.profiles.assign, { params: { name: 'lobby-kiosk' }, body: { group: DEMO_GROUP } });

  const app = await call(admin.content.upload, { body: buildDemoPackage(), query: { label: 'lobby-browser_1.0_all.deb' } });
  const script = await call(admin.content.upload, { body: Buffer.from(DEMO_SCRIPT), query: { label: 'welcome.sh' } });
  const assign = async (group: { assign: Endpoint & typeof documents.policies.assign }, name: string) => call(group.assign, { params: { name }, body: { group: DEMO_GROUP } });
  await call(documents.policies.put, { params: { name: 'password-length' }, body: { kind: 'password', minLength: 12 } });
  await assign(documents.policies, 'password-length');
  await call(documents.policies.put, {
    params: { name: 'kiosk-browser' },
    body: { kind: 'chromium', policies: { HomepageLocation: 'https://visit.fabrikam.example/', URLBlocklist: ['*'], URLAllowlist: ['https://visit.fabrikam.example/*'], IncognitoModeAvailability: 1 } },
  });
  await assign(documents.policies, 'kiosk-browser');
  const { certificate, network, app: apps, script: scripts } = documents.items;
  await call(certificate.put, { params: { name: 'fabrikam-root' }, body: { type: 'trusted-root', pem: options.rootCaPem } });
  await assign(certificate, 'fabrikam-root');
  await call(certificate.put, { params: { name: 'device-network' }, body: { type: 'device-client', purpose: 'network' } });
  await assign(certificate, 'device-network');
  await call(network.put, { params: { name: 'lobby-wifi' }, body: { type: 'wifi', ssid: 'Fabrikam Lobby', security: 'wpa2-psk', psk: 'lab-only-passphrase' } });
  await assign(network, 'lobby-wifi');
  await call(network.put, {
    params: { name: 'lobby-wired' },
    body: { type: 'wired-8021x', identity: 'kiosk@fabrikam.example', clientCertificate: 'device-network', caCertificate: 'fabrikam-root', serverDomain: 'radius.fabrikam.example' },
  });
  await assign(network, 'lobby-wired');
  await call(apps.put, {
    params: { name: 'lobby-browser' },
    body: { package: 'lobby-browser', version: '1.0', installer: 'deb', content: { sha256: app.sha256, size: app.size }, detection: { type: 'file-exists', path: DEMO_APP_MARKER } },
  });
  await assign(apps, 'lobby-browser');
  await call(scripts.put, { params: { name: 'welcome' }, body: { interpreter: 'sh', content: { sha256: script.sha256, size: script.size }, timeoutSeconds: 60 } });
  await assign(scripts, 'welcome');
  return { packageSha256: app.sha256 };
}

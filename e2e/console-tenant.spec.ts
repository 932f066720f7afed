// The admin console's tenant pages end to end in Debian's Chromium, against the real service over
// HTTPS seeded with the lab's demo tenant: device setup (a policy written as YAML with its errors
// at their path, assigned and taken off a group; an app made from content uploaded with a
// progress bar), the branding with the real ESP previewing every edit before it is saved, a
// vendor CA bundle imported with a line per file, an agent release published and withdrawn, and
// a group's panel (a static member taken out, an empty group deleted). Screenshots go to
// .test-results/e2e/screenshots.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, test, type Page } from '@playwright/test';

import { DEMO_GROUP } from '../lab/demo-tenant.js';
import { YEAR_MS, derOf, labCa } from '../lab/ek-pki.js';
import { LabDevice } from '../main/deploy/testing/lab-device.js';
import { admin as adminApi, documents } from '../protocol/api/endpoints.js';
import { textOn } from '../renderer/src/contrast.js';
import { consoleShot, signInToConsole } from './console-page.js';

const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;

test.describe.serial('the console for the tenant', () => {
  let device: LabDevice;
  let origin: string;
  let dir: string;

  test.use({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });

  test.beforeAll(async () => {
    device = await LabDevice.create('LAB-CONSOLE-2');
    await device.register();
    origin = device.service.url!.origin;
    dir = mkdtempSync(join(tmpdir(), 'sd-console-'));
  });

  test.afterAll(async () => {
    await device?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const signIn = (page: Page) => signInToConsole(page, origin, device.service.adminToken);

  test('device setup: a policy as YAML with errors at their path, assigned and taken off a group, deleted', async ({ page }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Device setup' }).click();
    await expect(page).toHaveURL(`${origin}/admin/setup/policies`);
    await expect(page.getByRole('row', { name: /password-length/ })).toContainText(DEMO_GROUP);

    await page.getByRole('button', { name: 'New policy' }).click();
    await page.getByLabel('Name').fill('screen-lock-5');
    const yaml = page.getByLabel('Its settings (YAML)');
    await yaml.fill('kind: screen-lock\nidleLockMinutes: soon\n');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.locator('#item-findings')).toContainText('idleLockMinutes');
    await yaml.fill('kind: screen-lock\nidleLockMinutes: 5\n');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByRole('status')).toContainText('Saved screen-lock-5 (version 1)');
    expect((await device.service.call(documents.policies.get, { params: { name: 'screen-lock-5' } })).settings).toMatchObject({ kind: 'screen-lock', idleLockMinutes: 5 });

    // Assigned to the kiosks' group, it would lock the auto-logon kiosk with a password nobody
    // there knows: refused, naming the device and the groups that combine.
    const row = page.getByRole('row', { name: /screen-lock-5/ });
    await row.getByLabel('Assign screen-lock-5 to a group').selectOption(DEMO_GROUP);
    await row.getByRole('button', { name: 'Assign', exact: true }).click();
    await expect(row.getByRole('status')).toContainText('AUTOLOGON_BROKEN_BY_POLICY');
    await expect(row.getByRole('status')).toContainText(`device LAB-CONSOLE-2 (groups ${DEMO_GROUP})`);
    await row.getByRole('button', { name: 'Edit screen-lock-5' }).click();
    await yaml.fill('kind: screen-lock\nidleLockMinutes: 5\nrequirePasswordToUnlock: false\n');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByRole('status').last()).toContainText('Saved screen-lock-5 (version 2)');
    await row.getByLabel('Assign screen-lock-5 to a group').selectOption(DEMO_GROUP);
    await row.getByRole('button', { name: 'Assign', exact: true }).click();
    await expect(row.getByRole('status')).toHaveText(`Assigned screen-lock-5 to ${DEMO_GROUP}.`);
    await expect(row.getByRole('list', { name: 'Groups screen-lock-5 is assigned to' })).toContainText(DEMO_GROUP);
    // The device in that group now receives it (the assignment preview the device page shows).
    const receives = await device.service.call(adminApi.devices.assignments, { params: { id: device.deviceId } });
    expect(receives.items.map((i) => i.name)).toContain('screen-lock-5');
    await consoleShot(page, 'setup-policies');

    // Assigned, it cannot be deleted; taken off, it can.
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Delete screen-lock-5' }).click();
    await expect(page.getByRole('status').last()).toContainText('IN_USE: policy "screen-lock-5" is assigned to lobby-kiosks');
    await row.getByRole('button', { name: `Take screen-lock-5 off ${DEMO_GROUP}` }).click();
    await expect(row.getByRole('status')).toHaveText(`screen-lock-5 is no longer assigned to ${DEMO_GROUP}.`);
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Delete screen-lock-5' }).click();
    await expect(page.getByRole('row', { name: /screen-lock-5/ })).toHaveCount(0);

    // A network's key is never shown: only that it is set, with its fingerprint.
    await page.getByRole('link', { name: 'Networks' }).click();
    await page.getByRole('button', { name: 'Edit lobby-wifi' }).click();
    await expect(page.getByText('Secret fields that are set')).toContainText('psk');
    expect(await page.getByLabel('Its settings (YAML)').inputValue()).not.toContain('lab-only-passphrase');
    await expect(page.locator('body')).not.toContainText('lab-only-passphrase');

    // Nor a directory bind's password: saved once, then shown as set; saved again without it, kept.
    await page.getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('button', { name: 'New policy' }).click();
    await page.getByLabel('Name').fill('directory-reader');
    await yaml.fill('kind: directory-bind\nbindDn: cn=reader,ou=services,dc=fabrikam,dc=example\nbindPassword: "reader pass #2026"\n');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByRole('status')).toContainText('Saved directory-reader (version 1)');
    const before = (await device.service.call(documents.policies.get, { params: { name: 'directory-reader' } })).secrets['bindPassword'];
    expect(before?.fingerprint).toMatch(/^hmac-sha256:/);
    await page.getByRole('button', { name: 'Edit directory-reader' }).click();
    await expect(page.getByText('Secret fields that are set')).toContainText('bindPassword');
    expect(await yaml.inputValue()).not.toContain('reader pass');
    await expect(page.locator('body')).not.toContainText('reader pass');
    await yaml.fill((await yaml.inputValue()).replace('cn=reader,', 'cn=sssd-reader,'));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByRole('status').last()).toContainText('Saved directory-reader (version 2)');
    // The same password as before: the same keyed fingerprint.
    const after = await device.service.call(documents.policies.get, { params: { name: 'directory-reader' } });
    expect(after.settings).toEqual({ kind: 'directory-bind', bindDn: 'cn=sssd-reader,ou=services,dc=fabrikam,dc=example' });
    expect(after.secrets['bindPassword']).toEqual(before);
  });

  test('apps: content uploaded with a progress bar, and an app made from it', async ({ page }) => {
    await signIn(page);
    await page.goto(`${origin}/admin/setup/apps`);
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    const file = join(dir, 'kiosk-tools_2.1_all.deb');
    writeFileSync(file, bytes);
    // The upload is held at the service's door until the progress bar has been seen.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const uploads = (url: URL) => url.pathname === '/v1/admin/content';
    await page.route(uploads, async (route) => {
      if (route.request().method() === 'POST') await held;
      await route.continue();
    });
    await page.getByLabel(/Upload a file/).setInputFiles(file);
    await expect(page.getByRole('progressbar', { name: 'Upload of kiosk-tools_2.1_all.deb' })).toBeVisible();
    await consoleShot(page, 'setup-upload');
    release();
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await expect(page.getByRole('status')).toContainText(`Uploaded kiosk-tools_2.1_all.deb (SHA-256 ${sha256})`);
    await expect(page.getByRole('progressbar')).toHaveCount(0);
    await page.unroute(uploads);

    const content = page.getByRole('row', { name: /kiosk-tools_2\.1_all\.deb/ });
    await expect(content).toContainText('3.0 MiB');
    await content.getByRole('button', { name: /New app/ }).click();
    await page.getByLabel('Name').fill('kiosk-tools');
    const yaml = page.getByLabel('Its settings (YAML)');
    expect(await yaml.inputValue()).toContain(sha256);
    await yaml.fill((await yaml.inputValue()).replace('package: example', 'package: kiosk-tools').replace('version: "1.0"', 'version: "2.1"'));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByRole('status').first()).toContainText('Saved kiosk-tools (version 1)');
    const app = await device.service.call(documents.items.app.get, { params: { name: 'kiosk-tools' } });
    expect(app.body).toMatchObject({ package: 'kiosk-tools', content: { sha256, size: bytes.length } });
    await consoleShot(page, 'setup-apps');
  });

  test('branding: the real ESP previews each edit before it is saved; saved, devices get it', async ({ page }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Branding' }).click();
    const preview = page.frameLocator('iframe[title="Preview of the setup screen in this branding"]');
    // The ESP renderer itself, in the tenant's branding, playing a deployment on its way.
    await expect(preview.locator('.organization')).toHaveText('Fabrikam Lobby');
    await expect(preview.getByRole('heading', { name: 'Setting up your device' })).toBeVisible();
    await expect(preview.getByRole('heading', { name: 'Device setup' })).toBeVisible();

    await page.getByLabel('Organization name').fill('Contoso Pharmacy');
    await page.getByLabel('Accent colour (#RRGGBB)').fill('#ffd400');
    await expect(preview.locator('.organization')).toHaveText('Contoso Pharmacy');
    // A light accent gets dark text on it: the ESP's contrast rule, not the console's guess.
    await expect(preview.locator('.banner')).toHaveCSS('background-color', 'rgb(255, 212, 0)');
    expect(textOn('#ffd400')).not.toBe('#ffffff');
    await expect(preview.locator('.banner')).toHaveCSS('color', rgb(textOn('#ffd400')));
    await page.getByLabel('Failed').check();
    await expect(preview.getByText('APP_INSTALL_FAILED')).toBeVisible();
    await consoleShot(page, 'branding');
    // Nothing is saved by previewing.
    expect((await device.service.call(adminApi.tenant.getBranding)).organizationName).toBe('Fabrikam Lobby');

    const logo = join(dir, 'logo.svg');
    writeFileSync(logo, '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="#123456"/></svg>');
    await page.getByLabel(/^Logo/).setInputFiles(logo);
    await expect(preview.locator('img.logo')).toBeVisible();
    await page.getByRole('button', { name: 'Save branding' }).click();
    await expect(page.getByRole('status')).toHaveText('Saved. Devices show it from their next setup.');
    const saved = await device.service.call(adminApi.tenant.getBranding);
    expect(saved).toMatchObject({ organizationName: 'Contoso Pharmacy', accentColor: '#ffd400', logo: { mediaType: 'image/svg+xml' } });
    // A reload shows what was saved, logo included — and the console itself wears the branding,
    // with the ESP's contrast rule for the text on the accent.
    await page.reload();
    await expect(page.getByLabel('Organization name')).toHaveValue('Contoso Pharmacy');
    await expect(page.locator('header.top')).toContainText('Contoso Pharmacy · selfdeploy');
    await expect(page.locator('header.top')).toHaveCSS('background-color', 'rgb(255, 212, 0)');
    await expect(page.locator('header.top')).toHaveCSS('color', rgb(textOn('#ffd400')));
    await expect(preview.locator('img.logo')).toBeVisible();
    // The preview frame may be framed by the console only.
    const headers = (await page.request.get(`${origin}/admin/esp-preview.html`)).headers();
    expect(headers['content-security-policy']).toContain("frame-ancestors 'self'");
  });

  test('trust anchors: a vendor bundle (a CA twice, an expired intermediate) with a line per file; one removed', async ({ page }) => {
    const now = Date.now();
    const root = await labCa('Console Vendor Root', new Date(now - YEAR_MS), new Date(now + 10 * YEAR_MS));
    const expired = await labCa('Console Vendor Intermediate 2019', new Date(now - 6 * YEAR_MS), new Date(now - YEAR_MS), root);
    const files = [join(dir, 'root.pem'), join(dir, 'root-copy.crt'), join(dir, 'intermediate-2019.der')];
    writeFileSync(files[0]!, root.certificate.toString('pem'));
    writeFileSync(files[1]!, root.certificate.toString('pem'));
    writeFileSync(files[2]!, derOf(expired.certificate));

    await signIn(page);
    await page.getByRole('link', { name: 'Trust anchors' }).click();
    await page.getByLabel(/Certificate files/).setInputFiles(files);
    await page.getByLabel('Label').first().fill('Console vendor');
    await page.getByRole('button', { name: 'Add', exact: true }).first().click();
    const outcomes = page.getByRole('table', { name: 'What became of each certificate' });
    await expect(outcomes.getByRole('row', { name: /^root\.pem/ })).toContainText('added');
    await expect(outcomes.getByRole('row', { name: /root-copy\.crt/ })).toContainText('duplicate');
    await expect(outcomes.getByRole('row', { name: /intermediate-2019\.der/ })).toContainText('expired');
    const anchors = page.getByRole('table').first();
    const anchor = anchors.getByRole('row', { name: /^Console vendor CN=Console Vendor Root/ });
    await expect(anchors.getByRole('row', { name: /^Console vendor CN=Console Vendor Intermediate 2019/ })).toContainText('expired');
    await expect(anchor).toContainText('EC P-384');
    await consoleShot(page, 'trust-anchors');

    page.once('dialog', (dialog) => void dialog.accept());
    await anchor.getByRole('button', { name: /Remove/ }).click();
    await expect(anchor).toHaveCount(0);
    const left = await device.service.call(adminApi.tenant.listTrustAnchors);
    expect(left.items.some((a) => a.subject === 'CN=Console Vendor Root')).toBe(false);
  });

  test('agent updates: uploaded content published as a critical release, then withdrawn', async ({ page }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Agent updates' }).click();
    const file = join(dir, 'selfdeploy-9.1.0.AppImage');
    writeFileSync(file, Buffer.from('not really an AppImage, but content all the same'));
    await page.getByLabel(/Upload a file/).setInputFiles(file);
    await expect(page.getByRole('status')).toContainText('Uploaded selfdeploy-9.1.0.AppImage');
    await page.getByRole('row', { name: /selfdeploy-9\.1\.0\.AppImage/ }).getByRole('button', { name: /Publish as release/ }).click();
    await page.getByLabel('Version').fill('9.1.0');
    await page.getByLabel(/Critical: devices install it/).check();
    await page.getByRole('button', { name: 'Publish as release', exact: true }).click();
    await expect(page.getByRole('status').first()).toHaveText('Published 9.1.0.');
    const release = page.getByRole('row', { name: /^9\.1\.0/ });
    await expect(release).toContainText('critical');
    // The public feed devices read names it.
    const feed = await page.request.get(`${origin}/v1/updates/linux/latest-linux.yml`);
    expect(await feed.text()).toContain('version: 9.1.0');
    await consoleShot(page, 'updates');
    page.once('dialog', (dialog) => void dialog.accept());
    await release.getByRole('button', { name: 'Withdraw 9.1.0' }).click();
    await expect(page.getByRole('row', { name: /^9\.1\.0/ })).toHaveCount(0);
    expect((await device.service.call(adminApi.releases.list)).items).toHaveLength(0);
  });

  test("groups: a group's members and assignments; a static member taken out; an empty group deleted", async ({ page }) => {
    await device.service.call(adminApi.groups.create, { body: { name: 'spare-shelf', kind: 'static', description: 'Spares' } });
    await device.service.call(adminApi.groups.addMember, { params: { name: 'spare-shelf', deviceId: device.deviceId } });
    await signIn(page);
    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByRole('button', { name: `Open ${DEMO_GROUP}` }).click();
    const panel = page.getByRole('region', { name: `Group ${DEMO_GROUP}` });
    await expect(panel).toContainText('profile lobby-kiosk');
    await expect(panel).toContainText('app lobby-browser');
    await expect(panel.getByRole('button', { name: `Delete group ${DEMO_GROUP}` })).toBeDisabled();
    await consoleShot(page, 'group');

    await page.getByRole('button', { name: 'Open spare-shelf' }).click();
    const spare = page.getByRole('region', { name: 'Group spare-shelf' });
    await spare.getByRole('button', { name: 'Remove LAB-CONSOLE-2' }).click();
    await expect(spare.getByRole('status')).toHaveText('LAB-CONSOLE-2 is no longer in spare-shelf.');
    expect((await device.service.call(adminApi.groups.get, { params: { name: 'spare-shelf' } })).members).toHaveLength(0);
    page.once('dialog', (dialog) => void dialog.accept());
    await spare.getByRole('button', { name: 'Delete group spare-shelf' }).click();
    await expect(page.getByRole('status')).toHaveText('Deleted group spare-shelf.');
    await expect(page.getByRole('row', { name: /spare-shelf/ })).toHaveCount(0);
  });
});

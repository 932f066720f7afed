// The admin console end to end in Debian's Chromium, served by the real service over HTTPS: an
// admin signs in with a token (kept nowhere in the browser: an HttpOnly session cookie), sees the
// overview, finds a device that failed and why, edits it (audited), watches the staging bench
// board follow a real self-deploy (swtpm, the engine) live without reloading, reads the audit log
// and verifies its chain, switches to German, and signs out; a change without the CSRF token is
// refused. Screenshots of each page (1280 px and a 10-inch tablet) go to .test-results/e2e/screenshots.
import { expect, test, type Page } from '@playwright/test';

import { LabDevice, holdItem } from '../main/deploy/testing/lab-device.js';
import { admin as adminApi } from '../protocol/api/endpoints.js';
import { csv, deviceRows } from '../lab/identities.js';
import { consoleShot, signInToConsole } from './console-page.js';

test.describe.serial('the admin console', () => {
  let device: LabDevice;
  let origin: string;
  const gates: (() => void)[] = [];

  test.use({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });

  test.beforeAll(async () => {
    device = await LabDevice.create('LAB-CONSOLE-1');
    await device.register();
    origin = device.service.url!.origin;
    // One run that fails on a required app: the device is "failed", with a code and a remedy.
    const app = (await device.service.request({ method: 'GET', url: '/v1/admin/apps/lobby-browser' })).json<{ body: Record<string, unknown> }>().body;
    await device.service.request({ method: 'PUT', url: '/v1/admin/apps/lobby-browser', payload: { ...app, detection: { type: 'file-exists', path: '/opt/not-there' } } });
    const { outcome } = await device.runEngine();
    expect(outcome.status).toBe('failed');
    await device.service.request({ method: 'PUT', url: '/v1/admin/apps/lobby-browser', payload: app });
  });

  test.afterAll(async () => {
    for (const release of gates) release();
    await device?.close();
  });

  const signIn = (page: Page) => signInToConsole(page, origin, device.service.adminToken);

  test('signs in with a token it keeps nowhere in the browser, and refuses a wrong one', async ({ page, context }) => {
    await page.goto(`${origin}/admin`);
    await expect(page).toHaveURL(`${origin}/admin/`);
    await page.getByLabel('API token').fill('sdp_wrong');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert')).toHaveText('This token is not valid, has expired or was revoked.');
    await consoleShot(page, 'sign-in');
    await page.getByLabel('API token').fill(device.service.adminToken);
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();

    const cookies = await context.cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: 'sd_session', httpOnly: true, secure: true, sameSite: 'Strict' })]);
    const stored = await page.evaluate<string>('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie');
    expect(stored).not.toContain(device.service.adminToken);
    expect(stored).not.toContain('sd_session');
    // A change made with the session but without its CSRF token is refused.
    const forged = await page.evaluate<number>(`fetch('/v1/admin/devices/${device.deviceId}', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"groupTag":"X"}' }).then((r) => r.status)`);
    expect(forged).toBe(403);
    const headers = (await page.request.get(`${origin}/admin/`)).headers();
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['x-frame-options']).toBe('DENY');
  });

  test('shows the week on the overview: the failure with its remedy, time per phase, a chart', async ({ page }) => {
    await signIn(page);
    const week = page.getByRole('region', { name: 'Deployments this week' });
    await expect(week.getByText('Failed')).toBeVisible();
    await expect(page.getByRole('cell', { name: /ITEM_NOT_DETECTED/ })).toBeVisible();
    await expect(page.getByRole('table').first()).toContainText('detection rule');
    await expect(page.getByRole('img', { name: 'Deployments per day: succeeded (green) and failed (red)' })).toBeVisible();
    await consoleShot(page, 'overview');
  });

  test('finds the failed device, shows why with the remedy, edits its tag (audited) from the keyboard', async ({ page }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByLabel('State').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect(page).toHaveURL(/state=failed/);
    const link = page.getByRole('link', { name: 'LAB-CONSOLE-1' });
    await expect(link).toBeVisible();
    await consoleShot(page, 'devices');
    await link.focus();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { name: /Failed: ITEM_NOT_DETECTED/ })).toBeVisible();
    await expect(page.getByText('What to do:')).toBeVisible();
    await expect(page.getByRole('region', { name: 'Deployment history' }).getByRole('cell', { name: /ITEM_NOT_DETECTED/ })).toBeVisible();
    // What it will receive (the assignment preview) and the certificate its join was issued.
    await expect(page.getByRole('region', { name: 'What it will receive' })).toContainText('lobby-browser');
    await expect(page.getByRole('region', { name: 'Issued certificates' }).getByRole('row')).toHaveCount(2);
    // Its attestation record: trusted through the swtpm CA's chain, the key that signed the quote.
    const attestation = page.getByRole('region', { name: 'TPM attestation' });
    await expect(attestation).toContainText('Its EK is trusted through');
    await expect(attestation).toContainText(/000b[0-9a-f]{64}/);
    // Focus is visible: the outline the tokens give every control.
    await page.getByLabel('Group tag').focus();
    expect(await page.evaluate<string>("getComputedStyle(document.activeElement).outlineStyle")).toBe('solid');
    await page.getByLabel('Group tag').fill('Bench 3');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('status')).toHaveText('Saved.');
    await consoleShot(page, 'device');
    const view = await device.service.call(adminApi.devices.get, { params: { id: device.deviceId } });
    expect(view.groupTag).toBe('Bench 3');
    // Its logs, asked for at its next check-in.
    await page.getByRole('button', { name: 'Collect logs at its next check-in' }).click();
    await expect(page.getByRole('status').first()).toHaveText('Asked: the device uploads its logs at its next check-in (hourly).');
    await expect(page.getByText(/Logs asked for at .*; waiting for the device's next check-in\./)).toBeVisible();
    expect((await device.service.call(adminApi.devices.get, { params: { id: device.deviceId } })).logsRequestedAt).not.toBeNull();
  });

  test('the staging bench board follows a self-deploy live, without a reload', async ({ page }) => {
    await device.resetRecord();
    await device.service.call(adminApi.devices.update, { params: { id: device.deviceId }, body: { groupTag: null } });
    await signIn(page);
    await page.getByRole('link', { name: 'Staging bench' }).click();
    await expect(page.getByText('No device is deploying now.').or(page.locator('tr[data-serial="LAB-CONSOLE-1"]'))).toBeVisible();
    const held = holdItem('welcome');
    gates.push(held.release);
    const run = device.runEngine({ wrapProviders: held.wrap });
    const row = page.locator('tr[data-serial="LAB-CONSOLE-1"]');
    await expect(row).toContainText('Deploying', { timeout: 60_000 });
    await expect(row).toContainText('Apps', { timeout: 60_000 });
    await expect(row).toContainText('welcome');
    await consoleShot(page, 'bench');
    held.release();
    expect((await run).outcome.status).toBe('provisioned');
    await expect(row).toContainText('Deployed', { timeout: 30_000 });
  });

  test('imports a CSV after showing each row, makes a dynamic group from a previewed rule, and a token shown once', async ({ page }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Import' }).click();
    const rows = [...deviceRows(4100, 2, 'Spare'), deviceRows(4100, 1, 'Spare')[0]!];
    await page.getByLabel('Choose a CSV file').setInputFiles({ name: 'bench.csv', mimeType: 'text/csv', buffer: Buffer.from(csv(rows)) });
    await expect(page.getByText('This file would not be imported')).toBeVisible();
    await expect(page.getByRole('row', { name: /^4 SN00004100/ })).toContainText('same serial number and manufacturer as row 2');
    await expect(page.getByRole('button', { name: /Import \d+ device/ })).toBeDisabled();
    await page.getByLabel('Choose a CSV file').setInputFiles({ name: 'bench.csv', mimeType: 'text/csv', buffer: Buffer.from(csv(rows.slice(0, 2))) });
    await expect(page.getByText('2 device(s) would be imported.')).toBeVisible();
    await consoleShot(page, 'import');
    await page.getByRole('button', { name: 'Import 2 device(s)' }).click();
    await expect(page.getByRole('status')).toHaveText('Imported 2 device(s).');

    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByLabel('Name').fill('spares');
    await page.getByLabel('Group tag is').fill('Spare');
    await page.getByRole('button', { name: 'Preview members' }).click();
    await expect(page.getByRole('heading', { name: '2 device(s) match this rule' })).toBeVisible();
    await page.getByRole('button', { name: 'Create group' }).click();
    await expect(page.getByRole('status')).toHaveText('Created group spares.');
    await expect(page.getByRole('row', { name: /spares dynamic group tag "Spare" 2/ })).toBeVisible();
    await consoleShot(page, 'groups');

    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByLabel('Name').fill('bench-screen');
    await page.getByLabel('Role').selectOption('read-only');
    await page.getByLabel('Group tags (comma-separated)').fill('Spare');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByLabel('Token secret').inputValue();
    expect(secret).toMatch(/^sdp_[A-Za-z0-9_-]{43}$/);
    const row = page.getByRole('row', { name: /bench-screen/ });
    await expect(row).toContainText('#Spare');
    await consoleShot(page, 'tokens');
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect(row).toContainText('revoked');
    const revoked = await page.request.get(`${origin}/v1/admin/devices`, { headers: { authorization: `Bearer ${secret}` } });
    expect(revoked.status()).toBe(401);
  });

  test('edits a profile as YAML with its lint inline, and the tenant settings', async ({ page }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Profiles' }).click();
    await page.getByRole('button', { name: 'Edit lobby-kiosk' }).click();
    const yaml = page.getByLabel('The profile (YAML)');
    const original = await yaml.inputValue();
    expect(original).toContain('endState:');
    // A schema error, shown at its path as it is typed.
    await yaml.fill(original.replace(/timeoutMinutes: \d+/, 'timeoutMinutes: soon'));
    await expect(page.locator('#lint-findings')).toContainText('esp.timeoutMinutes');
    await expect(page.locator('#lint-findings')).toContainText('Error');
    // A lint warning: more than four hours.
    await yaml.fill(original.replace(/timeoutMinutes: \d+/, 'timeoutMinutes: 300'));
    await expect(page.locator('#lint-findings')).toContainText('ESP_TIMEOUT_LONG');
    await consoleShot(page, 'profile');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await expect(page.getByRole('status')).toContainText('Saved lobby-kiosk');
    const saved = (await device.service.request({ method: 'GET', url: '/v1/admin/profiles/lobby-kiosk' })).json<{ profile: { esp: { timeoutMinutes: number } } }>();
    expect(saved.profile.esp.timeoutMinutes).toBe(300);
    await yaml.fill(original);
    await page.getByRole('button', { name: 'Save profile' }).click();
    await expect(page.getByRole('status')).toContainText('Saved lobby-kiosk');

    // The form edits the same document: a change there rewrites the YAML, and the lint follows.
    await expect(page.getByLabel('Time-out (minutes)')).toHaveValue('30');
    await expect(page.getByLabel('A kiosk')).toBeChecked();
    await page.getByLabel('Time-out (minutes)').fill('300');
    await expect(yaml).toHaveValue(/timeoutMinutes: 300/);
    await expect(page.locator('#lint-findings')).toContainText('ESP_TIMEOUT_LONG');
    await page.getByLabel('Allow continuing past a failed item').check();
    await expect(yaml).toHaveValue(/allowContinue: true/);
    await consoleShot(page, 'profile-form');
    // … and the YAML's edits show in the form.
    await yaml.fill(original.replace(/timeoutMinutes: \d+/, 'timeoutMinutes: 45'));
    await expect(page.getByLabel('Time-out (minutes)')).toHaveValue('45');
    await expect(page.getByLabel('Allow continuing past a failed item')).not.toBeChecked();

    // The sign-in screen for members of a directory: its fields write the end state, the lint checks it.
    await page.getByLabel('The sign-in screen').check();
    await page.getByLabel('Message on the login screen (empty: none)').fill('Authorised use only.');
    await page.getByLabel('Members of a directory sign in').check();
    await page.getByLabel('Directory (ldaps:// or ldap:// with StartTLS)').fill('ldap://ldap.fabrikam.example');
    await page.getByLabel('Search base').fill('dc=fabrikam,dc=example');
    // Typed key by key, as a person does: the comma and the space stay while the list is written.
    await page.getByLabel('Only these groups, comma-separated (empty: every member)').pressSequentially('lobby-staff, it');
    await expect(page.getByLabel('Only these groups, comma-separated (empty: every member)')).toHaveValue('lobby-staff, it');
    await page.getByLabel("Also the device's primary user").check();
    await expect(yaml).toHaveValue(/message: Authorised use only\./);
    await expect(yaml).toHaveValue(/uri: ldap:\/\/ldap\.fabrikam\.example/);
    await expect(yaml).toHaveValue(/groups:\s*\n\s*- lobby-staff\s*\n\s*- it/);
    await expect(yaml).toHaveValue(/primaryUser: true/);
    await expect(page.locator('#lint-findings')).not.toContainText('DIRECTORY_WITHOUT_TLS');
    // Without StartTLS, ldap:// sends passwords in the clear: the lint refuses it.
    await page.getByLabel('Upgrade ldap:// with StartTLS').uncheck();
    await expect(yaml).toHaveValue(/startTls: false/);
    await expect(page.locator('#lint-findings')).toContainText('DIRECTORY_WITHOUT_TLS');
    // The device's certificate as the directory credential: TLS only, says the lint.
    await page.getByLabel("The device's certificate item, to search as the device (empty: anonymously or a bind policy's account)").fill('device-directory');
    await expect(yaml).toHaveValue(/clientCertificate: device-directory/);
    await expect(page.locator('#lint-findings')).toContainText('DIRECTORY_CERTIFICATE_WITHOUT_TLS');
    await page.getByLabel('Upgrade ldap:// with StartTLS').check();
    await expect(page.locator('#lint-findings')).not.toContainText('DIRECTORY_CERTIFICATE_WITHOUT_TLS');
    await page.getByLabel('Directory schema').selectOption('rfc2307');
    await expect(yaml).toHaveValue(/schema: rfc2307\n/);
    // The directory's CA, pasted as PEM: the lint reads it (not a certificate: refused with its path).
    await page.getByLabel("The directory's TLS CA, PEM (empty: the system's trusted CAs)").fill('not a certificate');
    await expect(page.locator('#lint-findings')).toContainText('endState.directory.ca');
    await page.getByLabel("The directory's TLS CA, PEM (empty: the system's trusted CAs)").fill('');
    await expect(page.locator('#lint-findings')).not.toContainText('endState.directory.ca');
    await page.getByLabel("Make a member's home directory at the first sign-in").uncheck();
    await expect(yaml).toHaveValue(/homeDirectory:\s*\n\s*create: false/);
    // A shared device: members' homes deleted at sign-out; the lint asks about cached credentials.
    await page.getByLabel('Many people share this device').check();
    await page.getByLabel('Sign out after idle minutes (empty: never)').fill('30');
    await page.getByLabel("Delete a member's home directory at sign-out").check();
    await expect(yaml).toHaveValue(/sharedDevice:\s*\n\s*idleSignOutMinutes: 30\s*\n\s*deleteHomeAtSignOut: true/);
    await expect(page.locator('#lint-findings')).toContainText('SHARED_DEVICE_KEEPS_CREDENTIALS');
    await page.getByLabel("Days a member signs in while the directory is away (0: never; empty: SSSD's default)").fill('0');
    await expect(yaml).toHaveValue(/cachedSignInDays: 0/);
    await expect(page.locator('#lint-findings')).not.toContainText('SHARED_DEVICE_KEEPS_CREDENTIALS');
    await page.getByLabel('Keep the home directories of at most this many members (empty: no limit)').fill('0');
    await expect(page.locator('#lint-findings')).toContainText('maxCachedAccounts');
    await page.getByLabel('Keep the home directories of at most this many members (empty: no limit)').fill('');
    await expect(yaml).not.toHaveValue(/maxCachedAccounts/);
    await consoleShot(page, 'profile-sign-in');
    // Active Directory instead: its own fields; who signs in and home directories stay; the lint asks for the join.
    await page.getByLabel('Kind of directory').selectOption('ad');
    await expect(page.getByLabel('Directory (ldaps:// or ldap:// with StartTLS)')).toHaveCount(0);
    await page.getByLabel('Domain (its DNS name)').fill('fabrikam.example');
    await page.getByLabel('Domain controllers, comma-separated (empty: found through DNS)').pressSequentially('dc1.fabrikam.example, dc2.fabrikam.example');
    await expect(yaml).toHaveValue(/provider: ad\s*\n/);
    await expect(yaml).toHaveValue(/domain: fabrikam\.example/);
    await expect(yaml).toHaveValue(/servers:\s*\n\s*- dc1\.fabrikam\.example\s*\n\s*- dc2\.fabrikam\.example/);
    await expect(yaml).toHaveValue(/primaryUser: true/);
    await expect(yaml).not.toHaveValue(/searchBase|clientCertificate/);
    await expect(page.locator('#lint-findings')).toContainText('DIRECTORY_NOT_JOINED');
    await page.getByLabel('Domain (its DNS name)').fill('fabrikam');
    await expect(page.locator('#lint-findings')).toContainText('endState.directory.domain');
    await page.getByLabel('Kind of directory').selectOption('ldap');
    await expect(yaml).not.toHaveValue(/provider: ad/);
    await yaml.fill(original);
    await expect(page.getByLabel('A kiosk')).toBeChecked();

    await page.getByRole('link', { name: 'Settings' }).click();
    const reprovision = page.getByLabel(/proves the same TPM/);
    await expect(reprovision).not.toBeChecked();
    await reprovision.check();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('status')).toHaveText('Saved.');
    expect((await device.service.call(adminApi.tenant.getSettings)).reprovisionSameTpm).toBe(true);
    await consoleShot(page, 'settings');
    await reprovision.uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await device.service.call(adminApi.tenant.getSettings)).reprovisionSameTpm).toBe(false);
  });

  test('reads the audit log, verifies its chain, speaks German, and signs out for good', async ({ page, context }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action').fill('updateDevice');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect(page.getByRole('cell', { name: 'initial-admin (admin)' }).first()).toBeVisible();
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await expect(page.getByRole('status')).toContainText('The audit log is intact');
    await consoleShot(page, 'audit');

    await page.getByLabel('Language').selectOption('de');
    await expect(page.getByRole('heading', { name: 'Audit-Protokoll' })).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'de');
    await page.getByRole('link', { name: 'Übersicht' }).click();
    await consoleShot(page, 'overview-de');
    await page.getByLabel('Sprache').selectOption('en');

    const session = (await context.cookies())[0]!;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByLabel('API token')).toBeVisible();
    // The old cookie is worth nothing now, on any replica: the session is gone from the database.
    const replay = await page.request.get(`${origin}/v1/admin/devices`, { headers: { cookie: `sd_session=${session.value}` } });
    expect(replay.status()).toBe(401);
  });
});

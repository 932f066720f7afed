// The product end to end in a real browser: the React ESP (built by Vite, served by the dev host)
// follows a real self-deploy — swtpm, the service over HTTPS, the demo tenant — through every
// category to completion, in any of its languages, from the keyboard, through the OOBE pages on a
// Wi-Fi-only device; its error page shows the code, the hash of an unregistered device (and its QR
// code) and exactly the buttons the profile allows, and Try again completes once the fault — no
// TPM, not registered, a record blocking re-enrollment — is cleared. After setup the kiosk
// browser lands on the profile's home URL and refuses a blocked one. A screenshot of each page
// goes to .test-results/e2e/screenshots.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, expect, test, type Page } from '@playwright/test';
import jsQR from 'jsqr';

import type { NetworkPort } from '../main/network/port.js';
import type { ProvidersPort } from '../main/providers/port.js';
import { freePort } from '../lab/net.js';
import { LabDevice, holdItem } from '../main/deploy/testing/lab-device.js';
import { DevHost } from '../main/host/dev/server.js';
import { CdpKiosk } from '../main/host/kiosk/cdp.js';
import { launchChromium } from '../main/host/kiosk/chromium.js';
import { readKioskConfig } from '../main/host/kiosk/controller.js';
import { VISITOR_HOME, VisitorSite } from '../lab/visitor-site.js';
import { PAGE, readableOn } from '../renderer/src/contrast.js';
import type { HostSession } from '../main/host/session.js';

const SCREENSHOTS = join(import.meta.dirname, '..', '.test-results', 'e2e', 'screenshots');
const RENDERER = join(import.meta.dirname, '..', 'dist', 'renderer');

interface Run {
  paths: { state: string; root: string };
  session: HostSession;
  host: DevHost;
  close(): Promise<void>;
}

/** A session over the device's engine (one run at a time, each with its own TPM client) and the dev host. */
async function labRun(device: LabDevice, wrapProviders?: (providers: ProvidersPort) => ProvidersPort, network?: NetworkPort, tcti?: () => string | undefined): Promise<Run> {
  const paths = device.fresh();
  const { session, close } = device.hostSession(
    paths,
    () => {
      const other = tcti?.();
      return { preflightWaitMs: network ? 60_000 : 5_000, ...(wrapProviders ? { wrapProviders } : {}), ...(network ? { network } : {}), ...(other ? { tcti: other } : {}) };
    },
    network ? { network } : {},
  );
  const host = new DevHost({ session, rendererDir: RENDERER });
  await host.start();
  return {
    paths,
    session,
    host,
    close: async () => {
      await host.close();
      await close();
    },
  };
}

/**
 * A Wi-Fi-only device's network. No radio in this container: a stand-in for the Wi-Fi the device
 * would have (nmcli itself is tested in main/deploy/network.test.ts). It joins "Fabrikam Lobby"
 * with the right key only.
 */
function wifiOnlyDevice(): { port: NetworkPort; joined: () => boolean } {
  let joined = false;
  const port: NetworkPort = {
    status: () => Promise.resolve(joined ? { medium: 'wireless', interface: 'wlan0' } : { medium: 'none', interface: null }),
    resolve: () => Promise.resolve(['127.0.0.1']),
    scanWifi: () =>
      Promise.resolve([
        { ssid: 'Guest', security: 'open', signal: 40, connected: false },
        { ssid: 'Fabrikam Lobby', security: 'wpa2', signal: 80, connected: false },
      ]),
    connectWifi: (ssid, psk) => {
      if (ssid === 'Fabrikam Lobby' && psk === 'lab-only-passphrase') {
        joined = true;
        return Promise.resolve();
      }
      return Promise.reject(new Error('the key was not accepted'));
    },
  };
  return { port, joined: () => joined };
}

type Profile = Record<string, unknown> & { esp: Record<string, unknown>; oobe: Record<string, unknown> };

/** The admin API of the device's service, as an administrator calls it. */
function admin(device: LabDevice) {
  return (method: 'GET' | 'PUT', url: string, payload?: object) => device.service.request({ method, url, ...(payload ? { payload } : {}) });
}

/** Changes the demo profile for one test; returns what puts it back. */
async function changeProfile(device: LabDevice, change: (profile: Profile) => Profile): Promise<() => Promise<void>> {
  const call = admin(device);
  const profile = (await call('GET', '/v1/admin/profiles/lobby-kiosk')).json<{ profile: Profile }>().profile;
  await call('PUT', '/v1/admin/profiles/lobby-kiosk', change(profile));
  return async () => void (await call('PUT', '/v1/admin/profiles/lobby-kiosk', profile));
}

/**
 * The page as it is, then in English, German and Arabic, each at 1920×1080 and 1024×768, and in
 * the dark scheme (for review); the page's language, size and scheme are put back after.
 */
async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const picker = page.locator('.language select');
  if ((await picker.count()) === 0) return; // not the ESP (the kiosk browser's pages)
  const language = await picker.inputValue();
  const size = page.viewportSize();
  for (const code of ['en', 'de', 'ar']) {
    await picker.selectOption(code);
    for (const [width, height] of [
      [1920, 1080],
      [1024, 768],
    ] as const) {
      await page.setViewportSize({ width, height });
      await page.screenshot({ path: join(SCREENSHOTS, `${name}-${code}-${width}x${height}.png`) });
    }
  }
  await picker.selectOption(language);
  if (size) await page.setViewportSize(size);
  // The dark scheme, as a device whose system asks for it shows the page: dark backgrounds, and
  // the accent as text lightened until it reads on them.
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(page.locator('html')).toHaveCSS('background-color', 'rgb(18, 18, 18)');
  const property = async (name: string) => new RegExp(`${name}:\\s*(#[0-9a-f]{6})`, 'i').exec((await page.locator('.app').getAttribute('style')) ?? '')?.[1];
  const fill = (await property('--accent'))!;
  await expect.poll(() => property('--accent-text')).toBe(readableOn(fill, PAGE.dark));
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-dark.png`) });
  await page.emulateMedia({ colorScheme: 'light' });
}

test.describe.serial('the Enrollment Status Page', () => {
  let device: LabDevice;
  const runs: Run[] = [];
  const gates: (() => void)[] = [];

  test.beforeAll(async () => {
    device = await LabDevice.create('LAB-E2E-1');
  });

  /** A run shown in `page` whose item `itemName` waits until released: the ESP looked at mid-setup. */
  async function startHeld(page: Page, itemName: string) {
    const held = holdItem(itemName);
    gates.push(held.release);
    const run = await labRun(device, held.wrap);
    runs.push(run);
    await page.goto(run.host.url);
    void run.session.start();
    return { run, held };
  }

  test.afterAll(async () => {
    for (const release of gates) release(); // a failed test must not leave a run waiting
    for (const run of runs) await run.close();
    await device?.close();
  });

  test('shows an unregistered device its hardware hash, and completes on Try again once it is registered', async ({ page }) => {
    const run = await labRun(device);
    runs.push(run);
    await page.goto(run.host.url);
    void run.session.start();
    await expect(page.getByRole('heading', { name: 'This device is not registered with your organization' })).toBeVisible({ timeout: 30_000 });
    await expect(page.getByTestId('error-code')).toHaveText('DEVICE_NOT_REGISTERED');
    const hash = await page.getByTestId('hardware-hash').inputValue();
    expect(hash).toMatch(/^[A-Za-z0-9+/]+=*$/);
    // The QR code on the page decodes, with an independent reader, to the same hash.
    await expect(page.getByRole('img', { name: 'QR code of the hardware hash, for a phone' })).toBeVisible();
    const rgba = await page.evaluate<number[]>(
      `(() => { const img = document.querySelector('[data-testid=hardware-hash-qr]'); const c = document.createElement('canvas'); c.width = c.height = 480; const g = c.getContext('2d'); g.drawImage(img, 0, 0, 480, 480); return Array.from(g.getImageData(0, 0, 480, 480).data); })()`,
    );
    expect(jsQR.default(Uint8ClampedArray.from(rgba), 480, 480)?.data).toBe(hash);
    // No profile yet, so no rules: Try again is the only button.
    await expect(page.getByRole('button')).toHaveText(['Try again']);
    await shot(page, 'not-registered');

    await device.register();
    expect(device.hardwareHash).toBe(hash);
    await page.getByRole('button', { name: 'Try again' }).click();
    await expect(page.getByRole('heading', { name: 'Your device is ready' })).toBeVisible({ timeout: 60_000 });
    await expect(page.locator('.organization')).toHaveText('Fabrikam Lobby');
    await expect(page.getByText('It now starts as a kiosk (browser).')).toBeVisible();
    await expect(page.getByTestId('device-name')).toHaveText(/^LOBBY-\d{4}$/);
    await shot(page, 'complete');
  });

  test('blocks a second self-deploy with 0x80180014 and exactly the buttons the profile allows; Try again completes once the record is deleted', async ({ page }) => {
    const run = await labRun(device);
    runs.push(run);
    await page.goto(run.host.url);
    void run.session.start();
    await expect(page.getByTestId('error-hresult')).toHaveText('0x80180014', { timeout: 30_000 });
    await expect(page.getByTestId('error-code')).toHaveText('REENROLLMENT_BLOCKED');
    // The service refused before the profile came: no rules, so Try again only.
    await expect(page.getByRole('button')).toHaveText(['Try again']);
    await shot(page, 'reenrollment-blocked');

    await device.resetRecord();
    await page.getByRole('button', { name: 'Try again' }).click();
    await expect(page.getByRole('heading', { name: 'Your device is ready' })).toBeVisible({ timeout: 60_000 });
  });

  test('shows each category with N of M and its items, opened from the keyboard, in English, German and Arabic (right to left)', async ({ page }) => {
    await device.resetRecord();
    const { held } = await startHeld(page, 'welcome');
    const setupCount = page.getByTestId('device-setup-count');
    await expect(setupCount).toHaveText('7 of 8', { timeout: 60_000 });
    await expect(page.getByTestId('device-preparation-count')).toHaveText('4 of 4');

    // Keyboard only: Tab to Device setup's "Show details" and open it.
    const toggle = page.locator('button[aria-controls="phase-device-setup-details"]');
    const focused = page.locator('button[aria-controls="phase-device-setup-details"]:focus');
    for (let i = 0; i < 10 && (await focused.count()) === 0; i++) await page.keyboard.press('Tab');
    await expect(toggle).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await expect(toggle).toHaveText('Hide details');
    await expect(page.getByTestId('item-lobby-browser')).toContainText('Complete');
    await expect(page.getByTestId('item-welcome')).toContainText('Working on it');
    await expect(page.getByTestId('item-device-network')).toContainText('Complete');
    await shot(page, 'esp-details-en');

    // The diagnostics panel, from the keyboard: facts, step timings, the log tail; logs to a folder.
    await page.keyboard.press('Control+Shift+D');
    const panel = page.getByRole('dialog', { name: 'Diagnostics' });
    await expect(panel).toBeVisible();
    await expect(panel.getByRole('heading', { name: 'Diagnostics' })).toBeFocused();
    await expect(panel.locator('dd').first()).toHaveText('LAB-E2E-1');
    // The agent's own facts: its installed version, the service, the TPM's connection and the
    // manufacturer the swtpm reports ("IBM") over it.
    const version = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
    await expect(panel.getByRole('definition').filter({ hasText: device.tpm.tcti })).toHaveText(`IBM, ${device.tpm.tcti}`);
    await expect(panel.getByRole('definition').filter({ hasText: device.service.url!.origin })).toHaveText(device.service.url!.origin);
    await expect(panel.getByRole('definition').last()).toHaveText(version);
    await expect(panel.getByRole('row', { name: /Securing your hardware/ })).toContainText('Complete');
    // The TPM check, as selfdeploy tpm check runs it over the agent's own TPM and service.
    for (const check of ['tpm', 'usable', 'ek-certificate', 'trusted', 'clock']) await expect(panel.getByTestId(`tpm-check-${check}`)).toHaveAttribute('data-status', 'pass');
    await expect(panel.getByTestId('tpm-check-trusted')).toContainText('Passed Trusted by the service: the EK certificate chains to');
    await expect(panel.getByTestId('log-tail')).toContainText('"event":"enroll.joined"');
    const usb = mkdtempSync(join(tmpdir(), 'selfdeploy-usb-'));
    await panel.getByLabel('Folder').fill(usb);
    await panel.getByRole('button', { name: 'Export logs' }).click();
    await expect(panel.getByRole('status')).toContainText(`Logs exported to ${usb}/diagnostics-`);
    expect(readdirSync(usb).filter((name) => name.endsWith('.tar.gz'))).toHaveLength(1);
    await shot(page, 'diagnostics');
    await page.keyboard.press('Escape');
    await expect(panel).toBeHidden();

    await page.getByRole('combobox').selectOption('de');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Ihr Gerät wird eingerichtet');
    await expect(setupCount).toHaveText('7 von 8');
    // German's long words on a phone-sized screen: everything wraps, nothing overflows sideways.
    const overflows = () => page.evaluate<boolean>('document.documentElement.scrollWidth > window.innerWidth');
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await overflows()).toBe(false);
    await shot(page, 'esp-details-de-narrow');
    await page.setViewportSize({ width: 1280, height: 720 });
    await shot(page, 'esp-details-de');
    await page.getByRole('combobox').selectOption('ar');
    await expect(page.locator('html')).toHaveAttribute('dir', 'rtl');
    await expect(setupCount).toHaveText('7 من 8');
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await overflows()).toBe(false);
    await page.setViewportSize({ width: 1280, height: 720 });
    await shot(page, 'esp-details-ar');

    held.release();
    await expect(page.getByRole('heading', { name: 'جهازك جاهز' })).toBeVisible({ timeout: 60_000 });
    await shot(page, 'complete-ar');
  });

  test('on a required item that fails, offers exactly what the profile allows: Continue anyway passes over it, Collect logs uploads', async ({ page }) => {
    await device.resetRecord();
    const call = admin(device);
    const app = (await call('GET', '/v1/admin/apps/lobby-browser')).json<{ body: Record<string, unknown> }>().body;
    await call('PUT', '/v1/admin/apps/lobby-browser', { ...app, detection: { type: 'file-exists', path: '/opt/not-there' } });
    const message = 'Call the Fabrikam service desk on 555-0100 and quote the code above.';
    const restore = await changeProfile(device, (profile) => ({ ...profile, esp: { ...profile.esp, allowContinue: true, customErrorMessage: message } }));
    const run = await labRun(device);
    runs.push(run);
    await page.goto(run.host.url);
    void run.session.start();
    await expect(page.getByTestId('error-code')).toHaveText('ITEM_NOT_DETECTED', { timeout: 60_000 });
    await expect(page.getByTestId('error-hresult')).toHaveText('0x87D1041C');
    await expect(page.getByRole('button')).toHaveText(['Try again', 'Reset device', 'Continue anyway', 'Collect logs']);
    // The profile's own words, in place of the default message.
    await expect(page.getByText(message)).toBeVisible();
    await expect(page.getByText('Setup could not be completed.')).toHaveCount(0);
    await page.getByRole('button', { name: 'Collect logs' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Logs saved to' })).toContainText('and sent to your organization');
    await shot(page, 'item-failed');
    await page.getByRole('button', { name: 'Continue anyway' }).click();
    await expect(page.getByRole('heading', { name: 'Your device is ready' })).toBeVisible({ timeout: 60_000 });
    // The administrator fixes the app and the profile again for the tests after this one.
    await call('PUT', '/v1/admin/apps/lobby-browser', app);
    await restore();
  });

  test('with showProgress off in the profile, shows only that the device is being set up — no categories, steps or items — and still the end', async ({ page }) => {
    await device.resetRecord();
    const restore = await changeProfile(device, (profile) => ({ ...profile, esp: { ...profile.esp, showProgress: false } }));
    try {
      const { run, held } = await startHeld(page, 'welcome');
      await expect(page.getByTestId('esp-busy')).toBeVisible({ timeout: 60_000 });
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Setting up your device');
      // Mid-setup (the welcome item is held), nothing of the progress shows.
      const welcome = () => run.session.current()?.phases.flatMap((p) => p.steps.flatMap((step) => step.items)).find((item) => item.name === 'welcome')?.state;
      await expect.poll(welcome, { timeout: 60_000 }).toBe('in-progress');
      await expect(page.getByRole('heading', { level: 2 })).toHaveCount(0);
      await expect(page.getByTestId('device-setup-count')).toHaveCount(0);
      await expect(page.getByRole('button', { name: 'Show details' })).toHaveCount(0);
      await shot(page, 'esp-progress-hidden');
      held.release();
      await expect(page.getByRole('heading', { name: 'Your device is ready' })).toBeVisible({ timeout: 60_000 });
    } finally {
      await restore();
    }
  });

  test('on a Wi-Fi-only device, shows the network page until a network is joined, then goes on', async ({ page }) => {
    await device.resetRecord();
    const { port: wifiOnly, joined } = wifiOnlyDevice();
    const run = await labRun(device, undefined, wifiOnly);
    runs.push(run);
    await page.goto(run.host.url);
    void run.session.start();
    await expect(page.getByRole('heading', { name: "Let's connect you to a network" })).toBeVisible({ timeout: 30_000 });
    const group = page.getByRole('group', { name: 'Wi-Fi networks' });
    await expect(group.getByRole('radio')).toHaveCount(2);
    await group.getByRole('radio', { name: /Fabrikam Lobby/ }).check();
    await page.getByLabel('Network key').fill('wrong-key-123');
    await page.getByRole('button', { name: 'Connect' }).click();
    await expect(page.getByRole('status')).toHaveText('Could not connect to Fabrikam Lobby: the key was not accepted');
    await page.getByLabel('Network key').fill('lab-only-passphrase');
    await shot(page, 'network');
    await page.getByRole('button', { name: 'Connect' }).click();
    await expect(page.getByRole('heading', { name: 'Your device is ready' })).toBeVisible({ timeout: 60_000 });
    expect(joined()).toBe(true);
  });

  test('asks for language, region and keyboard on Wi-Fi when the profile says user-select, and sets them', async ({ page }) => {
    await device.resetRecord();
    const restore = await changeProfile(device, (profile) => ({ ...profile, oobe: { ...profile.oobe, language: 'user-select', skipKeyboardPage: false } }));
    try {
      const { port } = wifiOnlyDevice();
      const run = await labRun(device, undefined, port);
      runs.push(run);
      await page.goto(run.host.url);
      void run.session.start();
      const group = page.getByRole('group', { name: 'Wi-Fi networks' });
      await group.getByRole('radio', { name: /Fabrikam Lobby/ }).check({ timeout: 30_000 });
      await page.getByLabel('Network key').fill('lab-only-passphrase');
      await page.getByRole('button', { name: 'Connect' }).click();

      await expect(page.getByRole('heading', { name: "Let's start with language. Is this right?" })).toBeVisible({ timeout: 30_000 });
      await page.getByRole('radio', { name: 'Schweizer Hochdeutsch' }).check();
      // Choosing German switches this screen to German at once.
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Beginnen wir mit der Sprache. Ist das richtig?');
      await shot(page, 'oobe-language');
      await page.getByRole('button', { name: 'Weiter' }).click();
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Ist das das richtige Land bzw. die richtige Region?');
      await expect(page.getByRole('radio', { name: 'Schweiz' })).toBeChecked();
      await page.getByRole('button', { name: 'Weiter' }).click();
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Ist das das richtige Tastaturlayout?');
      await expect(page.getByRole('radio', { name: 'Schweizer Hochdeutsch' })).toBeChecked();
      await page.getByLabel('Zweites Tastaturlayout hinzufügen:').selectOption('us');
      await shot(page, 'oobe-keyboard');
      await page.getByRole('button', { name: 'Weiter' }).click();
      await expect(page.getByRole('heading', { name: 'Ihr Gerät ist bereit' })).toBeVisible({ timeout: 60_000 });

      const read = (path: string) => readFileSync(join(run.paths.root, path), 'utf8');
      expect(read('etc/default/locale')).toContain('LANG=de_CH.UTF-8\n');
      expect(read('etc/default/keyboard')).toContain('XKBLAYOUT="ch,us"\n');
      expect(read('etc/locale.gen')).toContain('de_CH.UTF-8 UTF-8\n');
    } finally {
      await restore();
    }
  });

  test('skips the language and region pages on Ethernet, as the profile says', async ({ page }) => {
    await device.resetRecord();
    const restore = await changeProfile(device, (profile) => ({ ...profile, oobe: { ...profile.oobe, language: 'user-select', skipLanguageRegionOnEthernet: true } }));
    try {
      const run = await labRun(device); // this container's own network: wired
      runs.push(run);
      await page.goto(run.host.url);
      void run.session.start();
      await expect(page.getByRole('heading', { name: 'Your device is ready' })).toBeVisible({ timeout: 60_000 });
      const oobe = run.session.current()!.phases[0]!.steps.find((step) => step.id === 'oobe')!;
      expect(oobe.detail).toContain('language and region pages skipped on Ethernet');
      expect(run.session.current()!.network.medium).toBe('wired');
    } finally {
      await restore();
    }
  });

  test('with no TPM answering, shows 0x800705B4 with Try again, which completes once the TPM is back', async ({ page }) => {
    await device.resetRecord();
    // Nothing listens on this port: the agent's TPM connection fails as on a device without one.
    const closed = await freePort();
    let tpmAnswers = false;
    const run = await labRun(device, undefined, undefined, () => (tpmAnswers ? undefined : `swtpm:host=127.0.0.1,port=${closed}`));
    runs.push(run);
    await page.goto(run.host.url);
    void run.session.start();
    await expect(page.getByTestId('error-code')).toHaveText('TPM_UNAVAILABLE', { timeout: 30_000 });
    await expect(page.getByTestId('error-hresult')).toHaveText('0x800705B4');
    await expect(page.getByRole('button')).toHaveText(['Try again']);
    await shot(page, 'no-tpm');
    // The same failure in German: the catalogue's words translated, on a phone-sized screen too.
    const german = await page.context().newPage();
    await german.goto(run.host.url.replace('/#', '/?lang=de#'));
    await expect(german.locator('.failure-title')).toHaveText('Kein TPM 2.0 hat geantwortet');
    await expect(german.getByText('Aktivieren Sie das TPM 2.0 in der Firmware-Einrichtung', { exact: false })).toBeVisible();
    await expect(german.getByRole('button')).toHaveText(['Erneut versuchen']);
    await german.setViewportSize({ width: 360, height: 800 });
    expect(await german.evaluate<boolean>('document.documentElement.scrollWidth > window.innerWidth')).toBe(false);
    await shot(german, 'no-tpm-de-narrow');
    await german.close();
    tpmAnswers = true;
    await page.getByRole('button', { name: 'Try again' }).click();
    await expect(page.getByRole('heading', { name: 'Your device is ready' })).toBeVisible({ timeout: 60_000 });
  });

  test('after setup, the kiosk browser lands on the home URL, refuses a blocked URL, and goes back and home from its toolbar', async ({ page }) => {
    await device.resetRecord();
    const run = await labRun(device);
    runs.push(run);
    await page.goto(run.host.url);
    void run.session.start();
    await expect(page.getByRole('heading', { name: 'Your device is ready' })).toBeVisible({ timeout: 60_000 });
    // What device setup wrote for the kiosk session, shown by the product's kiosk browser (Chromium
    // over its DevTools pipe, every document judged outside the page); Playwright looks on as a
    // visitor through a second, loopback-only debugging connection of the same browser.
    const config = readKioskConfig(readFileSync(join(run.paths.root, 'etc', 'selfdeploy', 'kiosk.json'), 'utf8'));
    const site = await VisitorSite.start();
    const profile = mkdtempSync(join(tmpdir(), 'selfdeploy-e2e-kiosk-'));
    const browser = launchChromium({ userDataDir: profile, headless: true, args: [...site.chromiumArgs, '--remote-debugging-port=0', '--window-size=1024,700'] });
    const log: { event: string; url?: unknown }[] = [];
    const kiosk = await CdpKiosk.open(browser.cdp, config, { log: (event, detail) => log.push({ event, ...detail }) });
    const port = readFileSync(join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0];
    const viewer = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
    try {
      const visitor = viewer.contexts()[0]!.pages()[0]!;
      await expect(visitor).toHaveURL(VISITOR_HOME);
      await expect(visitor.getByRole('heading', { name: 'Welcome to Fabrikam' })).toBeVisible();
      await shot(visitor, 'kiosk-home');

      const staff = 'https://visit.fabrikam.example/staff/';
      await visitor.getByRole('link', { name: 'Staff area', exact: true }).click();
      await expect.poll(() => log.filter((entry) => entry.event === 'kiosk.navigation-refused').map((entry) => entry.url)).toEqual([staff]);
      await expect(visitor).toHaveURL(VISITOR_HOME);
      expect(site.hits(staff)).toBe(0);

      await visitor.getByRole('link', { name: 'Opening hours', exact: true }).click();
      await expect(visitor.getByRole('heading', { name: 'Opening hours' })).toBeVisible();
      await shot(visitor, 'kiosk-page');
      await pressToolbar(visitor, 'back');
      await expect(visitor).toHaveURL(VISITOR_HOME);
      await visitor.getByRole('link', { name: 'Opening hours', exact: true }).click();
      await expect(visitor).toHaveURL('https://visit.fabrikam.example/hours');
      await pressToolbar(visitor, 'home');
      await expect(visitor).toHaveURL(VISITOR_HOME);
    } finally {
      await viewer.close();
      kiosk.close();
      await browser.close();
      await site.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

/** Presses a kiosk toolbar button with the mouse: found from outside its closed shadow root, clicked where a visitor would. */
async function pressToolbar(page: Page, command: string): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const { root } = await cdp.send('DOM.getDocument', { depth: -1, pierce: true });
  const host = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: 'selfdeploy-kiosk-toolbar' });
  const { node } = await cdp.send('DOM.describeNode', { nodeId: host.nodeId, depth: -1, pierce: true });
  const button = await cdp.send('DOM.querySelector', { nodeId: node.shadowRoots![0]!.nodeId, selector: `button[data-command="${command}"]` });
  const { model } = await cdp.send('DOM.getBoxModel', { nodeId: button.nodeId });
  await page.mouse.click((model.content[0]! + model.content[4]!) / 2, (model.content[1]! + model.content[5]!) / 2);
  await cdp.detach();
}

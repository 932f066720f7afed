// The kiosk browser in a real Chromium (Debian's, headless, DevTools protocol on its pipe) over the
// lab's visitor site on loopback HTTPS: it lands on the home URL, and what the profile refuses —
// a link, a redirect, another site, a frame, a new window — never reaches the server, while what
// it allows loads; the toolbar's buttons, pressed like a visitor would, go back, forward, home and
// end the session (storage gone, history forgotten); signage takes no input.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { KioskSchema, type KioskEndState } from '../../../protocol/profile.js';
import { DEMO_KIOSK } from '../../../lab/demo-tenant.js';
import { OTHER_SITE, VISITOR_HOME, VisitorSite } from '../../../lab/visitor-site.js';
import { CdpKiosk } from './cdp.js';
import type { KioskClock } from './controller.js';
import { launchChromium, type Chromium } from './chromium.js';

/** The demo tenant's kiosk, without its idle restart (these tests restart nothing by time). */
const KIOSK = { ...DEMO_KIOSK, idleRestartMinutes: null };

let site: VisitorSite;
let chromium: Chromium | undefined;
let kiosk: CdpKiosk | undefined;
let profile: string;
const log: { event: string; detail: Record<string, unknown> }[] = [];

beforeAll(async () => {
  site = await VisitorSite.start();
});
afterAll(async () => {
  await site.close();
});
afterEach(async () => {
  kiosk?.close();
  await chromium?.close();
  rmSync(profile, { recursive: true, force: true });
  log.length = 0;
  site.requests.length = 0;
  site.down = false;
});

async function openKiosk(overrides: Partial<KioskEndState> = {}, clock?: KioskClock): Promise<CdpKiosk> {
  profile = mkdtempSync(join(tmpdir(), 'selfdeploy-kiosk-'));
  chromium = launchChromium({ userDataDir: profile, headless: true, args: site.chromiumArgs });
  const config = KioskSchema.parse({ ...KIOSK, ...overrides }) as KioskEndState & { homeUrl: string };
  kiosk = await CdpKiosk.open(chromium.cdp, config, { log: (event, detail) => log.push({ event, detail }), ...(clock ? { clock } : {}) });
  await settled();
  return kiosk;
}

function evaluate<T>(expression: string): Promise<T> {
  return chromium!.cdp.send<{ result: { value: T } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, kiosk!.sessionId).then((r) => r.result.value);
}

/** Waits until the kiosk page has finished what it was doing (its URL stable and the document complete). */
async function settled(): Promise<string> {
  let last = '';
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await evaluate<string>('document.readyState === "complete" ? location.href : ""').catch(() => '');
    if (now && now === last) return now;
    last = now;
  }
  throw new Error(`the kiosk page did not settle (last: ${last})`);
}

/** Clicks an element of the page with the mouse (a real gesture: a page's own click() opens no window). */
async function click(selector: string): Promise<string> {
  const session = kiosk!.sessionId;
  const { result } = await chromium!.cdp.send<{ result: { objectId: string } }>('Runtime.evaluate', { expression: `document.querySelector(${JSON.stringify(selector)})` }, session);
  const { model } = await chromium!.cdp.send<{ model: { content: number[] } }>('DOM.getBoxModel', { objectId: result.objectId }, session);
  await mouse(model.content);
  return settled();
}

async function mouse(quad: number[]): Promise<void> {
  const x = (quad[0]! + quad[4]!) / 2;
  const y = (quad[1]! + quad[5]!) / 2;
  for (const type of ['mousePressed', 'mouseReleased']) await chromium!.cdp.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: 1 }, kiosk!.sessionId);
}

/** Presses a toolbar button with the mouse, where a visitor would: found through the closed shadow root from outside. */
async function press(command: string): Promise<string> {
  const cdp = chromium!.cdp;
  const session = kiosk!.sessionId;
  const { root } = await cdp.send<{ root: { nodeId: number } }>('DOM.getDocument', { depth: -1, pierce: true }, session);
  const found = await cdp.send<{ nodeIds: number[] }>('DOM.querySelectorAll', { nodeId: root.nodeId, selector: 'selfdeploy-kiosk-toolbar' }, session);
  const { node } = await cdp.send<{ node: { shadowRoots?: { nodeId: number }[] } }>('DOM.describeNode', { nodeId: found.nodeIds[0], depth: -1, pierce: true }, session);
  const shadow = node.shadowRoots?.[0];
  if (!shadow) throw new Error('no toolbar');
  const button = await cdp.send<{ nodeId: number }>('DOM.querySelector', { nodeId: shadow.nodeId, selector: `button[data-command="${command}"]` }, session);
  if (!button.nodeId) throw new Error(`no "${command}" button`);
  const { model } = await cdp.send<{ model: { content: number[] } }>('DOM.getBoxModel', { nodeId: button.nodeId }, session);
  await mouse(model.content);
  return settled();
}

describe('the kiosk browser in Chromium', () => {
  it('lands on the home URL, and a refused link, redirect or site never reaches the server while an allowed one loads', async () => {
    await openKiosk();
    expect(await evaluate('location.href')).toBe(VISITOR_HOME);
    expect(await evaluate('document.title')).toBe('Welcome to Fabrikam');

    expect(await click('#staff')).toBe(VISITOR_HOME);
    expect(await click('#to-staff')).toBe(VISITOR_HOME);
    expect(await click('#news')).toBe(VISITOR_HOME);
    expect(site.hits('https://visit.fabrikam.example/staff/')).toBe(0);
    expect(site.hits('https://visit.fabrikam.example/go/staff')).toBe(1); // the redirect itself is allowed; where it leads is not
    expect(site.hits(OTHER_SITE)).toBe(0);
    expect(log.filter((l) => l.event === 'kiosk.navigation-refused').map((l) => [l.detail['url'], l.detail['reason'], l.detail['how']])).toEqual([
      ['https://visit.fabrikam.example/staff/', 'blocked', 'navigation'],
      ['https://visit.fabrikam.example/staff/', 'blocked', 'redirect'],
      [OTHER_SITE, 'not-allowed', 'navigation'],
    ]);

    expect(await click('#hours')).toBe('https://visit.fabrikam.example/hours');
    expect(await evaluate('document.title')).toBe('Opening hours');
  });

  it('refuses a frame of another site and never shows a new window; an allowed one opens in the kiosk page', async () => {
    await openKiosk();
    await click('#news-tab');
    expect(site.hits(OTHER_SITE)).toBe(0);
    const pages = async () => (await chromium!.cdp.send<{ targetInfos: { type: string }[] }>('Target.getTargets')).targetInfos.filter((t) => t.type === 'page').length;
    expect(await pages()).toBe(1);
    await click('#hours-tab');
    await expect.poll(() => evaluate('location.href')).toBe('https://visit.fabrikam.example/hours');
    expect(await pages()).toBe(1);

    await evaluate('location.href = "/map"');
    await settled();
    expect(await evaluate('location.pathname')).toBe('/map');
    expect(site.hits(OTHER_SITE)).toBe(0);
    expect(log.some((l) => l.event === 'kiosk.navigation-refused' && l.detail['how'] === 'frame')).toBe(true);
  });

  it('goes back, forward and home from the toolbar, and ending the session clears storage and history', async () => {
    await openKiosk();
    await evaluate('localStorage.setItem("visitor", "Ada")');
    await click('#hours');
    expect(await press('back')).toBe(VISITOR_HOME);
    expect(await press('forward')).toBe('https://visit.fabrikam.example/hours');
    expect(await press('home')).toBe(VISITOR_HOME);
    expect(await evaluate('localStorage.getItem("visitor")')).toBe('Ada');
    expect(await press('end-session')).toBe(VISITOR_HOME);
    expect(await evaluate('localStorage.getItem("visitor")')).toBe(null);
    const history = await chromium!.cdp.send<{ entries: unknown[] }>('Page.getNavigationHistory', {}, kiosk!.sessionId);
    expect(history.entries).toHaveLength(1);
    expect(await press('back')).toBe(VISITOR_HOME);
    // A script in the page cannot press the toolbar's buttons nor reach its binding.
    expect(await evaluate('typeof window.selfdeployKiosk')).toBe('undefined');
  });

  it('signage shows no toolbar and swallows every input', async () => {
    await openKiosk({ mode: 'signage' });
    expect(await evaluate('document.querySelector("selfdeploy-kiosk-toolbar")')).toBe(null);
    expect(await click('#hours')).toBe(VISITOR_HOME);
    expect(site.hits('https://visit.fabrikam.example/hours')).toBe(0);
  });

  it('reloads signage whose page failed after its backoff, and shows the page once the site is back', async () => {
    site.down = true;
    const waits: number[] = [];
    const due: (() => void)[] = [];
    await openKiosk({ mode: 'signage' }, { setTimeout: (run, ms) => (waits.push(ms), due.push(run)), clearTimeout: () => undefined });
    expect(await evaluate('location.href')).toBe('chrome-error://chromewebdata/');
    expect(log.filter((l) => l.event === 'signage.load-failed').map((l) => [l.detail['url'], l.detail['retryInMs']])).toEqual([[VISITOR_HOME, 2000]]);
    expect(waits).toEqual([2000]);
    site.down = false;
    due.shift()!();
    expect(await settled()).toBe(VISITOR_HOME);
    expect(await evaluate('document.title')).toBe('Welcome to Fabrikam');
  });
});

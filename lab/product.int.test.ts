// `npm run lab` (selfdeploy-lab up): the whole product on embedded defaults, from an empty lab
// directory to the kiosk, twice — the second run re-deploys the same device — and once more with
// the graphical ESP (--ui).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const cli = join(import.meta.dirname, '..', 'dist', 'lab', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-product-lab-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('selfdeploy-lab up (npm run lab)', () => {
  it('runs service, swtpm, demo tenant and agent to the kiosk, says where to look, and leaves nothing running', async () => {
    const first = await exec(process.execPath, [cli, 'up', '--dir', dir, '--once'], { timeout: 120_000 });
    expect(first.stdout).toContain('creating the tenant "Fabrikam Lobby"');
    // A lab: its tenant allows virtual TPMs, and says so.
    expect(first.stdout).toContain('allows virtual TPMs (swtpm)');
    expect(first.stdout).toMatch(/registered LAB-[0-9A-F]{6} from its hardware hash/);
    expect(first.stdout).toMatch(/Provisioned: device [0-9a-f-]{36} \(LOBBY-\d{4}\), kiosk ready/);
    expect(first.stdout).toContain('The lab device ends at the kiosk: browser mode, auto-logon as "kiosk"');
    expect(first.stdout).toContain('Where to look:');
    // …and the kiosk browser (Chromium, over the demo's visitor site on loopback) on its home URL.
    expect(first.stdout).toMatch(/^lab: the kiosk browser shows "Welcome to Fabrikam" at https:\/\/visit\.fabrikam\.example\/( \(headless: no display here\))?$/m);
    // Every kind of item, the OOBE settings and the end state, each where it belongs in the lab root.
    for (const [kind, name, place] of [
      ['policy', 'password-length', '/etc/selfdeploy/policies/password-length.json'],
      ['policy', 'kiosk-browser', '/etc/chromium/policies/managed/selfdeploy-kiosk-browser.json'],
      ['certificate', 'fabrikam-root', '/usr/local/share/ca-certificates/selfdeploy/fabrikam-root.crt'],
      ['certificate', 'device-network', '/etc/selfdeploy/certificates/device-network.crt'],
      ['network', 'lobby-wifi', '/etc/NetworkManager/system-connections/selfdeploy-lobby-wifi.nmconnection'],
      ['network', 'lobby-wired', '/etc/NetworkManager/system-connections/selfdeploy-lobby-wired.nmconnection'],
      ['app', 'lobby-browser', 'dpkg:lobby-browser'],
      ['script', 'welcome', '/var/log/selfdeploy/scripts/welcome.log'],
      ['device', 'time zone', '/etc/timezone (Europe/Berlin)'],
      ['end state', 'kiosk', '/usr/lib/selfdeploy/kiosk-session'],
    ] as const) {
      expect(first.stdout).toMatch(new RegExp(`^  ${kind}\\s+${name}\\s+${place.replace(/[.()/]/g, '\\$&')}`, 'm'));
      if (place.startsWith('/')) expect(existsSync(join(dir, 'device', 'root', place.split(' ')[0]!))).toBe(true);
    }
    expect(existsSync(join(dir, 'device', 'root', 'opt', 'lobby-browser', 'bin', 'lobby-browser'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8'))).toMatchObject({ running: [] });

    const second = await exec(process.execPath, [cli, 'up', '--dir', dir, '--once'], { timeout: 120_000 });
    expect(second.stdout).not.toContain('creating the tenant');
    expect(second.stdout).toContain('was deployed before; deleting its device record so that it self-deploys again');
    expect(second.stdout).toContain('kiosk ready');
  }, 240_000);

  it('with --ui, runs the agent behind the graphical ESP on the dev host and says where it is', async () => {
    const run = await exec(process.execPath, [cli, 'up', '--dir', dir, '--once', '--ui'], { timeout: 120_000 });
    expect(run.stdout).toContain('$ selfdeploy ui --server');
    expect(run.stdout).toMatch(/^ESP: http:\/\/127\.0\.0\.1:\d+\/#secret=[A-Za-z0-9_-]{43}$/m);
    expect(run.stdout).toMatch(/Provisioned: device [0-9a-f-]{36} \(LOBBY-\d{4}\), kiosk ready/);
    expect(run.stdout).toContain('The lab device ends at the kiosk');
    expect(JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8'))).toMatchObject({ running: [] });
  }, 240_000);
});

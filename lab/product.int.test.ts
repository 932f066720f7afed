// `npm run lab` (selfdeploy-lab up): the whole product on embedded defaults, from an empty lab
// directory to the kiosk, twice — the second run re-deploys the same device.
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
    expect(first.stdout).toMatch(/registered LAB-[0-9A-F]{6} from its hardware hash/);
    expect(first.stdout).toMatch(/Provisioned: device [0-9a-f-]{36} \(LOBBY-\d{4}\), kiosk ready/);
    expect(first.stdout).toContain('The lab device ends at the kiosk: browser mode, auto-logon as "kiosk"');
    expect(first.stdout).toContain('Where to look:');
    expect(existsSync(join(dir, 'device', 'root', 'opt', 'lobby-browser', 'bin', 'lobby-browser'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8'))).toMatchObject({ running: [] });

    const second = await exec(process.execPath, [cli, 'up', '--dir', dir, '--once'], { timeout: 120_000 });
    expect(second.stdout).not.toContain('creating the tenant');
    expect(second.stdout).toContain('was deployed before; deleting its device record so that it self-deploys again');
    expect(second.stdout).toContain('kiosk ready');
  }, 240_000);
});

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DeploymentProfileSchema, type KioskEndState } from '../../protocol/profile.js';
import { kioskSessionScript } from './kiosk.js';
import { scratchTarget } from './testing/scratch.js';

const branding = { organizationName: 'Fabrikam', accentColor: '#0B5CAD', support: {}, logo: null };
const DEBIAN = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n',
  'etc/group': 'root:x:0:\nshadow:x:42:\nsudo:x:27:alice\nalice:x:1000:\n',
  'etc/shadow': 'root:*:19000:0:99999:7:::\nalice:$y$j9T$abc:19000:0:99999:7:::\n',
  'etc/gdm3/custom.conf': '# GDM configuration storage\n\n[daemon]\n# Enabling automatic login\n#  AutomaticLoginEnable = true\n\n[security]\n\n[xdmcp]\n',
};

function kiosk(input: Record<string, unknown> = {}): KioskEndState {
  const profile = DeploymentProfileSchema.parse({ endState: { type: 'kiosk', mode: 'browser', homeUrl: 'https://visit.fabrikam.example/', ...input } });
  return profile.endState as KioskEndState;
}

describe('the kiosk end state', () => {
  it('makes a local account with a locked password and no admin group, signs it in automatically with GDM and LightDM, and undoes all of it', async () => {
    const t = scratchTarget(DEBIAN);
    const snapshot = t.tree();
    await t.providers.configureEndState(kiosk(), { deviceName: null, branding });

    expect(t.read('etc/passwd').split('\n')).toContain('kiosk:x:1001:1001:selfdeploy kiosk:/home/kiosk:/bin/sh');
    expect(t.read('etc/group').split('\n')).toContain('kiosk:x:1001:');
    expect(t.read('etc/group')).toContain('sudo:x:27:alice\n'); // not in sudo
    const shadow = t.read('etc/shadow').split('\n').find((line) => line.startsWith('kiosk:'))!;
    expect(shadow.split(':')[1]).toBe('!'); // locked: no password signs in
    const shadowStat = t.stat('etc/shadow');
    expect([shadowStat.mode & 0o777, shadowStat.gid]).toEqual([0o640, 42]);
    const home = t.stat('home/kiosk');
    expect([home.isDirectory(), home.uid, home.gid, home.mode & 0o777]).toEqual([true, 1001, 1001, 0o750]);

    expect(t.read('etc/gdm3/custom.conf')).toBe('# GDM configuration storage\n\n[daemon]\n# Enabling automatic login\n#  AutomaticLoginEnable = true\nAutomaticLoginEnable=true\nAutomaticLogin=kiosk\n\n[security]\n\n[xdmcp]\n');
    expect(t.read('var/lib/AccountsService/users/kiosk')).toBe('[User]\nSession=selfdeploy-kiosk\nXSession=selfdeploy-kiosk\nSystemAccount=false\n');
    expect(t.read('etc/lightdm/lightdm.conf.d/50-selfdeploy-kiosk.conf')).toBe('[Seat:*]\nautologin-user=kiosk\nautologin-user-timeout=0\nautologin-session=selfdeploy-kiosk\n');
    expect(t.read('usr/share/xsessions/selfdeploy-kiosk.desktop')).toContain('Exec=/usr/lib/selfdeploy/kiosk-session\n');
    expect(t.read('usr/lib/selfdeploy/kiosk-session')).toContain(`'/opt/selfdeploy/selfdeploy-app' '--kiosk'`);
    expect(t.stat('usr/lib/selfdeploy/kiosk-session').mode & 0o777).toBe(0o755);
    expect(JSON.parse(t.read('etc/selfdeploy/kiosk.json'))).toMatchObject({ mode: 'browser', homeUrl: 'https://visit.fabrikam.example/', organization: 'Fabrikam' });

    // Once is enough: a second run finds the account and changes nothing.
    const recorded = t.changes.entries().length;
    await t.providers.configureEndState(kiosk(), { deviceName: null, branding });
    expect(t.changes.entries()).toHaveLength(recorded);

    expect((await t.target.undoAll()).left).toEqual([]);
    expect(t.tree()).toEqual(snapshot);
  });

  it('refuses to sign in automatically as an account that administers the device', async () => {
    const t = scratchTarget(DEBIAN);
    const snapshot = t.tree();
    await expect(t.providers.configureEndState(kiosk({ localAccount: { name: 'alice' } }), { deviceName: null, branding })).rejects.toMatchObject({
      code: 'ITEM_FAILED',
      message: expect.stringContaining('"alice" is in sudo'),
    });
    expect(t.tree()).toEqual(snapshot);
  });

  it('refuses root and system accounts as the kiosk account, as the helper does', async () => {
    const t = scratchTarget({ ...DEBIAN, 'etc/passwd': `${DEBIAN['etc/passwd']}daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n` });
    const snapshot = t.tree();
    for (const [name, why] of [['root', '"root" cannot be the kiosk account'], ['daemon', '"daemon" is a system account']] as const) {
      await expect(t.providers.configureEndState(kiosk({ localAccount: { name } }), { deviceName: null, branding })).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining(why) });
    }
    expect(t.tree()).toEqual(snapshot);
  });

  it('runs the profile’s app in app mode, quoted as argv, never through a shell', async () => {
    const t = scratchTarget(DEBIAN);
    await t.providers.configureEndState(kiosk({ mode: 'app', homeUrl: undefined, appCommand: ['/opt/signage/bin/player', '--url', "https://x/?a=1&b='2'"] }), { deviceName: null, branding });
    expect(t.read('usr/lib/selfdeploy/kiosk-session')).toContain(`'/opt/signage/bin/player' '--url' 'https://x/?a=1&b='\\''2'\\'''\n`);
  });

  it('has a session that starts the kiosk again each time it exits', async () => {
    const t = scratchTarget();
    const runs = join(t.dir, 'runs');
    const script = join(t.dir, 'session');
    writeFileSync(script, kioskSessionScript(['/bin/sh', '-c', `echo run >> '${runs}'; exit 3`]), { mode: 0o755 });
    const session = spawn(script, [], { detached: true, stdio: 'ignore' });
    // Backoff 1 s then 2 s: started at 0, 1 and 3 s.
    await new Promise((resolve) => setTimeout(resolve, 3600));
    process.kill(-session.pid!, 'SIGKILL');
    expect(readFileSync(runs, 'utf8')).toBe('run\nrun\nrun\n');
  });
});

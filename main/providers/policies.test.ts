import { describe, expect, it } from 'vitest';

import { PolicySettingsSchema } from '../../protocol/profile.js';
import type { ApplyContext } from './port.js';
import { mergeAssignments, mergeIni } from './placed.js';
import { assigned, scratchTarget } from './testing/scratch.js';

const context: ApplyContext = { progress: () => undefined, fetchContent: () => Promise.reject(new Error('policies download nothing')) };

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nsignage:x:1234:1234::/home/signage:/bin/sh\n';
const GROUP = 'root:x:0:\nsignage:x:1234:\nvideo:x:44:\n';

describe('policies', () => {
  it('merge settings into a managed JSON file with the owner and mode the policy names, keep its other keys, and undo to the exact bytes', async () => {
    const before = '{\n  "keep": "me",\n  "volume": 3\n}\n';
    const t = scratchTarget({ 'etc/passwd': PASSWD, 'etc/group': GROUP, 'etc/opt/signage/player.json': before });
    const snapshot = t.tree();
    const policy = assigned({ kind: 'policy', name: 'player', payload: { kind: 'config-file', path: '/etc/opt/signage/player.json', format: 'json', settings: { volume: 7, playlist: ['a', 'b'] }, owner: 'signage', group: 'video', mode: '0640' } });
    expect(await t.providers.detect(policy)).toBe(false);
    await t.providers.apply(policy, context);
    expect(JSON.parse(t.read('etc/opt/signage/player.json'))).toEqual({ keep: 'me', volume: 7, playlist: ['a', 'b'] });
    const stat = t.stat('etc/opt/signage/player.json');
    expect([stat.mode & 0o7777, stat.uid, stat.gid]).toEqual([0o640, 1234, 44]);
    expect(await t.providers.detect(policy)).toBe(true);
    await t.target.undoAll();
    expect(t.tree()).toEqual(snapshot);
  });

  it('set keys in an INI file section by section, keeping comments, other sections and other keys', async () => {
    const t = scratchTarget({ 'etc/opt/signage/player.ini': '# the player\n[display]\nrotate = 90\nbrightness=50\n\n[audio]\nmute=true\n' });
    const policy = assigned({ kind: 'policy', name: 'ini', payload: { kind: 'config-file', path: '/etc/opt/signage/player.ini', format: 'ini', settings: { display: { brightness: 80, kiosk: true }, network: { proxy: 'http://proxy:3128' } } } });
    await t.providers.apply(policy, context);
    expect(t.read('etc/opt/signage/player.ini')).toBe('# the player\n[display]\nrotate = 90\nbrightness=80\nkiosk=true\n\n[audio]\nmute=true\n\n[network]\nproxy=http://proxy:3128\n');
    expect(await t.providers.detect(policy)).toBe(true);
  });

  it('write Chromium and Chrome managed policies where each browser reads them', async () => {
    const t = scratchTarget();
    const policy = assigned({ kind: 'policy', name: 'browser', payload: { kind: 'chromium', policies: { HomepageLocation: 'https://visit.fabrikam.example/', IncognitoModeAvailability: 1, URLBlocklist: ['file://*'] }, browsers: ['chromium', 'chrome'] } });
    await t.providers.apply(policy, context);
    const expected = { HomepageLocation: 'https://visit.fabrikam.example/', IncognitoModeAvailability: 1, URLBlocklist: ['file://*'] };
    expect(JSON.parse(t.read('etc/chromium/policies/managed/selfdeploy-browser.json'))).toEqual(expected);
    expect(JSON.parse(t.read('etc/opt/chrome/policies/managed/selfdeploy-browser.json'))).toEqual(expected);
    expect(t.stat('etc/chromium/policies/managed/selfdeploy-browser.json').mode & 0o777).toBe(0o644);
  });

  it('set the password policy in pwquality and login.defs, keeping the rest of login.defs', async () => {
    const t = scratchTarget({ 'etc/login.defs': '# shadow settings\nMAIL_DIR\t/var/mail\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\n' });
    const policy = assigned({ kind: 'policy', name: 'passwords', payload: { kind: 'password', minLength: 12, maxAgeDays: 90 } });
    await t.providers.apply(policy, context);
    expect(t.read('etc/security/pwquality.conf.d/50-selfdeploy-passwords.conf')).toBe('# selfdeploy policy "passwords"\nminlen = 12\n');
    expect(t.read('etc/login.defs')).toBe('# shadow settings\nMAIL_DIR\t/var/mail\nPASS_MAX_DAYS\t90\nPASS_MIN_DAYS\t0\n');
    expect(await t.providers.detect(policy)).toBe(true);
  });

  it('lock the screen through the system dconf database, with the keys locked', async () => {
    const t = scratchTarget({ 'etc/dconf/profile/user': 'user-db:user\n' });
    const policy = assigned({ kind: 'policy', name: 'lock', payload: { kind: 'screen-lock', idleLockMinutes: 5 } });
    await t.providers.apply(policy, context);
    expect(t.read('etc/dconf/profile/user')).toBe('user-db:user\nsystem-db:local\n');
    expect(t.read('etc/dconf/db/local.d/50-selfdeploy-lock')).toContain('[org/gnome/desktop/session]\nidle-delay=uint32 300\n');
    expect(t.read('etc/dconf/db/local.d/50-selfdeploy-lock')).toContain('lock-enabled=true');
    expect(t.read('etc/dconf/db/local.d/locks/50-selfdeploy-lock').split('\n')).toContain('/org/gnome/desktop/session/idle-delay');
  });

  it('refuse a JSON file that is not an object, writing nothing', async () => {
    const t = scratchTarget({ 'etc/opt/app/app.json': '[1, 2' });
    const snapshot = t.tree();
    const policy = assigned({ kind: 'policy', name: 'broken', payload: { kind: 'config-file', path: '/etc/opt/app/app.json', format: 'json', settings: { a: 1 } } });
    await expect(t.providers.apply(policy, context)).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining('/etc/opt/app/app.json holds no JSON object') });
    expect(t.tree()).toEqual(snapshot);
  });

  it('refuse a config file owned by a user the device does not have', async () => {
    const t = scratchTarget({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    const policy = assigned({ kind: 'policy', name: 'nobody', payload: { kind: 'config-file', path: '/etc/opt/x/x.json', format: 'json', settings: {}, owner: 'ghost' } });
    await expect(t.providers.apply(policy, context)).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining('no user "ghost"') });
  });

  it.each([
    // An allow-list: /etc/opt/PACKAGE/… only — none of what root runs or loads its configuration from.
    ['/etc/shadow', 'under /etc/opt/PACKAGE/'],
    ['/etc/sudoers.d/kiosk', 'under /etc/opt/PACKAGE/'],
    ['/etc/pam.d/common-auth', 'under /etc/opt/PACKAGE/'],
    ['/etc/cron.d/job', 'under /etc/opt/PACKAGE/'],
    ['/etc/profile.d/env.sh', 'under /etc/opt/PACKAGE/'],
    ['/etc/apt/apt.conf.d/99hook', 'under /etc/opt/PACKAGE/'],
    ['/etc/udev/rules.d/99-x.rules', 'under /etc/opt/PACKAGE/'],
    ['/etc/sysctl.d/99-x.conf', 'under /etc/opt/PACKAGE/'],
    ['/etc/signage/player.ini', 'under /etc/opt/PACKAGE/'],
    ['/etc/selfdeploy/kiosk.json', 'under /etc/opt/PACKAGE/'],
    ['/etc/opt/player', 'under /etc/opt/PACKAGE/'], // the package's directory itself is no file
    ['/etc/opt/selfdeploy/agent.json', "selfdeploy's own configuration"],
    ['/etc/opt/x/../../shadow', 'components'],
    ['/usr/bin/sudo', 'under /etc/opt/PACKAGE/'],
    ['/etc/opt/a b/c', 'under /etc/opt/PACKAGE/'],
  ])('are refused by the schema for a path outside the allowed places: %s', (path, why) => {
    const result = PolicySettingsSchema.safeParse({ kind: 'config-file', path, format: 'json', settings: {} });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(why);
  });

  it('are accepted under /etc/opt/PACKAGE/, at any depth', () => {
    for (const path of ['/etc/opt/signage/player.ini', '/etc/opt/signage/conf.d/10-screen.json', '/etc/opt/chrome/policies/managed/lobby.json']) {
      expect(PolicySettingsSchema.safeParse({ kind: 'config-file', path, format: 'json', settings: {} }).success, path).toBe(true);
    }
  });

  it.each(['4755', '0755', '0744', '0646', '0666', '0700'])('are refused by the schema with mode %s (set-ID, executable or writable by everyone)', (mode) => {
    const result = PolicySettingsSchema.safeParse({ kind: 'config-file', path: '/etc/opt/a/a.json', format: 'json', settings: {}, mode });
    expect(result.success).toBe(false);
  });

  it.each(['0644', '0640', '0600', '0664', '0444'])('are accepted with mode %s', (mode) => {
    expect(PolicySettingsSchema.safeParse({ kind: 'config-file', path: '/etc/opt/a/a.json', format: 'json', settings: {}, mode }).success).toBe(true);
  });
});

describe('merging settings into files', () => {
  it('appends a missing section after a blank line and a missing key at the end of its section', () => {
    expect(mergeIni('[a]\nx=1\n\n[b]\ny=2\n', { a: { z: 3 }, c: { w: false } })).toBe('[a]\nx=1\nz=3\n\n[b]\ny=2\n\n[c]\nw=false\n');
    expect(mergeIni(null, { daemon: { AutomaticLoginEnable: 'true' } })).toBe('[daemon]\nAutomaticLoginEnable=true\n');
  });

  it('does not take a commented-out key for the key', () => {
    expect(mergeIni('[daemon]\n#AutomaticLogin=user1\n', { daemon: { AutomaticLogin: 'kiosk' } })).toBe('[daemon]\n#AutomaticLogin=user1\nAutomaticLogin=kiosk\n');
  });

  it('replaces shell-style and login.defs-style assignments in place', () => {
    expect(mergeAssignments('XKBMODEL="pc105"\nXKBLAYOUT="us"\n', { XKBLAYOUT: '"de"' })).toBe('XKBMODEL="pc105"\nXKBLAYOUT="de"\n');
    expect(mergeAssignments('UMASK\t022\n', { PASS_MAX_DAYS: '30' }, ' ')).toBe('UMASK\t022\nPASS_MAX_DAYS\t30\n');
  });
});

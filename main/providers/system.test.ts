import { readlinkSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DeploymentProfileSchema } from '../../protocol/profile.js';
import { keyboardLayoutOf, localeOf } from '../../protocol/locales.js';
import { scratchTarget } from './testing/scratch.js';

const branding = { organizationName: 'Fabrikam', accentColor: '#0B5CAD', support: {}, logo: null };

describe('the device settings', () => {
  it('set locale (generated), keyboard and time zone, keep the files’ other lines, do it once, and undo exactly', async () => {
    const t = scratchTarget({
      'etc/locale.gen': '# en_US.UTF-8 UTF-8\n# de_CH.UTF-8 UTF-8\n',
      'etc/default/keyboard': 'XKBMODEL="pc105"\nXKBLAYOUT="us"\nXKBOPTIONS=""\n',
      'etc/default/locale': 'LANG=C.UTF-8\nLC_TIME=en_GB.UTF-8\n',
    });
    const snapshot = t.tree();
    await t.providers.applyOobe({ language: 'de-CH', keyboard: 'de-CH', timeZone: 'Europe/Zurich' });
    expect(t.read('etc/default/locale')).toBe('LANG=de_CH.UTF-8\nLC_TIME=en_GB.UTF-8\n');
    expect(t.read('etc/locale.gen')).toBe('# en_US.UTF-8 UTF-8\nde_CH.UTF-8 UTF-8\n');
    expect(t.read('etc/default/keyboard')).toBe('XKBMODEL="pc105"\nXKBLAYOUT="ch"\nXKBOPTIONS=""\n');
    expect(t.read('etc/timezone')).toBe('Europe/Zurich\n');
    expect(readlinkSync(join(t.root, 'etc/localtime'))).toBe('/usr/share/zoneinfo/Europe/Zurich');
    const recorded = t.changes.entries().length;
    await t.providers.applyOobe({ language: 'de-CH', keyboard: 'de-CH', timeZone: 'Europe/Zurich' });
    expect(t.changes.entries()).toHaveLength(recorded);
    // In a scratch target no command runs; on the live system localectl, locale-gen and timedatectl do.
    expect(t.changes.entries().some((c) => c.type === 'command')).toBe(false);
    await t.target.undoAll();
    expect(t.tree()).toEqual(snapshot);
  });

  it('refuse a time zone the system does not know, in the profile and at the device', async () => {
    expect(DeploymentProfileSchema.safeParse({ oobe: { timeZone: 'Mars/Olympus' } }).success).toBe(false);
    expect(DeploymentProfileSchema.parse({ oobe: { timeZone: 'America/Argentina/Buenos_Aires' } }).oobe.timeZone).toBe('America/Argentina/Buenos_Aires');
    // The device checks again: its time zone database may be older than the service's.
    const t = scratchTarget();
    await expect(t.providers.applyOobe({ language: null, keyboard: null, timeZone: 'Mars/Olympus' })).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining('not a time zone') });
    expect(DeploymentProfileSchema.safeParse({ oobe: { timeZone: '../../etc/shadow' } }).success).toBe(false);
  });

  it('name the device in /etc/hostname and on the 127.0.1.1 line of /etc/hosts', async () => {
    const t = scratchTarget({ 'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost\n' });
    await t.providers.configureEndState({ type: 'sign-in' }, { deviceName: 'LOBBY-0042', branding });
    expect(t.read('etc/hostname')).toBe('LOBBY-0042\n');
    expect(t.read('etc/hosts')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tLOBBY-0042\n::1\tlocalhost ip6-localhost\n');
    const bare = scratchTarget({ 'etc/hosts': '127.0.0.1\tlocalhost\n' });
    await bare.providers.configureEndState({ type: 'sign-in' }, { deviceName: 'KIOSK-1', branding });
    expect(bare.read('etc/hosts')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tKIOSK-1\n');
  });

  it('refuse a device name that cannot be a host name', async () => {
    const t = scratchTarget();
    await expect(t.providers.configureEndState({ type: 'sign-in' }, { deviceName: 'bad name;rm', branding })).rejects.toMatchObject({ code: 'ITEM_FAILED' });
  });

  it.each([
    ['en-US', 'us', 'en_US.UTF-8'],
    ['en-GB', 'gb', 'en_GB.UTF-8'],
    ['de', 'de', 'de_DE.UTF-8'],
    ['de-CH', 'ch', 'de_CH.UTF-8'],
    ['pt-BR', 'br', 'pt_BR.UTF-8'],
    ['ja-JP', 'jp', 'ja_JP.UTF-8'],
    ['es-419', 'latam', 'es_MX.UTF-8'],
    ['zh-Hant-TW', 'cn', 'zh_TW.UTF-8'],
  ])('map %s to the keyboard layout %s and the locale %s', (tag, layout, locale) => {
    expect(keyboardLayoutOf(tag)).toBe(layout);
    expect(localeOf(tag)).toBe(locale);
  });
});

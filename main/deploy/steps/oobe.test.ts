// The OOBE step: which pages are asked, when they are skipped (Ethernet, no one to ask), and what
// reaches device setup.
import { describe, expect, it } from 'vitest';

import type { OobePage } from '../../../protocol/ipc.js';
import { harness } from '../testing/fakes.js';
import { oobeStep } from './oobe.js';

describe('the OOBE step', () => {
  it('asks language, region and keyboard on Wi-Fi when the profile says user-select, and sets the choice', async () => {
    let asked: OobePage[] = [];
    const h = harness({
      profile: { oobe: { language: 'user-select', skipKeyboardPage: false, timeZone: 'Europe/Berlin' } },
      engine: { askOobe: (pages) => ((asked = pages), Promise.resolve({ language: 'de-DE', region: 'de-AT', keyboard: 'de', secondKeyboard: 'us' })) },
    });
    h.context.progress.journal.network = { medium: 'wireless', interface: 'wlan0' };
    expect(await oobeStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Language de-DE, region de-AT, keyboard de + us, time zone Europe/Berlin' });
    expect(asked).toEqual(['language', 'region', 'keyboard']);
    expect(h.providers.oobe).toEqual([{ language: 'de-DE', region: 'de-AT', keyboard: 'de', secondKeyboard: 'us', timeZone: 'Europe/Berlin' }]);
  });

  it('skips the pages on Ethernet when the profile says so, keeping a fixed language and time zone', async () => {
    const h = harness({ profile: { oobe: { language: 'fr-FR', skipLanguageRegionOnEthernet: true, skipKeyboardPage: false, timeZone: 'Europe/Paris' } }, engine: { askOobe: () => Promise.reject(new Error('no page may show')) } });
    h.context.progress.journal.network = { medium: 'wired', interface: 'eth0' };
    expect(await oobeStep.run(h.context)).toEqual({ state: 'succeeded', detail: 'Language fr-FR, time zone Europe/Paris; language and region pages skipped on Ethernet' });
    expect(h.providers.oobe).toEqual([{ language: 'fr-FR', region: null, keyboard: 'fr-FR', secondKeyboard: null, timeZone: 'Europe/Paris' }]);
  });

  it('keeps the image defaults when nothing is fixed and no one can be asked', async () => {
    const h = harness({ profile: { oobe: { language: 'user-select', skipKeyboardPage: true } } });
    h.context.progress.journal.network = { medium: 'wireless', interface: 'wlan0' };
    expect(await oobeStep.run(h.context)).toEqual({ state: 'skipped', detail: 'no one to ask for a language: the image default is kept; keyboard from the language' });
    expect(h.providers.oobe).toEqual([]);
  });
});

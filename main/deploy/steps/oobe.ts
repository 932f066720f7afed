// "Language, region and keyboard": the OOBE pages, asked of the person at the device only when
// the profile wants a choice (user-select, the keyboard page) and the device is not on Ethernet
// with the profile skipping them there; a fixed language and time zone are set either way.
import type { OobePage } from '../../../protocol/ipc.js';
import { profileOf, type Step } from '../context.js';

export const oobeStep: Step = {
  id: 'oobe',
  async run(context) {
    const { oobe } = profileOf(context).profile;
    const onEthernet = context.progress.journal.network.medium === 'wired';
    const pagesSkipped = oobe.skipLanguageRegionOnEthernet && onEthernet;
    // A fixed language is set whatever the pages; "user-select" needs a person at the screen.
    let language = oobe.language === 'os-default' || oobe.language === 'user-select' ? null : oobe.language;
    let region: string | null = null;
    let keyboard: string | null = null;
    let secondKeyboard: string | null = null;
    const skipped: string[] = [];
    if (pagesSkipped) skipped.push('language and region pages skipped on Ethernet');
    const pages: OobePage[] = [];
    if (oobe.language === 'user-select' && !pagesSkipped) pages.push('language', 'region');
    if (!oobe.skipKeyboardPage && !pagesSkipped) pages.push('keyboard');
    const { askOobe } = context.options;
    if (pages.length && askOobe) {
      const choice = await askOobe(pages);
      if (pages.includes('language')) language = choice.language;
      if (pages.includes('region')) region = choice.region;
      if (pages.includes('keyboard')) [keyboard, secondKeyboard] = [choice.keyboard, choice.secondKeyboard];
    } else if (pages.includes('language')) {
      skipped.push('no one to ask for a language: the image default is kept');
    }
    if (oobe.skipKeyboardPage) skipped.push('keyboard from the language');
    keyboard ??= language;
    const { timeZone } = oobe;
    if (!language && !keyboard && !timeZone) return { state: 'skipped', detail: skipped.join('; ') || 'The image defaults are kept' };
    await context.options.providers.applyOobe({ language, region, keyboard, secondKeyboard, timeZone });
    const set = [language ? `Language ${language}` : null, region ? `region ${region}` : null, keyboard && keyboard !== language ? `keyboard ${[keyboard, secondKeyboard].filter(Boolean).join(' + ')}` : null, timeZone ? `time zone ${timeZone}` : null]
      .filter(Boolean)
      .join(', ');
    return { state: 'succeeded', detail: `${set}${skipped.length ? `; ${skipped.join('; ')}` : ''}` };
  },
};

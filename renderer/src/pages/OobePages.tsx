// The OOBE pages the engine asks for: language (which also switches this screen's language when it
// is one of ours), country or region for formats, keyboard layout and an optional second one —
// each choice a large tile, for a finger on a touch screen as for the arrow keys (one radio
// group). Names come from the browser's own Intl.DisplayNames, so they read in the screen's language.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

import type { OobeChoice, OobePage } from '../../../protocol/ipc.js';
import { keyboardLayoutOf } from '../../../protocol/locales.js';
import type { HostConnection } from '../host.js';
import { LANGUAGES } from '../i18n.js';

const LANGUAGE_TAGS = ['en-US', 'en-GB', 'de-DE', 'de-CH', 'de-AT', 'fr-FR', 'fr-CA', 'fr-BE', 'ar-SA', 'es-ES', 'it-IT', 'nl-NL', 'pt-BR', 'ja-JP'];
const REGIONS = ['US', 'GB', 'DE', 'CH', 'AT', 'FR', 'BE', 'CA', 'SA', 'AE', 'ES', 'IT', 'NL', 'BR', 'JP', 'IN', 'AU'];
/** XKB layouts, named through the locale whose keyboard they are. */
const LAYOUTS: Record<string, string> = { us: 'en-US', gb: 'en-GB', de: 'de-DE', ch: 'de-CH', at: 'de-AT', fr: 'fr-FR', be: 'fr-BE', ca: 'fr-CA', ara: 'ar', es: 'es-ES', it: 'it-IT', nl: 'nl-NL', br: 'pt-BR', jp: 'ja-JP' };

function named(type: 'language' | 'region', code: string, display: string): string {
  try {
    return new Intl.DisplayNames([display], { type }).of(code) ?? code;
  } catch {
    return code;
  }
}

export function OobePages({ host, pages }: { host: HostConnection; pages: OobePage[] }) {
  const { t, i18n } = useTranslation();
  const [index, setIndex] = useState(0);
  const [language, setLanguage] = useState('en-US');
  const [region, setRegion] = useState('US');
  const [keyboard, setKeyboard] = useState('us');
  const [second, setSecond] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const page = pages[index]!;
  const chooseLanguage = (tag: string) => {
    setLanguage(tag);
    setRegion(tag.split('-')[1] ?? region);
    setKeyboard(keyboardLayoutOf(tag));
    const ui = tag.split('-')[0]!;
    if (LANGUAGES.some((l) => l.code === ui)) void i18n.changeLanguage(ui);
  };
  const next = () => {
    if (index + 1 < pages.length) {
      setIndex(index + 1);
      return;
    }
    const choice: OobeChoice = { language, region: pages.includes('region') ? region : null, keyboard: pages.includes('keyboard') ? keyboard : null, secondKeyboard: pages.includes('keyboard') && second ? second : null };
    host.call('chooseOobe', choice).then(
      () => setNotice(null),
      (error: Error) => setNotice(error.message),
    );
  };
  const ui = i18n.language;
  const options: [string, string][] =
    page === 'language'
      ? LANGUAGE_TAGS.map((tag) => [tag, named('language', tag, tag)])
      : page === 'region'
        ? REGIONS.map((code) => [code, named('region', code, ui)])
        : Object.entries(LAYOUTS).map(([layout, tag]) => [layout, named('language', tag, ui)]);
  const value = page === 'language' ? language : page === 'region' ? region : keyboard;
  const set = page === 'language' ? chooseLanguage : page === 'region' ? setRegion : setKeyboard;
  return (
    <form
      className="oobe"
      onSubmit={(event) => {
        event.preventDefault();
        next();
      }}
    >
      <h1>{t(`oobe.${page}`)}</h1>
      <fieldset className="choices">
        <legend className="visually-hidden">{t(`oobe.${page}`)}</legend>
        {options.map(([code, name]) => (
          <label key={code} className={`choice${code === value ? ' chosen' : ''}`} lang={page === 'language' ? code : undefined}>
            <input type="radio" name={page} value={code} checked={code === value} onChange={() => set(code)} />
            <span>{name}</span>
          </label>
        ))}
      </fieldset>
      {page === 'keyboard' ? (
        <label className="second">
          {t('oobe.second')}{' '}
          <select value={second} onChange={(event) => setSecond(event.target.value)}>
            <option value="">{t('oobe.none')}</option>
            {Object.entries(LAYOUTS)
              .filter(([layout]) => layout !== keyboard)
              .map(([layout, tag]) => (
                <option key={layout} value={layout}>
                  {named('language', tag, ui)}
                </option>
              ))}
          </select>
        </label>
      ) : null}
      <div className="buttons">
        {index > 0 ? (
          <button type="button" onClick={() => setIndex(index - 1)}>
            {t('oobe.back')}
          </button>
        ) : null}
        <button type="submit">{t('oobe.next')}</button>
      </div>
      {notice ? <p role="status">{notice}</p> : null}
    </form>
  );
}

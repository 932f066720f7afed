// The console's strings in English and German (its own i18next instance: the ESP's languages and
// strings are the device's, not the admin's). The choice is kept in localStorage — a language,
// never a credential.
import i18next, { type i18n } from 'i18next';
import { initReactI18next } from 'react-i18next';

import de from './locales/de.json';
import en from './locales/en.json';

export const CONSOLE_LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'de', name: 'Deutsch' },
] as const;

const STORED = 'selfdeploy-console-language';

export async function setupConsoleI18n(): Promise<i18n> {
  const asked = new URLSearchParams(location.search).get('lang') ?? localStorage.getItem(STORED) ?? navigator.language.split('-')[0] ?? 'en';
  const lng = CONSOLE_LANGUAGES.some((l) => l.code === asked) ? asked : 'en';
  const instance = i18next.createInstance();
  await instance.use(initReactI18next).init({ lng, fallbackLng: 'en', resources: { en: { translation: en }, de: { translation: de } }, interpolation: { escapeValue: false }, returnNull: false });
  document.documentElement.lang = lng;
  instance.on('languageChanged', (code) => {
    document.documentElement.lang = code;
    localStorage.setItem(STORED, code);
  });
  return instance;
}

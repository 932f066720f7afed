// Every string the renderer shows, in English, German, French and Arabic (right to left), and the
// failures a device can meet (locales/failures). The language page (and ?lang= for tests)
// switches it; <html lang dir> follows.
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';

import ar from './locales/ar.json';
import de from './locales/de.json';
import en from './locales/en.json';
import fr from './locales/fr.json';
import arFailures from './locales/failures/ar.json';
import deFailures from './locales/failures/de.json';
import frFailures from './locales/failures/fr.json';

export const LANGUAGES = [
  { code: 'en', name: 'English', dir: 'ltr' },
  { code: 'de', name: 'Deutsch', dir: 'ltr' },
  { code: 'fr', name: 'Français', dir: 'ltr' },
  { code: 'ar', name: 'العربية', dir: 'rtl' },
] as const;
export type LanguageCode = (typeof LANGUAGES)[number]['code'];

export function directionOf(code: string): 'ltr' | 'rtl' {
  return LANGUAGES.find((l) => l.code === code)?.dir ?? 'ltr';
}

export async function setupI18n(initial: string): Promise<typeof i18next> {
  const lng = LANGUAGES.some((l) => l.code === initial) ? initial : 'en';
  await i18next.use(initReactI18next).init({
    lng,
    fallbackLng: 'en',
    // "failures": the catalogue's title, message and remedy of the failures a device can meet, by
    // code; English comes with the failure itself (protocol/errors/catalogue.ts).
    resources: { en: { translation: en }, de: { translation: de, failures: deFailures }, fr: { translation: fr, failures: frFailures }, ar: { translation: ar, failures: arFailures } },
    interpolation: { escapeValue: false }, // React escapes
    returnNull: false,
  });
  const apply = (code: string) => {
    document.documentElement.lang = code;
    document.documentElement.dir = directionOf(code);
  };
  apply(lng);
  i18next.on('languageChanged', apply);
  return i18next;
}

// Language tags as a Linux system names them: the glibc locale (de-CH → de_CH.UTF-8) and the XKB
// keyboard layout (de-CH → ch). Shared by the providers (what they write) and the renderer (what
// the OOBE keyboard page proposes).

// The country glibc pairs with a language when the tag names none (de → de_DE); most are the
// language in capitals, these are not.
const REGION_OF_LANGUAGE: Record<string, string> = { en: 'US', ja: 'JP', zh: 'CN', ko: 'KR', da: 'DK', sv: 'SE', nb: 'NO', nn: 'NO', cs: 'CZ', el: 'GR', uk: 'UA', he: 'IL', ar: 'EG', et: 'EE', sl: 'SI', sr: 'RS', fa: 'IR', vi: 'VN', hi: 'IN', ca: 'ES', eu: 'ES', gl: 'ES', ga: 'IE', cy: 'GB' };
// Regions glibc has no locale for, by the country it has: es-419 (Latin America) → es_MX.
const REGION_OF_AREA: Record<string, string> = { '419': 'MX' };

/** en-US → en_US.UTF-8; de → de_DE.UTF-8; zh-Hant-TW → zh_TW.UTF-8; es-419 → es_MX.UTF-8. */
export function localeOf(tag: string): string {
  const [first, ...rest] = tag.split('-');
  const language = first!.toLowerCase();
  const subtag = rest.find((p) => /^([A-Za-z]{2}|[0-9]{3})$/.test(p))?.toUpperCase();
  const region = (subtag && (REGION_OF_AREA[subtag] ?? (/^[A-Z]{2}$/.test(subtag) ? subtag : undefined))) ?? REGION_OF_LANGUAGE[language] ?? language.toUpperCase();
  return `${language}_${region}.UTF-8`;
}

// XKB layouts where the language alone does not name one (xkeyboard-config's base.lst).
const LAYOUT_OF_LANGUAGE: Record<string, string> = { en: 'us', ja: 'jp', da: 'dk', sv: 'se', nb: 'no', nn: 'no', cs: 'cz', el: 'gr', uk: 'ua', ko: 'kr', he: 'il', ar: 'ara', fa: 'ir', zh: 'cn', et: 'ee', sl: 'si', sr: 'rs' };
const LAYOUT_OF_REGION: Record<string, string> = { GB: 'gb', CH: 'ch', BE: 'be', CA: 'ca', BR: 'br', PT: 'pt', AT: 'at', IE: 'ie', LATAM: 'latam', '419': 'latam' };

/** de-CH → ch, en-GB → gb, pt-BR → br, en-US → us, de → de. */
export function keyboardLayoutOf(tag: string): string {
  const [language, ...rest] = tag.split('-');
  const region = rest.find((p) => /^([A-Za-z]{2}|[0-9]{3})$/.test(p))?.toUpperCase();
  if (region && LAYOUT_OF_REGION[region]) return LAYOUT_OF_REGION[region];
  const lower = language!.toLowerCase();
  return LAYOUT_OF_LANGUAGE[lower] ?? lower;
}


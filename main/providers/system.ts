// The device's own settings: language (/etc/default/locale, /etc/locale.gen, localectl), keyboard
// (/etc/default/keyboard, localectl), time zone (/etc/timezone, /etc/localtime, timedatectl) and
// name (/etc/hostname, the 127.0.1.1 line of /etc/hosts, hostnamectl) — the files on every system,
// the commands only on the live one so the running session takes them up too.
import { isTimeZone } from '../../protocol/profile.js';
import { ItemError, mergeAssignments, textOf, type Plan } from './placed.js';
import type { TargetPort } from './target.js';

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

export interface OobeSettings {
  language: string | null;
  keyboard: string | null;
  timeZone: string | null;
}

export async function oobePlan(target: TargetPort, settings: OobeSettings): Promise<Plan> {
  const plan: Plan = { files: [], symlinks: [], commands: [] };
  if (settings.language) {
    const locale = localeOf(settings.language);
    plan.files.push({ path: '/etc/default/locale', content: mergeAssignments(await textOf(target, '/etc/default/locale'), { LANG: locale }), mode: 0o644 });
    // The locale must be generated before anything can use it.
    const gen = (await textOf(target, '/etc/locale.gen')) ?? '';
    const lines = gen.replace(/\n$/, '').split('\n').filter((line, index, all) => line !== '' || index < all.length - 1);
    const entry = `${locale} UTF-8`;
    const at = lines.findIndex((line) => line.replace(/^#\s*/, '').trim() === entry);
    if (at >= 0) lines[at] = entry;
    else lines.push(entry);
    plan.files.push({ path: '/etc/locale.gen', content: lines.join('\n') + '\n', mode: 0o644 });
    plan.commands.push({ argv: ['locale-gen'], inverse: ['locale-gen'] }, { argv: ['localectl', 'set-locale', `LANG=${locale}`], inverse: null });
  }
  if (settings.keyboard) {
    const layout = keyboardLayoutOf(settings.keyboard);
    const current = await textOf(target, '/etc/default/keyboard');
    plan.files.push({ path: '/etc/default/keyboard', content: mergeAssignments(current ?? 'XKBMODEL="pc105"\n', { XKBLAYOUT: `"${layout}"` }), mode: 0o644 });
    plan.commands.push({ argv: ['localectl', 'set-x11-keymap', layout], inverse: null });
  }
  if (settings.timeZone) {
    const zone = settings.timeZone;
    if (!isTimeZone(zone) || zone.split('/').includes('..')) throw new ItemError('ITEM_FAILED', `"${zone}" is not a time zone this system knows`);
    plan.files.push({ path: '/etc/timezone', content: `${zone}\n`, mode: 0o644 });
    plan.symlinks!.push({ path: '/etc/localtime', target: `/usr/share/zoneinfo/${zone}` });
    plan.commands.push({ argv: ['timedatectl', 'set-timezone', zone], inverse: null });
  }
  return plan;
}

/** RFC 1123 host name label: what hostnamectl accepts as a static name. */
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export async function deviceNamePlan(target: TargetPort, name: string): Promise<Plan> {
  if (!HOST_NAME.test(name)) throw new ItemError('ITEM_FAILED', `"${name}" cannot be a host name (letters, digits and inner hyphens, at most 63)`);
  const hosts = (await textOf(target, '/etc/hosts')) ?? '127.0.0.1\tlocalhost\n';
  const lines = hosts.replace(/\n$/, '').split('\n');
  // Debian resolves its own name through 127.0.1.1 (Debian reference §5.1.1).
  const at = lines.findIndex((line) => /^127\.0\.1\.1\s/.test(line));
  if (at >= 0) lines[at] = `127.0.1.1\t${name}`;
  else lines.splice(lines.findIndex((line) => /^127\.0\.0\.1\s/.test(line)) + 1, 0, `127.0.1.1\t${name}`);
  return {
    files: [
      { path: '/etc/hostname', content: `${name}\n`, mode: 0o644 },
      { path: '/etc/hosts', content: lines.join('\n') + '\n', mode: 0o644 },
    ],
    commands: [{ argv: ['hostnamectl', 'set-hostname', name], inverse: null }],
  };
}

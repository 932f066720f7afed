// The device's own settings: language (/etc/default/locale or /etc/locale.conf, /etc/locale.gen,
// localectl), keyboard (/etc/default/keyboard, localectl), time zone (/etc/timezone,
// /etc/localtime, timedatectl) and name (/etc/hostname, the 127.0.1.1 line of /etc/hosts,
// hostnamectl) — the files on every system, the commands only on the live one so the running
// session takes them up too (and only where systemd runs: main/target/target.ts).
import { keyboardLayoutOf, localeOf } from '../../protocol/locales.js';
import { isTimeZone } from '../../protocol/profile.js';
import { ItemError, mergeAssignments, textOf, type Plan } from './placed.js';
import { FRESH_HOSTS, HOST_NAME } from '../target/place-contents.js';
import { PLACES } from '../target/places.js';
import type { TargetPort } from '../target/port.js';

export interface OobeSettings {
  language: string | null;
  /** Country for formats (dates, numbers, paper): LC_* from it with the language. */
  region?: string | null;
  /** A language tag or an XKB layout; a second layout is switched to with Alt+Shift. */
  keyboard: string | null;
  secondKeyboard?: string | null;
  timeZone: string | null;
}

/**
 * Where the language goes: /etc/default/locale, or /etc/locale.conf where the former is the
 * symlink to it that Debian 13 makes (writing the link itself would cut the two apart).
 */
async function languageFile(target: TargetPort): Promise<string> {
  const stat = await target.stat(PLACES.locale);
  if (stat?.type !== 'symlink') return PLACES.locale;
  if (stat.link === '../locale.conf' || stat.link === PLACES.localeConf) return PLACES.localeConf;
  throw new ItemError('ITEM_FAILED', `${PLACES.locale} is a symlink to ${stat.link}; device setup writes the language into ${PLACES.locale} or ${PLACES.localeConf} only`);
}

export async function oobePlan(target: TargetPort, settings: OobeSettings): Promise<Plan> {
  const plan: Plan = { files: [], symlinks: [], commands: [] };
  if (settings.language) {
    const locale = localeOf(settings.language);
    // Formats follow the region when one was chosen (de-CH's dates for an English speaker in Zurich).
    const formats = settings.region ? localeOf(`${settings.language.split('-')[0]}-${settings.region}`) : null;
    const values: Record<string, string> = { LANG: locale };
    if (formats && formats !== locale) for (const category of ['LC_TIME', 'LC_NUMERIC', 'LC_MONETARY', 'LC_PAPER', 'LC_MEASUREMENT']) values[category] = formats;
    const file = await languageFile(target);
    plan.files.push({ path: file, content: mergeAssignments(await textOf(target, file), values), mode: 0o644 });
    // The locales must be generated before anything can use them.
    const gen = (await textOf(target, PLACES.localeGen)) ?? '';
    const lines = gen.replace(/\n$/, '').split('\n').filter((line, index, all) => line !== '' || index < all.length - 1);
    for (const wanted of new Set([locale, formats ?? locale])) {
      const entry = `${wanted} UTF-8`;
      const at = lines.findIndex((line) => line.replace(/^#\s*/, '').trim() === entry);
      if (at >= 0) lines[at] = entry;
      else lines.push(entry);
    }
    plan.files.push({ path: PLACES.localeGen, content: lines.join('\n') + '\n', mode: 0o644 });
    plan.commands.push({ argv: ['locale-gen'], inverse: ['locale-gen'] }, { argv: ['localectl', 'set-locale', `LANG=${locale}`], inverse: null });
  }
  if (settings.keyboard) {
    const layouts = [keyboardLayoutOf(settings.keyboard), ...(settings.secondKeyboard ? [keyboardLayoutOf(settings.secondKeyboard)] : [])].filter((l, i, all) => all.indexOf(l) === i);
    const current = await textOf(target, PLACES.keyboard);
    const values: Record<string, string> = { XKBLAYOUT: `"${layouts.join(',')}"` };
    if (layouts.length > 1) values['XKBOPTIONS'] = '"grp:alt_shift_toggle"';
    plan.files.push({ path: PLACES.keyboard, content: mergeAssignments(current ?? 'XKBMODEL="pc105"\n', values), mode: 0o644 });
    plan.commands.push({ argv: ['localectl', 'set-x11-keymap', layouts.join(',')], inverse: null });
  }
  if (settings.timeZone) {
    const zone = settings.timeZone;
    if (!isTimeZone(zone) || zone.split('/').includes('..')) throw new ItemError('ITEM_FAILED', `"${zone}" is not a time zone this system knows`);
    plan.files.push({ path: PLACES.timezone, content: `${zone}\n`, mode: 0o644 });
    plan.symlinks!.push({ path: PLACES.localtime, target: `/usr/share/zoneinfo/${zone}` });
    plan.commands.push({ argv: ['timedatectl', 'set-timezone', zone], inverse: null });
  }
  return plan;
}


export async function deviceNamePlan(target: TargetPort, name: string): Promise<Plan> {
  if (!HOST_NAME.test(name)) throw new ItemError('ITEM_FAILED', `"${name}" cannot be a host name (letters, digits and inner hyphens, at most 63)`);
  const hosts = (await textOf(target, PLACES.hosts)) ?? FRESH_HOSTS;
  const lines = hosts.replace(/\n$/, '').split('\n');
  // Debian resolves its own name through 127.0.1.1 (Debian reference §5.1.1).
  const at = lines.findIndex((line) => /^127\.0\.1\.1\s/.test(line));
  if (at >= 0) lines[at] = `127.0.1.1\t${name}`;
  else lines.splice(lines.findIndex((line) => /^127\.0\.0\.1\s/.test(line)) + 1, 0, `127.0.1.1\t${name}`);
  return {
    files: [
      { path: PLACES.hostname, content: `${name}\n`, mode: 0o644 },
      { path: PLACES.hosts, content: lines.join('\n') + '\n', mode: 0o644 },
    ],
    commands: [{ argv: ['hostnamectl', 'set-hostname', name], inverse: null }],
  };
}

// The organisation's login screen, for the sign-in end state: GDM's login-screen settings in the
// system dconf database it reads (gdm.d) — the organisation's logo, and a banner with its name,
// its support contact and the profile's sign-in message — compiled with `dconf update`; reset
// removes the compiled database before compiling what is left, so no banner outlives it. LightDM's
// GTK greeter (Debian's) has no banner: it gets the organisation's colour as its background and
// the logo as the picture of every user, from a drop-in in its configuration directory.
import type { DeviceBranding } from '../../protocol/branding.js';
import type { Plan } from './placed.js';
import { GDM_DATABASE, PLACES } from '../target/places.js';

/** A GVariant string literal: single quotes, with backslash, quote and line break escaped. */
export function gvariantString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** Text for one line of the banner: no control characters. */
// eslint-disable-next-line no-control-regex
const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();

/** The banner: the organisation, how to reach its support, and the profile's message. */
export function bannerText(branding: DeviceBranding, message: string | null): string {
  const { phone, email, url } = branding.support;
  const contact = [email, phone, url].filter((part): part is string => Boolean(part)).map(oneLine);
  return [oneLine(branding.organizationName), ...(contact.length ? [`Support: ${contact.join(' · ')}`] : []), ...(message ? [message.replace(/\r/g, '')] : [])].join('\n');
}

/** The GTK greeter's drop-in: the organisation's colour behind the login box, its logo as the users' picture. */
export function lightdmGreeterConf(branding: DeviceBranding): string {
  return [
    '# selfdeploy: the organisation’s login screen (the profile’s sign-in end state)',
    '[greeter]',
    `background = ${branding.accentColor}`,
    ...(branding.logo ? [`default-user-image = ${PLACES.loginLogo}`] : []),
    '',
  ].join('\n');
}

/**
 * The login screen of the display managers the device has (`gdm`: dconf is there to compile GDM's
 * database; `lightdm`: LightDM's GTK greeter is installed): GDM's keyfile, compiled by
 * `dconf update` (undone the same way), the greeter's drop-in, and the logo they show.
 */
export function loginScreenPlan(branding: DeviceBranding, message: string | null, has: { gdm: boolean; lightdm: boolean } = { gdm: true, lightdm: true }): Plan {
  const logo = branding.logo ? Buffer.from(branding.logo.data, 'base64') : null;
  const files: Plan['files'] = [];
  if (logo && (has.gdm || has.lightdm)) files.push({ path: PLACES.loginLogo, content: logo, mode: 0o644 });
  if (has.lightdm) files.push({ path: PLACES.lightdmGreeter, content: lightdmGreeterConf(branding), mode: 0o644 });
  if (!has.gdm) return { files, commands: [] };
  const keyfile = [
    '# selfdeploy: the organisation’s login screen (the profile’s sign-in end state)',
    '[org/gnome/login-screen]',
    ...(logo ? [`logo=${gvariantString(PLACES.loginLogo)}`] : []),
    'banner-message-enable=true',
    `banner-message-text=${gvariantString(bannerText(branding, message))}`,
    '',
  ].join('\n');
  return {
    files: [...files, { path: PLACES.gdmLoginScreen, content: keyfile, mode: 0o644 }],
    // Undone newest first: the compiled database removed, then dconf update builds it from what is left.
    commands: [
      { argv: ['dconf', 'update'], inverse: ['dconf', 'update'] },
      { argv: ['dconf', 'compile', GDM_DATABASE, `${GDM_DATABASE}.d`], inverse: ['rm', '-f', '--', GDM_DATABASE] },
    ],
  };
}

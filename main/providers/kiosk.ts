// The kiosk end state: a local account that has no password and no administrator rights, automatic
// logon for GDM (/etc/gdm3/custom.conf + AccountsService) and LightDM, and an X session
// ("selfdeploy-kiosk") whose only program is the kiosk — selfdeploy's kiosk mode or the profile's
// app — restarted whenever it exits, with a backoff so a crashing app does not spin.
import type { KioskEndState } from '../../protocol/profile.js';
import { ItemError, mergeIni, textOf, type Plan } from './placed.js';
import { KIOSK_SESSION, kioskAccountRefusal } from '../target/place-contents.js';
import { PLACES, placePath } from '../target/places.js';
import type { TargetPort } from '../target/port.js';

export { KIOSK_SESSION };
export const KIOSK_SESSION_SCRIPT = PLACES.kioskSession;
/** Where the deb package puts the desktop app (electron-builder: /opt/<productName>/<executableName>). */
export const KIOSK_APP = ['/opt/selfdeploy/selfdeploy-app', '--kiosk'];

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The session script: runs the kiosk, and when it exits, runs it again (1 s, doubling to 30 s; reset after a minute up). */
export function kioskSessionScript(argv: readonly string[]): string {
  return [
    '#!/bin/sh',
    '# selfdeploy kiosk session: the kiosk is the only program; whenever it exits it is started again.',
    'delay=1',
    'while :; do',
    '  started=$(date +%s)',
    `  ${argv.map(shellQuote).join(' ')}`,
    '  status=$?',
    '  logger -t selfdeploy-kiosk "the kiosk exited with status $status; starting it again in ${delay} s" 2>/dev/null || true',
    '  if [ $(( $(date +%s) - started )) -ge 60 ]; then delay=1; fi',
    '  sleep "$delay"',
    '  if [ "$delay" -lt 30 ]; then delay=$((delay * 2)); fi',
    'done',
    '',
  ].join('\n');
}

interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The account's passwd entry, from the target's own files. */
function accountOf(passwd: string | null, name: string): Account | null {
  const entry = passwd?.split('\n').find((line) => line.split(':')[0] === name);
  if (!entry) return null;
  const fields = entry.split(':');
  return { name, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? `/home/${name}` };
}

/** The next free id at or above 1000 in an /etc/passwd- or /etc/group-style file. */
function nextId(text: string | null): number {
  const used = new Set((text ?? '').split('\n').map((line) => Number(line.split(':')[2])));
  let id = 1000;
  while (used.has(id)) id++;
  return id;
}

function appended(text: string | null, line: string): string {
  const base = text === null || text === '' ? '' : text.endsWith('\n') ? text : `${text}\n`;
  return `${base}${line}\n`;
}

/**
 * The account: on the live system useradd makes it (inverse userdel --remove); in a scratch target
 * its passwd, group and shadow lines are written directly. Its password is locked ("!"): nobody can
 * sign in as it, only automatic logon starts its session. An existing account that administers the
 * device is refused rather than used.
 */
async function accountPlan(target: TargetPort, name: string, plan: Plan): Promise<void> {
  const passwd = await textOf(target, '/etc/passwd');
  const group = await textOf(target, '/etc/group');
  // The same rule selfdeploy-helper holds automatic logon to: no root, system or administrator account.
  const refused = kioskAccountRefusal(name, (path) => (path === '/etc/passwd' ? passwd : path === '/etc/group' ? group : null));
  if (refused) throw new ItemError('ITEM_FAILED', `${refused}: a kiosk account must be an ordinary account that does not administer the device`);
  if (accountOf(passwd, name)) return;
  if (target.live) {
    plan.commands.unshift({ argv: ['useradd', '--create-home', '--user-group', '--shell', '/bin/sh', '--comment', 'selfdeploy kiosk', name], inverse: ['userdel', '--remove', name] });
    return;
  }
  const shadow = await textOf(target, '/etc/shadow');
  const uid = nextId(passwd);
  const gid = nextId(group);
  const days = Math.floor(Date.now() / 86_400_000);
  const shadowGroup = (group ?? '').split('\n').find((line) => line.startsWith('shadow:'));
  const home = `/home/${name}`;
  plan.files.unshift(
    { path: '/etc/passwd', content: appended(passwd, `${name}:x:${uid}:${gid}:selfdeploy kiosk:${home}:/bin/sh`), mode: 0o644 },
    { path: '/etc/group', content: appended(group, `${name}:x:${gid}:`), mode: 0o644 },
    { path: '/etc/shadow', content: appended(shadow, `${name}:!:${days}:0:99999:7:::`), mode: 0o640, owner: { uid: 0, gid: shadowGroup ? Number(shadowGroup.split(':')[2]) : 0 } },
  );
  plan.dirs!.push({ path: home, mode: 0o750, owner: { uid, gid } });
}

export async function kioskPlan(target: TargetPort, kiosk: KioskEndState, organization: string): Promise<Plan> {
  const plan: Plan = { files: [], dirs: [], commands: [] };
  const name = kiosk.localAccount.name;
  await accountPlan(target, name, plan);
  const argv = kiosk.mode === 'app' ? kiosk.appCommand! : KIOSK_APP;
  plan.files.push(
    { path: PLACES.kioskConfig, content: JSON.stringify({ ...kiosk, organization }, null, 2) + '\n', mode: 0o644 },
    { path: KIOSK_SESSION_SCRIPT, content: kioskSessionScript(argv), mode: 0o755 },
    {
      path: PLACES.kioskDesktop,
      content: `[Desktop Entry]\nName=selfdeploy kiosk (${organization.replace(/[\r\n]/g, ' ')})\nComment=The kiosk, full screen, started again whenever it exits\nExec=${KIOSK_SESSION_SCRIPT}\nType=Application\n`,
      mode: 0o644,
    },
  );
  if (kiosk.autoLogon) {
    plan.files.push(
      { path: PLACES.lightdm, content: `[Seat:*]\nautologin-user=${name}\nautologin-user-timeout=0\nautologin-session=${KIOSK_SESSION}\n`, mode: 0o644 },
      { path: PLACES.gdm, content: mergeIni(await textOf(target, PLACES.gdm), { daemon: { AutomaticLoginEnable: 'true', AutomaticLogin: name } }), mode: 0o644 },
      // GDM starts the session AccountsService names for the user.
      { path: placePath('accountsService', { account: name }), content: mergeIni(await textOf(target, placePath('accountsService', { account: name })), { User: { Session: KIOSK_SESSION, XSession: KIOSK_SESSION, SystemAccount: 'false' } }), mode: 0o600 },
    );
  }
  return plan;
}

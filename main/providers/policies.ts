// Policies as Linux administrators keep them: key/value settings merged into managed JSON or INI
// files (owner and mode as the policy says), Chromium/Chrome managed policies
// (/etc/chromium/policies/managed, /etc/opt/chrome/policies/managed), the password policy in
// pwquality and login.defs, the screen lock in the system dconf database (GNOME), and the account
// SSSD binds to the directory as and the Active Directory domain the device joins (directory.ts).
import { managedConfigPath, type PolicySettings } from '../../protocol/profile.js';
import { ITEM_SECRETS } from '../../protocol/items.js';
import { directoryBindPlan, directoryJoinPlan } from './directory.js';
import { ItemError, mergeAssignments, mergeIni, ownerOf, safe, textOf, type Plan } from './placed.js';
import { PLACES, placePath } from '../target/places.js';
import type { TargetPort } from '../target/port.js';

const CHROMIUM_POLICIES = { chromium: 'chromiumPolicy', chrome: 'chromePolicy' } as const;

/** The record of what is in force, for the kiosk and for diagnostics. */
function record(name: string, version: number, settings: PolicySettings): Plan['files'][number] {
  // Readable by everyone: without its secrets (a directory bind's password), as the admin API shows it.
  const shown: Record<string, unknown> = { version, ...settings };
  for (const field of ITEM_SECRETS.policy ?? []) if (field in shown) shown[field] = '[secret]';
  return { path: placePath('policyRecord', { name }), content: JSON.stringify(shown, null, 2) + '\n', mode: 0o644 };
}

/** `deviceName`: the name the device gets (a domain join is made under it); null or absent: the name it has. */
export async function policyPlan(target: TargetPort, item: { name: string; version: number; payload: PolicySettings }, deviceName?: string | null): Promise<Plan> {
  const name = safe(item.name, 'policy');
  const settings = item.payload;
  switch (settings.kind) {
    case 'password': {
      const files = [record(name, item.version, settings)];
      if (settings.minLength > 0) files.push({ path: placePath('pwquality', { name }), content: `# selfdeploy policy "${item.name}"\nminlen = ${settings.minLength}\n`, mode: 0o644 });
      if (settings.maxAgeDays > 0) {
        files.push({ path: PLACES.loginDefs, content: mergeAssignments(await textOf(target, PLACES.loginDefs), { PASS_MAX_DAYS: String(settings.maxAgeDays) }, ' '), mode: 0o644 });
      }
      return { files, commands: [] };
    }
    case 'screen-lock': {
      const locks = settings.idleLockMinutes > 0;
      const keyfile = [
        `# selfdeploy policy "${item.name}"`,
        '[org/gnome/desktop/session]',
        `idle-delay=uint32 ${settings.idleLockMinutes * 60}`,
        '',
        '[org/gnome/desktop/screensaver]',
        `lock-enabled=${locks && settings.requirePasswordToUnlock}`,
        'lock-delay=uint32 0',
        `idle-activation-enabled=${locks}`,
      ];
      const profile = await textOf(target, PLACES.dconfProfile);
      const lines = profile?.replace(/\n$/, '').split('\n') ?? ['user-db:user'];
      if (!lines.includes('system-db:local')) lines.push('system-db:local');
      return {
        files: [
          record(name, item.version, settings),
          { path: PLACES.dconfProfile, content: lines.join('\n') + '\n', mode: 0o644 },
          { path: placePath('dconfKeyfile', { name }), content: keyfile.join('\n') + '\n', mode: 0o644 },
          // Locked keys cannot be changed by the user.
          { path: placePath('dconfLocks', { name }), content: ['/org/gnome/desktop/session/idle-delay', '/org/gnome/desktop/screensaver/lock-enabled', '/org/gnome/desktop/screensaver/lock-delay', '/org/gnome/desktop/screensaver/idle-activation-enabled'].join('\n') + '\n', mode: 0o644 },
        ],
        commands: [{ argv: ['dconf', 'update'], inverse: ['dconf', 'update'] }],
      };
    }
    case 'directory-bind': {
      const bind = await directoryBindPlan(target, item.name, settings);
      return { files: [record(name, item.version, settings), ...bind.files], commands: bind.commands };
    }
    case 'directory-join': {
      // Joined first (carryOut): the record says the device is joined only once it is.
      const join = await directoryJoinPlan(target, settings, deviceName);
      return { ...join, files: [record(name, item.version, settings)] };
    }
    case 'chromium': {
      const content = JSON.stringify(settings.policies, null, 2) + '\n';
      return { files: settings.browsers.map((browser) => ({ path: placePath(CHROMIUM_POLICIES[browser], { name }), content, mode: 0o644 })), commands: [] };
    }
    case 'config-file': {
      // Checked again here: what reaches the agent is validated, but the file list is security-relevant.
      const checked = managedConfigPath.safeParse(settings.path);
      if (!checked.success) throw new ItemError('ITEM_FAILED', `policy "${item.name}": ${settings.path} ${checked.error.issues[0]?.message ?? 'is not a managed config file'}`);
      const path = checked.data;
      const mode = parseInt(settings.mode, 8);
      const owner = await ownerOf(target, settings.owner, settings.group);
      const existing = await textOf(target, path);
      let content: string;
      if (settings.format === 'json') {
        let current: Record<string, unknown> = {};
        if (existing !== null && existing.trim() !== '') {
          try {
            const parsed: unknown = JSON.parse(existing);
            if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
            current = parsed as Record<string, unknown>;
          } catch (error) {
            throw new ItemError('ITEM_FAILED', `${path} holds no JSON object to merge the policy into (${(error as Error).message}); fix or remove it`);
          }
        }
        content = JSON.stringify({ ...current, ...settings.settings }, null, 2) + '\n';
      } else {
        content = mergeIni(existing, settings.settings as Record<string, Record<string, string | number | boolean>>);
      }
      return { files: [{ path, content, mode, owner }], commands: [] };
    }
  }
}

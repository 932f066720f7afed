// On the live system the providers also run commands (useradd, localectl, update-ca-certificates …)
// through selfdeploy-helper. Each command any provider plans must be one the helper's allow-list
// accepts, with the inverse the helper would compute — or a device would fail only in the field.
import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { commandRefusal } from '../helper/allow-list.js';
import type { TargetPort } from '../target/port.js';
import { FileProviders } from './files.js';
import { assigned, scratchTarget } from './testing/scratch.js';

const ROOT_CA = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

/** A scratch target that says it is the live system and records the commands instead of running them. */
function liveLike(scratch: ReturnType<typeof scratchTarget>) {
  const commands: { argv: string[]; inverse: string[] | null }[] = [];
  const t = scratch.target;
  const target: TargetPort = {
    live: true,
    writeFile: (...args) => t.writeFile(...args),
    writeSymlink: (...args) => t.writeSymlink(...args),
    ensureDir: (...args) => t.ensureDir(...args),
    check: (...args) => t.check(...args),
    readFile: (...args) => t.readFile(...args),
    stat: (...args) => t.stat(...args),
    runScript: (...args) => t.runScript(...args),
    installPackage: (...args) => t.installPackage(...args),
    probe: (...args) => t.probe(...args),
    undoAll: () => t.undoAll(),
    command: (_item, argv, inverse) => {
      commands.push({ argv, inverse });
      return Promise.resolve(true);
    },
  };
  return { target, commands };
}

describe('commands on the live system', () => {
  it('are each one the privileged helper accepts, with the inverse it would record', async () => {
    const scratch = scratchTarget({ 'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\n', 'etc/group': 'root:x:0:\n' });
    const { target, commands } = liveLike(scratch);
    const providers = new FileProviders(target);
    await providers.applyOobe({ language: 'fr-CA', keyboard: 'fr-CA', timeZone: 'America/Toronto' });
    for (const item of [
      assigned({ kind: 'certificate', name: 'root', payload: { type: 'trusted-root', pem: ROOT_CA } }),
      assigned({ kind: 'network', name: 'lobby', payload: { type: 'wifi', ssid: 'Lobby', security: 'open' } }),
      assigned({ kind: 'policy', name: 'lock', payload: { kind: 'screen-lock', idleLockMinutes: 5 } }),
    ]) {
      await providers.apply(item, scratch.context);
    }
    const kiosk = { type: 'kiosk' as const, localAccount: { name: 'lobby' }, autoLogon: true, mode: 'browser' as const, homeUrl: 'https://example.invalid/', allowedUrls: [], blockedUrls: [], showNavigationButtons: true, showHomeButton: true, showEndSessionButton: false, idleRestartMinutes: null };
    await providers.configureEndState(kiosk, { deviceName: 'LOBBY-7', branding: { organizationName: 'Fabrikam', accentColor: '#0B5CAD', support: {}, logo: null } });

    expect(commands.map((c) => c.argv[0])).toEqual(['locale-gen', 'localectl', 'localectl', 'timedatectl', 'update-ca-certificates', 'nmcli', 'dconf', 'hostnamectl', 'useradd']);
    for (const { argv, inverse } of commands) expect(commandRefusal(argv, inverse), argv.join(' ')).toMatchObject({ refused: null });
    // On the live system the account is useradd's to make: no passwd/shadow edits of our own.
    expect(scratch.read('etc/passwd')).toBe('root:x:0:0:root:/root:/bin/bash\n');
  });

  it('are refused by the helper when they differ from what providers plan', () => {
    expect(commandRefusal(['localectl', 'set-locale', 'LANG=fr_CA.UTF-8; rm -rf /'], null)).toMatchObject({ refused: expect.stringContaining('not one device setup runs') });
    expect(commandRefusal(['hostnamectl', 'set-hostname', '-bad'], null).refused).not.toBeNull();
    expect(commandRefusal(['timedatectl', 'set-timezone', '../../etc/shadow'], null).refused).not.toBeNull();
  });
});

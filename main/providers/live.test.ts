// On the live system the providers change the system through selfdeploy-helper, and also run
// commands (useradd, localectl, update-ca-certificates …). Each change and command any provider
// plans must be one the helper accepts for the scope it is made in — the OOBE, the end state, the
// item itself — with the mode and inverse the helper allows, or a device would fail only in the field.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { itemKey, type AssignedItem } from '../../protocol/items.js';
import { commandRefusal, symlinkRefusal, writeRefusal, type WrittenContent } from '../helper/allow-list.js';
import { END_STATE_SCOPE, OOBE_SCOPE, itemScope, type Scope } from '../target/places.js';
import type { Owner, TargetPort } from '../target/port.js';
import { FileProviders } from './files.js';
import { assigned, scratchTarget } from './testing/scratch.js';

const ROOT_CA = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

/** A scratch target that says it is the live system, records each change, and records the commands instead of running them. */
function liveLike(scratch: ReturnType<typeof scratchTarget>) {
  const commands: { item: string; argv: string[]; inverse: string[] | null }[] = [];
  const writes: { item: string; path: string; mode: number; owner: Owner | undefined; content: WrittenContent }[] = [];
  const symlinks: { item: string; path: string; linkTarget: string }[] = [];
  const t = scratch.target;
  const target: TargetPort = {
    live: true,
    writeFile: async (item, path, content, mode = 0o644, owner) => {
      // What the helper sees: the content, the file as it was, the device's accounts as they are.
      const read = (p: string) => (existsSync(join(scratch.root, p)) ? scratch.read(p.slice(1)) : null);
      writes.push({ item, path, mode, owner, content: { next: Buffer.from(content), current: read(path), read } });
      return t.writeFile(item, path, content, mode, owner);
    },
    writeSymlink: (item, path, linkTarget) => {
      symlinks.push({ item, path, linkTarget });
      return t.writeSymlink(item, path, linkTarget);
    },
    ensureDir: (...args) => t.ensureDir(...args),
    check: (...args) => t.check(...args),
    readFile: (...args) => t.readFile(...args),
    stat: (...args) => t.stat(...args),
    runScript: (...args) => t.runScript(...args),
    installPackage: (...args) => t.installPackage(...args),
    probe: (...args) => t.probe(...args),
    upgradePackages: (...args) => t.upgradePackages(...args),
    reboot: () => t.reboot(),
    undoAll: () => t.undoAll(),
    command: (item, argv, inverse) => {
      commands.push({ item, argv, inverse });
      return Promise.resolve(true);
    },
  };
  return { target, commands, writes, symlinks };
}

describe('commands on the live system', () => {
  it('are each one the privileged helper accepts in its scope, with the mode and inverse it allows', async () => {
    const scratch = scratchTarget({ 'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\nsignage:x:1234:1234::/home/signage:/bin/sh\n', 'etc/group': 'root:x:0:\nsignage:x:1234:\n' });
    const { target, commands, writes, symlinks } = liveLike(scratch);
    const providers = new FileProviders(target);
    await providers.applyOobe({ language: 'fr-CA', keyboard: 'fr-CA', timeZone: 'America/Toronto' });
    const items: AssignedItem[] = [
      assigned({ kind: 'certificate', name: 'root', payload: { type: 'trusted-root', pem: ROOT_CA } }),
      assigned({ kind: 'network', name: 'lobby', payload: { type: 'wifi', ssid: 'Lobby', security: 'open' } }),
      assigned({ kind: 'policy', name: 'lock', payload: { kind: 'screen-lock', idleLockMinutes: 5 } }),
      assigned({ kind: 'policy', name: 'passwords', payload: { kind: 'password', minLength: 12, maxAgeDays: 90 } }),
      assigned({ kind: 'policy', name: 'browser', payload: { kind: 'chromium', policies: { HomepageLocation: 'https://example.invalid/' }, browsers: ['chromium', 'chrome'] } }),
      assigned({ kind: 'policy', name: 'player', payload: { kind: 'config-file', path: '/etc/opt/signage/player.json', format: 'json', settings: { volume: 3 }, owner: 'signage', group: 'signage', mode: '0640' } }),
    ].map((item, index) => ({ ...item, id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}` }));
    for (const item of items) await providers.apply(item, scratch.context);
    const kiosk = { type: 'kiosk' as const, localAccount: { name: 'lobby' }, autoLogon: true, mode: 'browser' as const, homeUrl: 'https://example.invalid/', allowedUrls: [], blockedUrls: [], showNavigationButtons: true, showHomeButton: true, showEndSessionButton: false, idleRestartMinutes: null };
    await providers.configureEndState(kiosk, { deviceName: 'LOBBY-7', branding: { organizationName: 'Fabrikam', accentColor: '#0B5CAD', support: {}, logo: null } });

    const scopes = new Map<string, Scope>([['oobe', OOBE_SCOPE], ['end-state', END_STATE_SCOPE], ...items.map((item): [string, Scope] => [itemKey(item), itemScope(item)])]);
    const scopeOf = (item: string) => [scopes.get(item)!];
    expect(commands.map((c) => c.argv[0])).toEqual(['locale-gen', 'localectl', 'localectl', 'timedatectl', 'update-ca-certificates', 'nmcli', 'dconf', 'hostnamectl', 'useradd']);
    for (const { item, argv, inverse } of commands) expect(commandRefusal(scopeOf(item), argv, inverse), argv.join(' ')).toMatchObject({ refused: null });
    expect(writes.length).toBeGreaterThan(20);
    for (const { item, path, mode, owner, content } of writes) expect(writeRefusal(scopeOf(item), path, mode, owner, content), `${item} ${path}`).toBeNull();
    for (const { item, path, linkTarget } of symlinks) expect(symlinkRefusal(scopeOf(item), path, linkTarget), path).toBeNull();
    // And no item could have made another item's changes.
    const network = items[1]!;
    const others = writes.filter((w) => w.item !== itemKey(network) && w.path !== '/var/log/selfdeploy/applied.log');
    for (const { path, mode, owner } of others) expect(writeRefusal([itemScope(network)], path, mode, owner), path).not.toBeNull();
    // On the live system the account is useradd's to make: no passwd/shadow edits of our own.
    expect(scratch.read('etc/passwd')).toBe('root:x:0:0:root:/root:/bin/bash\nsignage:x:1234:1234::/home/signage:/bin/sh\n');
  });

  it('are refused by the helper when they differ from what providers plan', () => {
    expect(commandRefusal([OOBE_SCOPE], ['localectl', 'set-locale', 'LANG=fr_CA.UTF-8; rm -rf /'], null)).toMatchObject({ refused: expect.stringContaining('not one the OOBE settings runs') });
    expect(commandRefusal([END_STATE_SCOPE], ['hostnamectl', 'set-hostname', '-bad'], null).refused).not.toBeNull();
    expect(commandRefusal([OOBE_SCOPE], ['timedatectl', 'set-timezone', '../../etc/shadow'], null).refused).not.toBeNull();
    // A command of another scope: the end state names the device, the OOBE does not.
    expect(commandRefusal([OOBE_SCOPE], ['hostnamectl', 'set-hostname', 'LOBBY-7'], null).refused).not.toBeNull();
  });
});

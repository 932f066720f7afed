// The distribution's own updates during setup, on a live Debian 13 system: a profile with
// osUpdates "security", a local apt repository the test builds that offers a newer version of a
// package the system has, as a "-security" archive — and that version asks for a restart. The
// agent upgrades it through selfdeploy-helper, records it in its journal, ends asking for the
// restart; after the restart (the helper started again, /run emptied) the same command resumes
// from the journal and provisions the device. Reset names the upgrade as not undone.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { bootSupport, type DebianRoot } from '../../lab/debian-root.js';
import { LiveRoot } from './testing/live-root.js';

const boot = bootSupport();

let live: LiveRoot;
let root: DebianRoot;

/** A small Debian package; `rebootRequired` makes its postinst ask for a restart, as kernel and libc updates do. */
function labPackage(dir: string, version: string, rebootRequired: boolean): string {
  const pkg = join(dir, `lab-tool-${version}`);
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  mkdirSync(join(pkg, 'usr', 'share', 'lab-tool'), { recursive: true });
  writeFileSync(join(pkg, 'DEBIAN', 'control'), `Package: lab-tool\nVersion: ${version}\nArchitecture: all\nMaintainer: selfdeploy lab <lab@selfdeploy.invalid>\nDescription: a package the lab updates\n`);
  writeFileSync(join(pkg, 'usr', 'share', 'lab-tool', 'version'), `${version}\n`);
  if (rebootRequired) writeFileSync(join(pkg, 'DEBIAN', 'postinst'), '#!/bin/sh\nset -e\ntouch /run/reboot-required\necho lab-tool >> /run/reboot-required.pkgs\n', { mode: 0o755 });
  const file = join(dir, `lab-tool_${version}_all.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-b', pkg, file], { stdio: 'ignore' });
  return file;
}

/** A flat apt repository (Packages, Release) that says it is a security archive. */
function securityRepository(dir: string, debs: string[]): void {
  const stanzas = debs.map((deb) => {
    const bytes = readFileSync(deb);
    const fields = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' }).trimEnd();
    return `${fields}\nFilename: ./${deb.split('/').at(-1)}\nSize: ${bytes.length}\nSHA256: ${createHash('sha256').update(bytes).digest('hex')}\n`;
  });
  const packages = `${stanzas.join('\n')}`;
  writeFileSync(join(dir, 'Packages'), packages);
  const digest = createHash('sha256').update(packages).digest('hex');
  writeFileSync(join(dir, 'Release'), `Origin: selfdeploy lab\nLabel: Debian-Security\nSuite: trixie-security\nCodename: trixie-security\nDate: ${new Date().toUTCString()}\nSHA256:\n ${digest} ${Buffer.byteLength(packages)} Packages\n`);
}

beforeAll(async () => {
  live = await LiveRoot.create({
    base: inject('debianRoot'),
    deb: inject('selfdeployDeb'),
    name: 'os-updates-test',
    serial: 'LAB-OSUPD-0001',
    profile: { osUpdates: { apply: 'security', timeoutMinutes: 10 } },
    prepare: async (root) => {
      const work = mkdtempSync(join(tmpdir(), 'selfdeploy-os-updates-'));
      try {
        await root.aptInstall(labPackage(work, '1.0', false));
        const repository = root.path('/srv/lab-security');
        mkdirSync(repository, { recursive: true });
        execFileSync('cp', [labPackage(work, '1.1', true), repository]);
        securityRepository(repository, [join(repository, 'lab-tool_1.1_all.deb')]);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      writeFileSync(root.path('/etc/apt/sources.list.d/lab-security.list'), 'deb [trusted=yes] file:/srv/lab-security ./\n');
    },
  });
  root = live.root;
  await live.startHelper();
}, 900_000);

afterAll(async () => {
  await live?.close();
});

describe("the distribution's updates during setup, on a live Debian 13 system", () => {
  it(`upgrades the pending security update through the helper, journals it, and asks for the restart it needs — ${boot.boot ? 'systemd could restart it here' : `no systemd to restart with here (${boot.reason}), so the agent says to restart`}`, async () => {
    expect(await root.ok(['dpkg-query', '-W', '-f=${Version}', 'lab-tool'])).toBe('1.0');
    const first = await live.deploy();
    expect(first.status, `${first.stdout}\n${first.stderr}\n${live.helper.output()}`).toBe(75);
    expect(first.stdout).toContain('Restart the device now: the OS updates (lab-tool 1.0 → 1.1) need a restart. Setup resumes after it');
    expect(first.stdout).toMatch(/Critical updates: working on it[\s\S]*Applying the pending security updates/);
    expect(await root.ok(['dpkg-query', '-W', '-f=${Version}', 'lab-tool'])).toBe('1.1');
    expect(root.read('/run/reboot-required.pkgs')).toBe('lab-tool\n');
    const journal = JSON.parse(root.read('/var/lib/selfdeploy/deploy-journal.json')) as { osUpdates: { upgraded: string[] } | null; steps: Record<string, { state: string }> };
    expect(journal.osUpdates?.upgraded).toEqual(['lab-tool 1.0 → 1.1']);
    expect(root.read('/var/log/selfdeploy/os-updates.log')).toMatch(/Setting up lab-tool \(1\.1\)/);
    // Only upgrades from the system's own repositories: the helper ran apt, and said what for.
    expect(live.helper.output()).toMatch(/"op":"upgradePackages".*"mode":"security"/);
    expect(live.helper.output()).toContain('"op":"reboot"');
  });

  it('resumes after the restart from its journal: the step finishes without upgrading again, and the device is provisioned', async () => {
    // The restart: every process goes, /run is empty again, the helper starts at boot.
    await live.restartHelper();
    const second = await live.deploy();
    expect(second.status, `${second.stdout}\n${second.stderr}`).toBe(0);
    expect(second.stdout).toMatch(/Critical updates: done — [^\n]*OS updates applied \(lab-tool 1\.0 → 1\.1\); the device restarted for them\n/);
    expect(second.stdout).toMatch(/Provisioned: device [0-9a-f-]+ \(LOBBY-[A-Z0-9]{4}\), kiosk ready/);
    expect(live.helper.output()).not.toContain('"op":"upgradePackages"');
    expect(await root.ok(['dpkg-query', '-W', '-f=${Version}', 'lab-tool'])).toBe('1.1');
  });

  it('is named, not undone, by selfdeploy reset: a package stays upgraded', async () => {
    const reset = await root.run(['selfdeploy', 'reset', '--json'], { user: 'selfdeploy' });
    const report = JSON.parse(reset.stdout) as { left: string[]; notUndone: string[] };
    expect(report.notUndone).toContain('OS updates: lab-tool 1.0 → 1.1 stay upgraded');
    expect(await root.ok(['dpkg-query', '-W', '-f=${Version}', 'lab-tool'])).toBe('1.1');
  });
});

// The primary user: a directory sign-in rule that names the device's primary user (the
// registration's assigned user) lets that user in, besides the profile's groups; an administrator
// sets or changes the primary user after provisioning, and the device follows at its next check-in.
// The real agent (`selfdeploy deploy`, `selfdeploy checkin`) against the real service and a swtpm,
// device setup under a scratch root.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { admin } from '../../protocol/api/endpoints.js';
import { LabDevice, runCli } from './testing/lab-device.js';

describe('the primary user and directory sign-in', () => {
  let device: LabDevice;
  let paths: { state: string; root: string };
  const sssdConf = () => readFileSync(join(paths.root, 'etc/sssd/sssd.conf'), 'utf8');
  const access = () => sssdConf().split('\n').filter((line) => /^(access_provider|simple_allow_)/.test(line));
  const checkIn = () => runCli(['checkin', '--server', device.service.url!.href, '--ca', device.caFile, '--tcti', device.tpm.tcti, '--root', paths.root, '--state', paths.state, '--identity', device.identityFile]);
  const setPrimaryUser = (assignedUser: string | null) => device.service.call(admin.devices.update, { params: { id: device.deviceId }, body: { assignedUser } });

  beforeAll(async () => {
    device = await LabDevice.create();
    await device.register({ profile: { endState: { type: 'sign-in', directory: { uri: 'ldaps://ldap.fabrikam.example', searchBase: 'dc=fabrikam,dc=example', allow: { groups: ['engineers'], primaryUser: true } } } } });
    paths = device.fresh();
  });

  afterAll(async () => {
    await device?.close();
  });

  it('signs in the profile’s groups only while the device has no primary user', async () => {
    const deployed = await device.deploy(paths);
    expect(deployed.status, deployed.stderr).toBe(0);
    expect(access()).toEqual(['access_provider = simple', 'simple_allow_groups = engineers']);
  });

  it('lets the primary user in once an administrator sets one, at the next check-in (a UPN’s name before the @)', async () => {
    await setPrimaryUser('dana@fabrikam.example');
    expect((await device.service.call(admin.devices.get, { params: { id: device.deviceId } })).assignedUser).toBe('dana@fabrikam.example');
    const first = await checkIn();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('Sign-in now allows the primary user dana@fabrikam.example');
    expect(access()).toEqual(['access_provider = simple', 'simple_allow_users = dana', 'simple_allow_groups = engineers']);
    // Nothing changed since: nothing is written again.
    const again = await checkIn();
    expect(again.status).toBe(0);
    expect(again.stdout).not.toContain('Sign-in now allows');
  });

  it('follows a change of primary user, and its removal', async () => {
    await setPrimaryUser('erik');
    expect((await checkIn()).stdout).toContain('the primary user erik');
    expect(access()).toEqual(['access_provider = simple', 'simple_allow_users = erik', 'simple_allow_groups = engineers']);
    await setPrimaryUser(null);
    expect((await checkIn()).stdout).toContain('no primary user (none is set)');
    expect(access()).toEqual(['access_provider = simple', 'simple_allow_groups = engineers']);
  });

  it('fails the check-in, changing nothing, for a primary user that cannot be a directory user name', async () => {
    await setPrimaryUser('Dana Smith');
    const refused = await checkIn();
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('ITEM_FAILED');
    expect(refused.stderr).toContain('"Dana Smith" cannot be a directory user name');
    expect(access()).toEqual(['access_provider = simple', 'simple_allow_groups = engineers']);
  });
});

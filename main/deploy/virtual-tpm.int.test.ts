// A virtual TPM end to end: the agent reports its swtpm as virtual, the service refuses it with
// the seed's 0x800705B4 failure unless the tenant allows virtual TPMs — on in a lab (init with
// --swtpm-localca), and shown as such by `selfdeploy-admin settings show`.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { admin } from '../../protocol/api/endpoints.js';
import { LabDevice } from './testing/lab-device.js';

describe('a device whose TPM is virtual', () => {
  let device: LabDevice;

  beforeAll(async () => {
    device = await LabDevice.create('VM-0001');
    await device.register();
  });

  afterAll(async () => {
    await device?.close();
  });

  const adminTool = (...args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      const tool = join(import.meta.dirname, '..', '..', 'dist', 'backend', 'cli', 'admin.js');
      execFile(process.execPath, [tool, ...args, '--server', device.service.url!.href, '--ca', device.caFile, '--token', device.service.adminToken], (error, stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stdout, stderr }));
    });

  it('is refused where the tenant does not allow virtual TPMs, with the code, 0x800705B4 and what to do', async () => {
    // The lab's tenant allows them, and says so.
    expect((await adminTool('settings', 'show')).stdout).toMatch(/Virtual TPMs +allowed \(a lab/);
    expect((await adminTool('settings', 'set', '--allow-virtual-tpms', 'off')).stdout).toMatch(/Virtual TPMs +refused/);
    const result = await device.deploy(device.fresh());
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('TPM_VIRTUAL');
    expect(result.stderr).toContain('0x800705B4');
    expect(result.stderr).toContain('swtpm');
    expect(result.stderr).toContain('--allow-virtual-tpms on');
    // Nothing was trusted: the registration is still only registered.
    expect((await device.service.call(admin.devices.get, { params: { id: device.deviceId } })).state).toBe('registered');
  });

  it('self-deploys once the tenant allows virtual TPMs', async () => {
    await adminTool('settings', 'set', '--allow-virtual-tpms', 'on');
    const result = await device.deploy(device.fresh());
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

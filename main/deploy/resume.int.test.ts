// Power loss at any moment: the agent is killed with SIGKILL right after each journal checkpoint
// of a self-deploy in turn, then started again. Every time it completes, with exactly one device
// object on the service and every item applied exactly once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DeviceListSchema, DeviceSchema } from '../../protocol/api/admin.js';
import { JournalSchema } from './journal.js';
import { LabDevice } from './testing/lab-device.js';

describe('the agent killed at each journal checkpoint', () => {
  let device: LabDevice;

  beforeAll(async () => {
    device = await LabDevice.create('LAB-0002');
    await device.register();
  });

  afterAll(async () => {
    await device?.close();
  });

  const deleteRecord = async () => expect((await device.service.request({ method: 'DELETE', url: `/v1/admin/devices/${device.deviceId}/record` })).statusCode).toBe(200);

  it('always resumes to completion, enrolling one device and applying each item once', async () => {
    const clean = device.fresh();
    expect((await device.deploy(clean)).status).toBe(0);
    const checkpoints = JournalSchema.parse(JSON.parse(readFileSync(join(clean.state, 'deploy-journal.json'), 'utf8'))).checkpoints;
    expect(checkpoints).toBeGreaterThan(30);
    await deleteRecord();

    for (let at = 1; at <= checkpoints; at++) {
      const paths = device.fresh();
      const killed = await device.deploy(paths, { SELFDEPLOY_TEST_KILL_AT_CHECKPOINT: String(at) });
      expect(killed.signal, `checkpoint ${at}: ${killed.stderr}`).toBe('SIGKILL');
      const resumed = await device.deploy(paths);
      expect(resumed.status, `resumed after checkpoint ${at}: ${resumed.stderr}`).toBe(0);

      const applied = readFileSync(join(paths.root, 'var/log/selfdeploy/applied.log'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { key: string }).key);
      expect(applied, `checkpoint ${at}`).toHaveLength(8);
      expect(new Set(applied).size, `an item applied twice after checkpoint ${at}`).toBe(8);
      const journal = JournalSchema.parse(JSON.parse(readFileSync(join(paths.state, 'deploy-journal.json'), 'utf8')));
      // Killed after the last checkpoint (completion recorded), the second run has nothing to do.
      if (at === checkpoints) expect(resumed.stdout).toContain('already provisioned');
      else expect(journal.runs, `checkpoint ${at}`).toBe(2);
      expect(Object.values(journal.items).map((i) => i.state)).toEqual(Array(8).fill('applied'));

      const list = DeviceListSchema.parse((await device.service.request({ method: 'GET', url: `/v1/admin/devices?serialPrefix=${device.serial}` })).json());
      expect(list.items.filter((d) => d.serial === device.serial)).toHaveLength(1);
      const record = DeviceSchema.parse((await device.service.request({ method: 'GET', url: `/v1/admin/devices/${device.deviceId}` })).json());
      expect(record.state).toBe('deployed');
      await deleteRecord();
    }
  }, 600_000);
});

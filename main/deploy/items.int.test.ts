// The profile's ESP rules on Device setup items, with the real service and swtpm: an optional app
// that fails leaves setup going; a required one fails the ESP with its own code (0x87D1041C when
// the app is not detected after installation), unless the profile allows continuing and the
// technician does; an item fixed by the administrator gets a new version, which the device applies.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DeviceEspSchema, DeviceListSchema, DeviceSchema } from '../../protocol/api/admin.js';
import { DeploymentListSchema, DeploymentSummarySchema } from '../../protocol/api/fleet.js';
import { catalogueEntry } from '../../protocol/errors/catalogue.js';
import { findStep } from '../../protocol/esp.js';
import { buildDemoPackage } from '../../lab/demo-tenant.js';
import { HelperError } from '../helper/errors.js';
import { LabDevice } from './testing/lab-device.js';

describe('Device setup items and the ESP rules', () => {
  let device: LabDevice;
  const admin = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) => device.service.request({ method, url, ...(payload ? { payload } : {}) });
  const profile = (esp: Record<string, unknown>) =>
    admin('PUT', '/v1/admin/profiles/lobby-kiosk', {
      deviceName: { template: 'LOBBY-%RAND:4%' },
      esp: { timeoutMinutes: 30, allowReset: true, allowLogCollection: true, ...esp },
      endState: { type: 'kiosk', mode: 'browser', homeUrl: 'https://visit.fabrikam.example/', allowedUrls: ['https://visit.fabrikam.example/*'] },
    });

  beforeAll(async () => {
    device = await LabDevice.create('LAB-0004');
    await device.register();
    // A signage app whose detection rule names a file its package does not install.
    const deb = buildDemoPackage('2.0');
    const sha256 = createHash('sha256').update(deb).digest('hex');
    await device.service.request({ method: 'POST', url: '/v1/admin/content?label=signage.deb', payload: deb, headers: { 'content-type': 'application/octet-stream' } });
    await admin('PUT', '/v1/admin/apps/signage', { package: 'signage', version: '2.0', installer: 'deb', content: { sha256, size: deb.length }, detection: { type: 'file-exists', path: '/opt/signage/bin/signage' } });
    await admin('POST', '/v1/admin/apps/signage/assignments', { group: 'lobby-kiosks' });
  });

  afterAll(async () => {
    await device?.close();
  });

  it('marks an optional app that fails as failed and completes setup', async () => {
    const { outcome, snapshot } = await device.runEngine();
    expect(outcome.status).toBe('provisioned');
    const signage = findStep(snapshot, 'apps').items.find((i) => i.name === 'signage')!;
    expect(signage).toMatchObject({ state: 'failed', blocking: false, error: { code: 'ITEM_NOT_DETECTED', hresult: '0x87D1041C' } });
    expect(findStep(snapshot, 'apps')).toMatchObject({ state: 'succeeded', completed: 2, total: 3, detail: '1 optional item(s) failed' });
    const esp = DeviceEspSchema.parse((await admin('GET', `/v1/admin/devices/${device.deviceId}/esp`)).json());
    expect(esp.items.find((i) => i.name === 'signage')).toMatchObject({ state: 'failed', errorCode: 'ITEM_NOT_DETECTED' });
    // The run is in the device's history, with the time each phase took.
    const history = DeploymentListSchema.parse((await admin('GET', `/v1/admin/devices/${device.deviceId}/deployments`)).json());
    expect(history.items[0]).toMatchObject({ outcome: 'succeeded', startedAt: snapshot.startedAt, failure: null, profileName: 'lobby-kiosk' });
    for (const phase of ['preflight', 'device-preparation', 'device-setup']) expect(history.items[0]!.phases.find((p) => p.id === phase)!.durationMs, phase).toBeGreaterThanOrEqual(0);
    await device.resetRecord();
  });

  it('fails the ESP on a required app with its own code, and stops there', async () => {
    await profile({ blockingApps: 'all' });
    const { outcome, snapshot, paths } = await device.runEngine({ decideContinue: () => Promise.resolve(true) });
    expect(outcome).toMatchObject({ status: 'failed', failure: { code: 'ITEM_NOT_DETECTED', hresult: '0x87D1041C', step: 'apps' } });
    expect(findStep(snapshot, 'apps').state).toBe('failed');
    expect(findStep(snapshot, 'complete').state).toBe('not-started');
    // allowContinue is off: the technician's wish to continue is not asked for.
    expect(snapshot.continuedPastFailure).toBe(false);
    expect(() => readFileSync(join(paths.root, 'etc/selfdeploy/end-state.json'))).toThrow();
    // The service knows: the device is failed, with the code, HRESULT, phase, step and item …
    const record = DeviceSchema.parse((await admin('GET', `/v1/admin/devices/${device.deviceId}`)).json());
    expect(record).toMatchObject({ state: 'failed', failure: { code: 'ITEM_NOT_DETECTED', hresult: '0x87D1041C', phase: 'device-setup', step: 'apps', item: 'signage' } });
    const failed = DeviceListSchema.parse((await admin('GET', '/v1/admin/devices?state=failed')).json());
    expect(failed.items.map((d) => d.id)).toEqual([device.deviceId]);
    // … the run is in its history, and the fleet summary names the code with its remedy.
    const history = DeploymentListSchema.parse((await admin('GET', `/v1/admin/devices/${device.deviceId}/deployments`)).json());
    expect(history.items[0]).toMatchObject({ outcome: 'failed', startedAt: snapshot.startedAt, failure: { code: 'ITEM_NOT_DETECTED', step: 'apps' } });
    expect(history.items[0]!.endedAt).not.toBeNull();
    const summary = DeploymentSummarySchema.parse((await admin('GET', '/v1/admin/reports/summary')).json());
    expect(summary.topFailures[0]).toMatchObject({ code: 'ITEM_NOT_DETECTED', count: 1, remedy: catalogueEntry('ITEM_NOT_DETECTED').remedy });
    expect(summary.outcomes).toMatchObject({ succeeded: 1, failed: 1 });
    await device.resetRecord();
  });

  it('continues past the failure when the profile allows it and the technician chooses to', async () => {
    await profile({ blockingApps: 'all', allowContinue: true });
    let asked = 0;
    const { outcome, snapshot } = await device.runEngine({ decideContinue: () => Promise.resolve(++asked > 0) });
    expect(asked).toBe(1);
    expect(outcome.status).toBe('provisioned');
    expect(snapshot).toMatchObject({ status: 'succeeded', continuedPastFailure: true });
    await device.resetRecord();
  });

  it('applies the new version of an item once the administrator fixes it', async () => {
    await profile({ blockingApps: 'all' });
    const content = (await admin('GET', '/v1/admin/apps/signage')).json<{ body: { content: { sha256: string; size: number } } }>().body.content;
    const fixed = await admin('PUT', '/v1/admin/apps/signage', { package: 'signage', version: '2.0', installer: 'deb', content, detection: { type: 'file-exists', path: '/opt/lobby-browser/bin/lobby-browser' } });
    expect(fixed.json<{ version: number }>().version).toBe(2);
    const { outcome, snapshot } = await device.runEngine();
    expect(outcome.status).toBe('provisioned');
    expect(findStep(snapshot, 'apps').items.find((i) => i.name === 'signage')).toMatchObject({ version: 2 });
    await device.resetRecord();
  });

  it('waits while the device setup helper restarts, then applies the item', async () => {
    await device.resetRecord();
    let failures = 0;
    const details: string[] = [];
    const run = await device.runEngine({
      wrapProviders: (providers) => ({
        applyOobe: (settings) => providers.applyOobe(settings),
        detect: (item) => providers.detect(item),
        configureEndState: (endState, info) => providers.configureEndState(endState, info),
        updateDirectorySignIn: (signIn, primaryUser) => providers.updateDirectorySignIn(signIn, primaryUser),
        applyOsUpdates: (request) => providers.applyOsUpdates(request),
        restartForUpdates: () => providers.restartForUpdates(),
        apply: (item, context) => {
          // The helper goes away once, as in a crash that systemd restarts it from.
          if (item.kind === 'policy' && failures++ === 0) return Promise.reject(new HelperError('HELPER_UNAVAILABLE', 'selfdeploy-helper closed the connection'));
          return providers.apply(item, context);
        },
      }),
      onEvent: (event) => {
        if (event.type === 'step' && event.detail) details.push(event.detail);
      },
    });
    expect(run.outcome.status).toBe('provisioned');
    expect(failures).toBeGreaterThan(1);
    expect(details).toContain('Waiting for the device setup helper (selfdeploy-helper closed the connection)');
  });
});

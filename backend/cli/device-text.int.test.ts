// What a device reports cannot attack the administrator who reads it: a device (here, whoever
// holds its token) reports an ESP whose texts carry terminal escape sequences and bidi overrides;
// the service stores them (capped in length: longer is refused), and selfdeploy-admin — the built
// command, over real HTTPS — shows them as visible escapes, in text and in --json.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyEspEvent, initialSnapshot, ESP_TEXT_MAX, type EspEvent, type EspSnapshot } from '../../protocol/esp.js';
import { hash } from '../../lab/identities.js';
import { startTestService, type TestService } from '../testing/service.js';

const exec = promisify(execFile);
const adminCli = join(import.meta.dirname, '..', '..', 'dist', 'backend', 'cli', 'admin.js');
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = 'Installing\x1b]0;owned\x07\x1b[2J\x1b[31m\u009b1;1H\u202eexe.txt';

describe('text a device reports, shown to an administrator', () => {
  let service: TestService;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let token: string;
  const serial = 'SN00000777';

  beforeAll(async () => {
    service = await startTestService('sqlite', undefined, {}, { https: true });
    scratch = mkdtempSync(join(tmpdir(), 'selfdeploy-device-text-'));
    writeFileSync(join(scratch, 'ca.pem'), service.serviceCa);
    env = { ...process.env, SELFDEPLOY_SERVER: service.url!.href, SELFDEPLOY_CA: join(scratch, 'ca.pem'), SELFDEPLOY_TOKEN: service.adminToken, XDG_CONFIG_HOME: join(scratch, 'no-config') };
    const deviceId = (await service.request({ method: 'POST', url: '/v1/admin/devices', payload: { hardwareHash: hash(777) } })).json<{ id: string }>().id;
    token = await service.store.certificates.createAccessToken(deviceId, 600);
    const enroll = { agentVersion: '1.0', os: { name: 'Debian\x1b[2J', version: '12', kernel: '6.1' }, hostname: 'kiosk\u202e1' };
    expect((await service.request({ method: 'POST', url: '/v1/mdm/enroll', payload: enroll, token })).statusCode).toBe(200);
  });

  afterAll(async () => {
    await service?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const report = (snapshot: EspSnapshot) => service.request({ method: 'POST', url: '/v1/mdm/status', payload: { snapshot: { ...snapshot, branding: null } }, token });

  function hostileSnapshot(detail: string): EspSnapshot {
    let snapshot = initialSnapshot('2026-12-06T10:00:00.000Z');
    let seq = 0;
    const fold = (body: Record<string, unknown>) => (snapshot = applyEspEvent(snapshot, { seq: ++seq, at: '2026-12-06T10:00:05.000Z', ...body } as EspEvent));
    fold({ type: 'step', step: 'apps', state: 'in-progress', detail });
    const item = { id: 'item-1', name: `browser${HOSTILE}`, kind: 'app', version: 1, blocking: true, state: 'not-started', startedAt: null, finishedAt: null, detail: null, progress: null, error: null };
    fold({ type: 'items', step: 'apps', items: [item] });
    const failure = { code: 'ITEM_FAILED', hresult: null, title: 'Failed', message: `apt said ${HOSTILE}`, remedy: 'Retry', docs: 'docs/errors.md#item_failed', detail: HOSTILE, step: 'apps', item: 'item-1' };
    fold({ type: 'item', step: 'apps', item: 'item-1', patch: { state: 'failed', detail: HOSTILE, error: failure } });
    fold({ type: 'failed', failure });
    return snapshot;
  }

  it('refuses texts longer than the ESP allows, and stores what fits as sent', async () => {
    const tooLong = await report(hostileSnapshot('x'.repeat(ESP_TEXT_MAX.text + 1)));
    expect(tooLong.statusCode).toBe(422);
    expect(tooLong.json<{ code: string }>().code).toBe('VALIDATION_FAILED');
    expect((await report(hostileSnapshot(HOSTILE))).json()).toMatchObject({ accepted: true });
  });

  it('never lets those texts reach the terminal as control characters, in text or JSON', async () => {
    for (const args of [['devices', 'esp', serial], ['devices', 'esp', serial, '--json'], ['devices', 'show', serial], ['devices', 'list'], ['devices', 'list', '--json']]) {
      const { stdout, stderr } = await exec(process.execPath, [adminCli, ...args], { env });
      expect(stdout, args.join(' ')).not.toMatch(CONTROL);
      expect(stderr).toBe('');
    }
    const { stdout } = await exec(process.execPath, [adminCli, 'devices', 'esp', serial], { env });
    // Shown, visibly: the administrator sees what the device tried.
    expect(stdout).toContain('browser' + 'Installing\\x1b]0;owned\\x07\\x1b[2J\\x1b[31m\\x9b1;1H\\u202eexe.txt');
    expect(stdout).toContain('ITEM_FAILED: apt said Installing\\x1b]0;owned');
    const json = (await exec(process.execPath, [adminCli, 'devices', 'esp', serial, '--json'], { env })).stdout;
    expect((JSON.parse(json) as { snapshot: { failure: { detail: string } } }).snapshot.failure.detail).toBe(HOSTILE); // the same data, escaped only for the terminal
  });
});

// selfdeploy-helper as it runs on a device: its own process, configured by a file, asking the real
// deployment service what is assigned; the agent (`selfdeploy deploy --helper`) changes nothing
// itself. The helper serves a scratch root here (on a device: "/").
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_APP_MARKER } from '../../lab/demo-tenant.js';
import { LabDevice, runCli } from '../deploy/testing/lab-device.js';
import { HelperTarget } from './client.js';

const HELPER = join(import.meta.dirname, '..', '..', 'dist', 'main', 'cli', 'helper.js');

interface RunningHelper {
  process: ChildProcess;
  socket: string;
  log: () => string;
  stop(): Promise<void>;
}

/** Starts `selfdeploy-helper --config FILE` and waits until it listens. */
async function startHelper(dir: string, config: Record<string, unknown>): Promise<RunningHelper> {
  const file = join(dir, 'helper.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [HELPER, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the helper did not start: ${stderr}`)), 15_000);
    child.stdout.on('data', () => {
      if (stdout.includes('"event":"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (status) => {
      clearTimeout(timer);
      reject(new Error(`the helper exited with ${status}: ${stderr}`));
    });
  });
  return {
    process: child,
    socket: config['socket'] as string,
    log: () => stdout,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

describe('selfdeploy-helper (its own process)', () => {
  let device: LabDevice;
  let helper: RunningHelper | undefined;

  beforeAll(async () => {
    device = await LabDevice.create('LAB-HELPER-1');
    await device.register();
  });

  afterAll(async () => {
    await helper?.stop();
    await device?.close();
  });

  it('makes every change of a self-deploy for the agent, running only content the service assigned, and undoes it on reset', async () => {
    const paths = device.fresh();
    // A scratch root is not the live system, where useradd makes the kiosk account: the image has it.
    mkdirSync(join(paths.root, 'etc'), { recursive: true });
    writeFileSync(join(paths.root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nkiosk:x:1001:1001::/home/kiosk:/bin/sh\n');
    const socket = join(device.dir, 'run', 'helper.sock');
    helper = await startHelper(device.dir, {
      socket,
      group: null,
      root: paths.root,
      state: join(device.dir, 'helper-state'),
      contentDir: join(paths.state, 'content'),
      service: { server: device.service.url!.href, ca: device.caFile },
    });
    expect(statSync(socket).mode & 0o777).toBe(0o660);

    const args = device.deployArgs(paths);
    args.splice(args.indexOf('--root'), 2, '--helper', socket);
    const result = await runCli(args);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const file = (path: string) => join(paths.root, path);
    expect(JSON.parse(readFileSync(file('etc/selfdeploy/policies/password-length.json'), 'utf8'))).toMatchObject({ kind: 'password', minLength: 12 });
    expect(statSync(file('etc/NetworkManager/system-connections/selfdeploy-lobby-wifi.nmconnection')).mode & 0o777).toBe(0o600);
    expect(existsSync(file(DEMO_APP_MARKER))).toBe(true);
    expect(readFileSync(file('etc/selfdeploy/welcome.txt'), 'utf8')).toBe('configured by welcome\n');
    expect(readFileSync(file('etc/gdm3/custom.conf'), 'utf8')).toContain('AutomaticLogin=kiosk');

    // The helper's log names each operation — and holds no contents (the Wi-Fi key stays in its file).
    const log = helper.log();
    const ops = log.trim().split('\n').map((line) => JSON.parse(line) as { event: string; op?: string; sha256?: string });
    expect(ops.filter((e) => e.event === 'done' && e.op === 'installPackage')).toHaveLength(1);
    expect(ops.filter((e) => e.event === 'done' && e.op === 'runScript')).toHaveLength(1);
    expect(ops.some((e) => e.event === 'refused')).toBe(false);
    expect(log).not.toContain('lab-only-passphrase');

    // A request for an item the service did not assign (here: no valid token, an unknown item) is refused.
    const client = await HelperTarget.connect(socket);
    try {
      const sha256 = readdirSync(join(paths.state, 'content')).find((name) => /^[0-9a-f]{64}$/.test(name))!;
      const unknown = '00000000-0000-4000-8000-00000000dead@1';
      await expect(
        client.runScript(unknown, { file: join(paths.state, 'content', sha256), sha256, token: 'sdd_not-a-token', interpreter: 'sh', timeoutSeconds: 10, logPath: '/var/log/selfdeploy/scripts/x.log', name: 'x' }),
      ).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED' });
      client.authorize('sdd_not-a-token');
      await expect(client.writeFile(unknown, '/etc/selfdeploy/policies/x.json', '{}\n')).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED' });
      await expect(client.writeFile(unknown, '/etc/cron.d/x', '* * * * * root id\n')).rejects.toMatchObject({ code: 'CONTENT_NOT_ASSIGNED' });
      expect(existsSync(file('etc/cron.d/x'))).toBe(false);
    } finally {
      client.close();
    }

    // Reset through the helper: all of it undone but what the demo script wrote itself.
    const reset = await runCli(['reset', '--helper', socket, '--state', paths.state]);
    expect(reset.stdout).toContain('left as they are: /etc/selfdeploy: holds files that setup did not put there');
    expect(readdirSync(paths.root, { recursive: true, encoding: 'utf8' }).sort()).toEqual(['etc', 'etc/passwd', 'etc/selfdeploy', 'etc/selfdeploy/welcome.txt']);
  });

  it('refuses to start without a service to ask, unless told it runs in a lab', async () => {
    const dir = join(device.dir, 'unconfigured');
    mkdirSync(dir, { recursive: true });
    await expect(startHelper(dir, { socket: join(dir, 'h.sock'), group: null, root: join(dir, 'root') })).rejects.toThrow(/HELPER_CONFIG_INVALID[\s\S]*needs "service"/);
  });
});

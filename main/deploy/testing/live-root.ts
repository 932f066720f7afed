// A lab device on a live Debian 13 system, for the system suite: a copy of the suite's Debian root
// with the agent's deb installed with apt and configured as an image is
// (docs/operations.md#bake-it-into-an-image) — the service CA, the hardware identity, the helper's
// service — for a swtpm device registered with the demo tenant; selfdeploy-helper started as its
// unit says; `selfdeploy deploy` as the agent's user.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { DebianRoot, killNamespace, type RunResult } from '../../../lab/debian-root.js';
import { LabDevice } from './lab-device.js';

export class LiveRoot {
  /** The running helper (started again by `restartHelper`). */
  helper!: ReturnType<DebianRoot['start']>;

  private constructor(
    readonly root: DebianRoot,
    readonly device: LabDevice,
  ) {}

  /**
   * Copies `base` beside it as `name`, installs `deb`, registers a device `serial` with the demo
   * tenant and `profile`; `prepare` changes the root before anything runs in it. The helper is not
   * started yet (`startHelper`), so a test can look at the root as the image left it.
   */
  static async create(options: { base: string; deb: string; name: string; serial: string; profile: Record<string, unknown>; prepare?: (root: DebianRoot) => Promise<void> }): Promise<LiveRoot> {
    const root = await DebianRoot.copy(options.base, join(options.base, `../${options.name}-${process.pid}`));
    const installed = await root.aptInstall(options.deb);
    if (installed.status !== 0) throw new Error(`the deb did not install: ${installed.stdout}${installed.stderr}`);
    await options.prepare?.(root);
    const device = await LabDevice.create(options.serial);
    await device.register({ profile: options.profile });
    writeFileSync(root.path('/etc/selfdeploy/service-ca.pem'), readFileSync(device.caFile));
    writeFileSync(root.path('/etc/selfdeploy/identity.json'), readFileSync(device.identityFile));
    writeFileSync(root.path('/etc/selfdeploy/helper.json'), JSON.stringify({ service: { server: device.service.url!.origin, ca: '/etc/selfdeploy/service-ca.pem' } }));
    return new LiveRoot(root, device);
  }

  async startHelper(): Promise<void> {
    this.helper = await this.root.startService('selfdeploy-helper.service', '/run/selfdeploy/helper.sock');
  }

  /** What a restart does to the helper: it goes, /run empties, it starts again at boot. */
  async restartHelper(): Promise<void> {
    killNamespace(this.helper);
    await this.root.ok(['sh', '-c', 'rm -rf /run/* /run/.[!.]*']);
    await this.startHelper();
  }

  deploy(): Promise<RunResult> {
    const { device } = this;
    return this.root.run(
      ['selfdeploy', 'deploy', '--server', device.service.url!.origin, '--ca', '/etc/selfdeploy/service-ca.pem', '--tcti', device.tpm.tcti, '--identity', '/etc/selfdeploy/identity.json', '--wait', '30'],
      { user: 'selfdeploy', timeoutMs: 600_000 },
    );
  }

  async close(): Promise<void> {
    await this.root.close();
    await this.device.close();
  }
}

// vitest global setup of the system suite: the cached Debian 13 root (lab/debian-root.ts; built
// with mmdebstrap the first time, from the agent package's Depends and what device setup runs)
// and the agent's deb as `npm run dist deb` builds it, with the stand-in Electron of the packaging
// test (no Electron binary can be had here), and the service's deb (`npm run dist:server`). Each
// test copies the root.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { TestProject } from 'vitest/node';

import { makeStandInElectron } from './stand-in-electron.js';
import { SYSTEM_PACKAGES, cachedRoot, dependsOf, recipeOf } from '../lab/debian-root.js';

declare module 'vitest' {
  export interface ProvidedContext {
    debianRoot: string;
    selfdeployDeb: string;
    serverDeb: string;
  }
}

const exec = promisify(execFile);
const repo = join(import.meta.dirname, '..');
const say = (line: string) => process.stdout.write(`system suite: ${line}\n`);

export default async function setup(project: TestProject): Promise<() => void> {
  const control = readFileSync(join(repo, 'resources', 'deb', 'control'), 'utf8');
  const recipe = recipeOf([...dependsOf(control), ...SYSTEM_PACKAGES]);
  const root = await cachedRoot(join(repo, '.cache', 'debian-roots'), recipe, say);
  const work = mkdtempSync(join(tmpdir(), 'selfdeploy-system-'));
  say('building the deb (npm run dist deb, stand-in Electron)');
  const standIn = makeStandInElectron(join(work, 'electron'));
  await exec(process.execPath, [join(repo, 'scripts', 'dist.mjs'), 'deb'], { cwd: repo, env: { ...process.env, ELECTRON_DIST: standIn, DIST_OUTPUT: join(work, 'out') }, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  const deb = readdirSync(join(work, 'out')).find((f) => /^selfdeploy_.*\.deb$/.test(f));
  if (!deb) throw new Error('npm run dist deb made no selfdeploy_*.deb');
  say('building the service package (npm run dist:server)');
  const { stdout } = await exec(process.execPath, [join(repo, 'scripts', 'server-deb.mjs'), join(work, 'server')], { cwd: repo, timeout: 300_000 });
  const serverDeb = /^dist:server: (\S+\.deb) /m.exec(stdout)?.[1];
  if (!serverDeb) throw new Error(`npm run dist:server made no package: ${stdout}`);
  project.provide('serverDeb', serverDeb);
  project.provide('debianRoot', root);
  project.provide('selfdeployDeb', join(work, 'out', deb));
  return () => rmSync(work, { recursive: true, force: true });
}

// Apps and scripts: content fetched from the service (resumable, size and SHA-256 checked by the
// download, checked again by the target on its private copy), then installed — .deb through apt on
// the live system, tar archives into /opt/NAME, AppImages into /opt/NAME, shell installers with
// the item's exit codes — each under the item's timeout. Detection rules say whether an app is
// already there: a file, a Debian package version, or a command that exits 0.
import { readFileSync } from 'node:fs';

import type { AssignedItem } from '../../protocol/items.js';
import type { ApplyContext, ApplyResult } from './port.js';
import { ItemError, safe, textOf, type Placed } from './placed.js';
import type { TargetPort } from '../target/port.js';
import { placePath } from '../target/places.js';
import { verifiedCopy } from '../target/verified-copy.js';

type AppItem = Extract<AssignedItem, { kind: 'app' }>;
type ScriptItem = Extract<AssignedItem, { kind: 'script' }>;

/**
 * selfdeploy's own record that a package is in place at a version (for installers that leave
 * none). Kept apart from the agent's state (/var/lib/selfdeploy, the agent's own): the helper
 * writes only where every directory on the way belongs to root.
 */
function marker(pkg: string, version: string): Placed {
  return { path: placePath('appMarker', { pkg }), content: `${version}\n`, mode: 0o644 };
}

export function installerLog(pkg: string): string {
  return placePath('installerLog', { pkg });
}

export function scriptLog(name: string): string {
  return placePath('scriptLog', { name });
}

export function scriptMarker(item: { name: string; id: string; version: number }): Placed {
  return { path: placePath('scriptMarker', { name: item.name }), content: `${item.id}@${item.version}\n`, mode: 0o644 };
}

/** The packages dpkg has installed and their versions (Debian Policy §5.6, the status file's stanzas). */
export async function installedDebs(target: TargetPort): Promise<Map<string, string>> {
  const status = await textOf(target, '/var/lib/dpkg/status');
  const installed = new Map<string, string>();
  for (const stanza of (status ?? '').split(/\n\n+/)) {
    const field = (name: string) => stanza.match(new RegExp(`^${name}: (.*)$`, 'm'))?.[1]?.trim();
    const name = field('Package');
    if (name && field('Status') === 'install ok installed') installed.set(name, field('Version') ?? '');
  }
  return installed;
}

/** The version dpkg has installed, or null. */
export async function debVersion(target: TargetPort, pkg: string): Promise<string | null> {
  return (await installedDebs(target)).get(pkg) || null;
}

export async function markerInPlace(target: TargetPort, placed: Placed): Promise<boolean> {
  const stat = await target.stat(placed.path);
  return stat?.type === 'file' && (await textOf(target, placed.path)) === placed.content;
}

export async function appDetected(target: TargetPort, item: AppItem): Promise<boolean> {
  const rule = item.payload.detection;
  if (!rule) return markerInPlace(target, marker(item.payload.package, item.payload.version));
  if (rule.type === 'file-exists') return (await target.stat(rule.path)) !== null;
  if (rule.type === 'command') return target.probe(rule.argv as [string, ...string[]], rule.timeoutSeconds);
  if ((await debVersion(target, rule.package)) === rule.version) return true;
  // A scratch target has no dpkg database: the package was unpacked, not installed.
  return !target.live && markerInPlace(target, marker(rule.package, rule.version));
}

function why(rule: NonNullable<AppItem['payload']['detection']>): string {
  if (rule.type === 'file-exists') return `${rule.path} does not exist`;
  if (rule.type === 'deb-version') return `${rule.package} is not installed at version ${rule.version}`;
  return `the detection command ${rule.argv.join(' ')} does not exit 0`;
}

export async function installApp(target: TargetPort, key: string, item: AppItem, context: ApplyContext): Promise<ApplyResult> {
  const app = item.payload;
  const pkg = safe(app.package, 'package');
  const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
  const file = await context.fetchContent(app.content, (received, total) => context.progress((0.8 * received) / total, `Downloading ${mb(received)} of ${mb(total)} MB`));
  context.progress(0.8, 'Installing');
  const token = await context.authorization?.();
  const content = { file, sha256: app.content.sha256, ...(token ? { token } : {}) };
  let rebootRequired = false;
  if (app.installer === 'deb') {
    ({ rebootRequired } = await target.installPackage(key, { ...content, format: 'deb', destination: '/', name: item.name, timeoutSeconds: app.timeoutSeconds, logPath: installerLog(pkg) }));
  } else if (app.installer === 'tar') {
    ({ rebootRequired } = await target.installPackage(key, { ...content, format: 'tar', destination: placePath('appTree', { pkg }), name: item.name, timeoutSeconds: app.timeoutSeconds, logPath: installerLog(pkg) }));
  } else if (app.installer === 'appimage') {
    const copy = verifiedCopy(content);
    try {
      await target.writeFile(key, placePath('appImage', { pkg }), readFileSync(copy.file), 0o755);
    } finally {
      copy.remove();
    }
  } else {
    ({ rebootRequired } = await target.runScript(key, { ...content, interpreter: 'sh', timeoutSeconds: app.timeoutSeconds, exitCodes: app.exitCodes, logPath: installerLog(pkg), name: item.name }));
  }
  const placed = marker(pkg, app.version);
  await target.writeFile(key, placed.path, placed.content, placed.mode);
  if (app.detection && !(await appDetected(target, item))) throw new ItemError('ITEM_NOT_DETECTED', `app "${item.name}" installed, but ${why(app.detection)}`);
  context.progress(1, rebootRequired ? 'Installed; a restart is required' : 'Installed');
  return { rebootRequired, detail: `${pkg} ${app.version}${rebootRequired ? ' (restart required)' : ''}` };
}

export async function runScriptItem(target: TargetPort, key: string, item: ScriptItem, context: ApplyContext): Promise<ApplyResult> {
  const file = await context.fetchContent(item.payload.content);
  context.progress(0.5, 'Running');
  const token = await context.authorization?.();
  const { rebootRequired } = await target.runScript(key, {
    file,
    sha256: item.payload.content.sha256,
    ...(token ? { token } : {}),
    interpreter: item.payload.interpreter,
    timeoutSeconds: item.payload.timeoutSeconds,
    logPath: scriptLog(item.name),
    name: item.name,
  });
  const placed = scriptMarker(item);
  await target.writeFile(key, placed.path, placed.content, placed.mode);
  return { rebootRequired, detail: null };
}

// selfdeploy-admin devices: register devices (a hardware-hash CSV, or one hash), list and show
// them, their live setup progress and log bundles, and delete their records or registrations.
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';

import type { Command } from 'commander';

import { AddDeviceRequestSchema, DeviceStateSchema, type Device, type DeviceState } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { oneOf, wholeNumber } from '../../../protocol/node/command-line.js';
import { InputFileError } from '../../../protocol/node/input-file.js';
import { table, type AdminActions } from './session.js';

/** The certificate in a file as a technician brings it: PEM, DER, or `selfdeploy tpm info --json` output (its attesting EK's). */
function ekCertificatePem(bytes: Buffer, path: string): string {
  const text = bytes.toString('utf8');
  const name = path === '-' ? 'standard input' : path;
  if (text.trimStart().startsWith('{')) {
    let report: { endorsementKeys?: { primary?: boolean; certificate?: { pem?: unknown } | null }[] };
    try {
      report = JSON.parse(text) as typeof report;
    } catch {
      throw new InputFileError('INPUT_FILE_INVALID', `${name} is not JSON of selfdeploy tpm info`);
    }
    const pem = report.endorsementKeys?.find((key) => key.primary)?.certificate?.pem;
    if (typeof pem !== 'string') throw new InputFileError('INPUT_FILE_INVALID', `${name} holds no EK certificate for the EK the device attests with (run selfdeploy tpm info --fetch-ek-certificate --json)`);
    return pem;
  }
  if (text.includes('-----BEGIN CERTIFICATE-----')) return text;
  try {
    return new X509Certificate(bytes).toString();
  } catch {
    throw new InputFileError('INPUT_FILE_INVALID', `${name} is no certificate (PEM, DER, or selfdeploy tpm info --json)`);
  }
}

const deviceTable = (devices: readonly Device[]) =>
  table([['SERIAL', 'MANUFACTURER', 'MODEL', 'STATE', 'GROUP TAG', 'ID'], ...devices.map((d) => [d.serial, d.manufacturer, d.model, d.state, d.groupTag ?? '', d.id])]);

export function devicesCommands(program: Command, action: AdminActions): void {
  const devices = program.command('devices').description('device registrations: import, list, show, progress, log bundles, delete');

  devices
    .command('import')
    .description('register every device of a hardware-hash CSV, all or nothing ("-": standard input)')
    .argument('<FILE.csv>')
    .action(
      action(async (session, path: string) => {
        const csv = (await session.read(path, 'the CSV file')).toString('utf8');
        const result = await session.client.request(admin.devices.import, { body: csv });
        session.out(result, () => `Imported ${result.imported} device(s) from ${path === '-' ? 'standard input' : path}\n`);
      }),
    );

  devices
    .command('add')
    .description('register one device from its hardware hash')
    .requiredOption('--hash <HASH>', 'the hardware hash (selfdeploy hash)')
    .option('--group-tag <TAG>', 'its group tag (dynamic groups match it)')
    .option('--assigned-user <UPN>', 'the user it is for')
    .action(
      action(async (session, options: { hash: string; groupTag?: string; assignedUser?: string }) => {
        const flags = { hardwareHash: '--hash', groupTag: '--group-tag', assignedUser: '--assigned-user' };
        const body = { hardwareHash: options.hash, ...(options.groupTag !== undefined ? { groupTag: options.groupTag } : {}), ...(options.assignedUser !== undefined ? { assignedUser: options.assignedUser } : {}) };
        session.check(AddDeviceRequestSchema, body, flags);
        const device = await session.sent(() => session.client.request(admin.devices.add, { body }), { flags });
        session.out(device, () => `Registered ${device.serial} (${device.manufacturer}) as ${device.id}\n`);
      }),
    );

  devices
    .command('list')
    .description('list registered devices, ordered by serial number')
    .option('--state <STATE>', `only devices in this state (${DeviceStateSchema.options.join(', ')})`, oneOf('--state', DeviceStateSchema.options))
    .option('--group-tag <TAG>', 'only devices with this group tag')
    .option('--serial-prefix <PREFIX>', 'only serial numbers that start with this')
    .option('--limit <N>', 'devices per page, 1 to 500 (default 50; 500 with --all)', wholeNumber('--limit', 1, 500))
    .option('--cursor <CURSOR>', 'the page after this cursor (from an earlier list)')
    .option('--all', 'every page, not just the first')
    .action(
      action(async (session, options: { state?: DeviceState; groupTag?: string; serialPrefix?: string; limit?: number; cursor?: string; all?: boolean }) => {
        const limit = options.limit ?? (options.all ? 500 : 50);
        const items: Device[] = [];
        let cursor = options.cursor;
        let next: string | null = null;
        do {
          const page = await session.client.request(admin.devices.list, { query: { state: options.state, groupTag: options.groupTag, serialPrefix: options.serialPrefix, limit, cursor } });
          items.push(...page.items);
          next = page.nextCursor;
          cursor = next ?? undefined;
        } while (options.all && next);
        session.out({ items, nextCursor: next }, () => (items.length === 0 ? 'No devices.\n' : deviceTable(items) + (next ? `(more: --cursor ${next}, or --all)\n` : '')));
      }),
    );

  devices
    .command('show')
    .description('one device: registration, state, groups, profile, join and progress')
    .argument('<DEVICE>', 'an id or a serial number')
    .action(
      action(async (session, reference: string) => {
        const device = await session.device(reference);
        const view = await session.client.request(admin.devices.get, { params: { id: device.id } });
        session.out(view, () =>
          [
            `Device        ${view.serial} (${view.manufacturer} ${view.model})`,
            `Id            ${view.id}`,
            `State         ${view.state}${view.deployedAt ? ` since ${view.deployedAt}` : ''}${view.unverifiedHardware ? ' — unverified hardware (EK allow-list)' : ''}`,
            `Group tag     ${view.groupTag ?? '-'}`,
            `Groups        ${view.groups.map((g) => `${g.name} (${g.kind})`).join(', ') || '-'}`,
            `Profile       ${view.profile ? `${view.profile.profile} via ${view.profile.group} (assigned ${view.profile.assignedAt})` : 'none assigned'}`,
            ...view.profileConflicts.map((c) => `  not applied ${c.profile} via ${c.group} (assigned later, ${c.assignedAt})`),
            `Joined        ${view.joinedAt ? `${view.joinedAt}${view.deviceName ? ` as ${view.deviceName}` : ''}` : '-'} (certificates issued: ${view.certificatesIssued})`,
            `ESP progress  ${view.espProgress ? `${view.espProgress.phase}${view.espProgress.step ? ` / ${view.espProgress.step}` : ''} ${view.espProgress.completed} of ${view.espProgress.total} (${view.espProgress.reportedAt})` : '-'}`,
            `EK digest     ${view.ekDigest ?? '-'}`,
            ...(view.ekCertificate ? [`EK cert.      registered: ${view.ekCertificate.subject || '(no subject)'} (issuer ${view.ekCertificate.issuer}, to ${view.ekCertificate.notAfter})`] : []),
            `Hardware hash ${view.hardwareHash}`,
            '',
          ].join('\n'),
        );
      }),
    );

  devices
    .command('ek-certificate')
    .description("register the EK certificate of a device whose TPM keeps none: a PEM or DER file, or the JSON of selfdeploy tpm info --fetch-ek-certificate ('-': standard input)")
    .argument('<DEVICE>', 'an id or a serial number')
    .argument('[FILE]', 'the certificate')
    .option('--remove', 'forget the registered certificate')
    .action(
      action(async (session, reference: string, path: string | undefined, options: { remove?: boolean }) => {
        if ((path === undefined) === !options.remove) throw new InputFileError('INPUT_FILE_INVALID', 'give the certificate FILE, or --remove to forget the registered one');
        const device = await session.device(reference);
        const pem = path === undefined ? null : ekCertificatePem(await session.read(path, 'the EK certificate'), path);
        const updated = await session.client.request(admin.devices.putEkCertificate, { params: { id: device.id }, body: { pem } });
        session.out(updated, () =>
          updated.ekCertificate
            ? `Registered the EK certificate of ${updated.serial}: ${updated.ekCertificate.subject || '(no subject)'}, issued by ${updated.ekCertificate.issuer}, valid to ${updated.ekCertificate.notAfter}\n`
            : `${updated.serial} has no registered EK certificate\n`,
        );
      }),
    );

  devices
    .command('delete-record')
    .description('delete its device record (deployment): it may self-deploy again')
    .argument('<DEVICE>', 'an id or a serial number')
    .action(
      action(async (session, reference: string) => {
        const device = await session.device(reference);
        const registered = await session.client.request(admin.devices.deleteRecord, { params: { id: device.id } });
        session.out(registered, () => `Deleted the device record of ${registered.serial}: it may self-deploy again\n`);
      }),
    );

  devices
    .command('delete')
    .description('delete the registration too: the device is no longer known')
    .argument('<DEVICE>', 'an id or a serial number')
    .action(
      action(async (session, reference: string) => {
        const device = await session.device(reference);
        await session.client.request(admin.devices.delete, { params: { id: device.id } });
        session.out({ deleted: device.id }, () => `Deleted ${device.serial} (${device.id}) and its registration\n`);
      }),
    );

  devices
    .command('esp')
    .description('its live setup progress: phases, steps and items')
    .argument('<DEVICE>', 'an id or a serial number')
    .action(
      action(async (session, reference: string) => {
        const device = await session.device(reference);
        const esp = await session.client.request(admin.devices.esp, { params: { id: device.id } });
        session.out(esp, () => {
          if (!esp.snapshot) return `${device.serial} has not reported any setup progress${esp.mdmEnrolledAt ? '' : ' (not enrolled in management)'}.\n`;
          const s = esp.snapshot;
          const lines = [`${device.serial}: ${s.status}, last report ${s.updatedAt}${s.failure ? ` — ${s.failure.code}: ${s.failure.message}` : ''}`];
          for (const phase of s.phases) {
            lines.push(`${phase.title}: ${phase.state}`);
            for (const step of phase.steps) {
              lines.push(`  ${step.title}: ${step.state}${step.total ? ` (${step.completed} of ${step.total})` : ''}`);
              for (const item of step.items) lines.push(`    ${item.name} v${item.version}: ${item.state}${item.error ? ` — ${item.error.code}` : ''}`);
            }
          }
          return lines.join('\n') + '\n';
        });
      }),
    );

  devices
    .command('diagnostics')
    .description('the log bundles it uploaded; with --download ID --out FILE, one of them')
    .argument('<DEVICE>', 'an id or a serial number')
    .option('--download <ID>', 'the bundle to download')
    .option('--out <FILE>', 'where the downloaded bundle goes')
    .action(
      action(async (session, reference: string, options: { download?: string; out?: string }) => {
        if ((options.download === undefined) !== (options.out === undefined)) throw session.usage('--download ID and --out FILE go together');
        const device = await session.device(reference);
        if (options.download !== undefined && options.out !== undefined) {
          const bytes = await session.client.fetchBytes(admin.devices.diagnosticsBundle, { params: { id: device.id, diagnosticsId: options.download } });
          writeFileSync(options.out, bytes, { mode: 0o600 });
          const out = options.out;
          return session.out({ file: out, size: bytes.length }, () => `Wrote ${bytes.length} bytes to ${out}\n`);
        }
        const list = await session.client.request(admin.devices.diagnostics, { params: { id: device.id } });
        session.out(list, () => (list.items.length ? table([['ID', 'SIZE', 'UPLOADED'], ...list.items.map((d) => [d.id, String(d.size), d.createdAt])]) : `${device.serial} uploaded no log bundles.\n`));
      }),
    );
}

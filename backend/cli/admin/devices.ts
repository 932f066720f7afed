// selfdeploy-admin devices: register devices (a hardware-hash CSV, or one hash), list and show
// them, their live setup progress and log bundles, and delete their records or registrations.
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';

import type { Command } from 'commander';

import { AddDeviceRequestSchema, BULK_MAX_DEVICES, DeviceStateSchema, UpdateDeviceRequestSchema, type Device, type DeviceState } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { oneOf, wholeNumber } from '../../../protocol/node/command-line.js';
import { InputFileError } from '../../../protocol/node/input-file.js';
import { describeFailure, lintLines, runTable } from './reports.js';
import { table, type AdminActions } from './session.js';

const BULK_ACTIONS = ['set-group-tag', 'add-to-group', 'remove-from-group', 'delete-record'] as const;

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
    .description('register every device of a hardware-hash CSV, all or nothing ("-": standard input); --preview shows what it would do, row by row, and stores nothing')
    .argument('<FILE.csv>')
    .option('--preview', 'report each row (and the lint of what the devices would receive) without importing')
    .action(
      action(async (session, path: string, options: { preview?: boolean }) => {
        const csv = (await session.read(path, 'the CSV file')).toString('utf8');
        const from = path === '-' ? 'standard input' : path;
        if (options.preview) {
          const preview = await session.client.request(admin.devices.importPreview, { body: csv });
          session.out(preview, () =>
            table([
              ['ROW', 'SERIAL', 'MANUFACTURER', 'MODEL', 'GROUP TAG', 'RESULT'],
              ...preview.rows.map((r) => [String(r.row), r.serial ?? '', r.manufacturer ?? '', r.model ?? '', r.groupTag ?? '', r.errors.length ? r.errors.map((e) => `${e.column ? `${e.column}: ` : ''}${e.reason}`).join('; ') : 'ok']),
            ]) +
              lintLines(preview.lint) +
              (preview.valid ? `${from}: ${preview.devices} device(s) would be imported\n` : `${from} would not be imported: fix the rows above\n`),
          );
          return preview.valid ? 0 : 1;
        }
        const result = await session.client.request(admin.devices.import, { body: csv });
        session.out(result, () => `Imported ${result.imported} device(s) from ${from}\n${lintLines(result.lint)}`);
        return 0;
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
    .option('--group <NAME>', 'only members of this group (static or dynamic)')
    .option('--manufacturer <NAME>', 'only devices of this manufacturer')
    .option('--model <NAME>', 'only devices of this model')
    .option('--limit <N>', 'devices per page, 1 to 500 (default 50; 500 with --all)', wholeNumber('--limit', 1, 500))
    .option('--cursor <CURSOR>', 'the page after this cursor (from an earlier list)')
    .option('--all', 'every page, not just the first')
    .action(
      action(async (session, options: { state?: DeviceState; groupTag?: string; serialPrefix?: string; group?: string; manufacturer?: string; model?: string; limit?: number; cursor?: string; all?: boolean }) => {
        const limit = options.limit ?? (options.all ? 500 : 50);
        const items: Device[] = [];
        let cursor = options.cursor;
        let next: string | null = null;
        do {
          const page = await session.client.request(admin.devices.list, {
            query: { state: options.state, groupTag: options.groupTag, serialPrefix: options.serialPrefix, group: options.group, manufacturer: options.manufacturer, model: options.model, limit, cursor },
          });
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
            ...(view.failure ? [`Failure       ${describeFailure(view.failure)}`] : []),
            `Group tag     ${view.groupTag ?? '-'}`,
            `Assigned user ${view.assignedUser ?? '-'}`,
            `Groups        ${view.groups.map((g) => `${g.name} (${g.kind})`).join(', ') || '-'}`,
            `Profile       ${view.profile ? `${view.profile.profile} via ${view.profile.group} (assigned ${view.profile.assignedAt})` : 'none assigned'}`,
            ...view.profileConflicts.map((c) => `  not applied ${c.profile} via ${c.group} (assigned later, ${c.assignedAt})`),
            `Joined        ${view.joinedAt ? `${view.joinedAt}${view.deviceName ? ` as ${view.deviceName}` : ''}` : '-'} (certificates issued: ${view.certificatesIssued})`,
            `Check-in      ${view.lastContactAt ?? '-'}${view.logsRequestedAt ? ` (logs asked for at ${view.logsRequestedAt})` : ''}`,
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
    .command('set')
    .description("change a registration's group tag or assigned (primary) user; dynamic groups follow at once")
    .argument('<DEVICE>', 'an id or a serial number')
    .option('--group-tag <TAG>', 'the new group tag')
    .option('--no-group-tag', 'remove the group tag')
    .option('--assigned-user <UPN>', 'the new assigned user')
    .option('--no-assigned-user', 'remove the assigned user')
    .action(
      action(async (session, reference: string, options: { groupTag?: string | false; assignedUser?: string | false }) => {
        const body = {
          ...(options.groupTag !== undefined ? { groupTag: options.groupTag === false ? null : options.groupTag } : {}),
          ...(options.assignedUser !== undefined ? { assignedUser: options.assignedUser === false ? null : options.assignedUser } : {}),
        };
        const flags = { groupTag: '--group-tag', assignedUser: '--assigned-user' };
        if (Object.keys(body).length === 0) throw session.usage('give --group-tag, --no-group-tag, --assigned-user or --no-assigned-user');
        session.check(UpdateDeviceRequestSchema, body, flags);
        const device = await session.device(reference);
        const view = await session.sent(() => session.client.request(admin.devices.update, { params: { id: device.id }, body }), { flags });
        session.out(view, () => `${view.serial}: group tag ${view.groupTag ?? '-'}, assigned user ${view.assignedUser ?? '-'}; groups ${view.groups.map((g) => g.name).join(', ') || '-'}; profile ${view.profile?.profile ?? 'none'}\n`);
      }),
    );

  devices
    .command('bulk')
    .description(`one action on many devices (ids or serial numbers, as arguments or one per line in --from FILE): ${BULK_ACTIONS.join(', ')}`)
    .argument('<ACTION>', BULK_ACTIONS.join(' | '))
    .argument('[DEVICES...]', 'ids or serial numbers')
    .option('--from <FILE>', "the devices, one per line ('-': standard input)")
    .option('--group-tag <TAG>', 'set-group-tag: the tag')
    .option('--no-group-tag', 'set-group-tag: remove the tag')
    .option('--group <NAME>', 'add-to-group, remove-from-group: the static group')
    .action(
      action(async (session, verb: string, references: string[], options: { from?: string; groupTag?: string | false; group?: string }) => {
        if (!(BULK_ACTIONS as readonly string[]).includes(verb)) throw session.usage(`ACTION must be one of ${BULK_ACTIONS.join(', ')}, not "${verb}"`);
        const listed = options.from === undefined ? [] : (await session.read(options.from, 'the device list')).toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
        const all = [...references, ...listed];
        if (all.length === 0) throw session.usage('name the devices (arguments or --from FILE)');
        if (all.length > BULK_MAX_DEVICES) throw session.usage(`at most ${BULK_MAX_DEVICES} devices at once; this names ${all.length}`);
        const bulkAction = (() => {
          switch (verb) {
            case 'set-group-tag':
              if (options.groupTag === undefined) throw session.usage('set-group-tag needs --group-tag TAG or --no-group-tag');
              return { type: 'set-group-tag' as const, groupTag: options.groupTag === false ? null : options.groupTag };
            case 'add-to-group':
            case 'remove-from-group':
              if (!options.group) throw session.usage(`${verb} needs --group NAME`);
              return { type: verb, group: options.group };
            default:
              return { type: 'delete-record' as const };
          }
        })();
        const devices = [];
        for (const reference of all) devices.push(await session.device(reference));
        const result = await session.client.request(admin.devices.bulk, { body: { ids: devices.map((d) => d.id), action: bulkAction } });
        const serial = new Map(devices.map((d) => [d.id, d.serial]));
        const failed = result.results.filter((r) => !r.ok);
        session.out(result, () =>
          table([['DEVICE', 'RESULT'], ...result.results.map((r) => [serial.get(r.id) ?? r.id, r.ok ? 'done' : `${r.code}: ${r.detail}`])]) +
            lintLines(result.lint) +
            `${result.results.length - failed.length} of ${result.results.length} done\n`,
        );
        return failed.length ? 1 : 0;
      }),
    );

  devices
    .command('assignments')
    .description('what it will receive as it is now: the profile that applies and every Device setup item, in ESP order')
    .argument('<DEVICE>', 'an id or a serial number')
    .action(
      action(async (session, reference: string) => {
        const device = await session.device(reference);
        const preview = await session.client.request(admin.devices.assignments, { params: { id: device.id } });
        session.out(preview, () =>
          `Profile  ${preview.profile ? `${preview.profile.name} v${preview.profile.version} via ${preview.profile.group}` : 'none assigned'}\n` +
            (preview.items.length ? table([['KIND', 'NAME', 'VERSION', 'BLOCKING'], ...preview.items.map((i) => [i.kind, i.name, String(i.version), i.blocking ? 'yes' : 'no'])]) : 'No Device setup items.\n'),
        );
      }),
    );

  devices
    .command('history')
    .description('its deployment runs, newest first: outcome, time per phase, failure')
    .argument('<DEVICE>', 'an id or a serial number')
    .option('--limit <N>', 'runs to show, 1 to 1000 (default 20)', wholeNumber('--limit', 1, 1000))
    .action(
      action(async (session, reference: string, options: { limit?: number }) => {
        const device = await session.device(reference);
        const runs = await session.client.request(admin.devices.deployments, { params: { id: device.id }, query: { limit: options.limit ?? 20 } });
        session.out(runs, () => (runs.items.length ? runTable(runs.items) : `${device.serial} has not deployed yet.\n`));
      }),
    );

  devices
    .command('attestation')
    .description("its latest TPM attestation: EK, attestation key, the quote's PCRs and clock, the trust anchors its EK chain ended in")
    .argument('<DEVICE>', 'an id or a serial number')
    .action(
      action(async (session, reference: string) => {
        const device = await session.device(reference);
        const a = await session.client.request(admin.devices.attestation, { params: { id: device.id } });
        session.out(a, () =>
          [
            `Attested      ${a.attestedAt}`,
            `EK digest     ${a.ekDigest}`,
            `Trusted by    ${a.unverifiedHardware ? 'the EK allow-list (no certificate chain)' : a.anchors.map((x) => x.subject ?? `${x.fingerprint} (removed since)`).join('; ')}`,
            `AK name       ${a.akName}`,
            `Firmware      ${a.firmwareVersion}`,
            `Clock         ${a.clock.resetCount} resets, ${a.clock.restartCount} restarts${a.clock.safe ? '' : ' (not safe)'}`,
            ...a.pcrs.flatMap((bank) => Object.entries(bank.values).map(([index, value]) => `PCR ${bank.hash}[${index}] ${value}`)),
            '',
          ].join('\n'),
        );
      }),
    );

  devices
    .command('collect-logs')
    .description('ask the device for its logs at its next check-in (hourly once it is set up); they appear under devices diagnostics')
    .argument('<DEVICE>', 'an id or a serial number')
    .action(
      action(async (session, reference: string) => {
        const device = await session.device(reference);
        const asked = await session.client.request(admin.devices.collectLogs, { params: { id: device.id } });
        const contact = asked.lastContactAt ? `its last check-in was ${asked.lastContactAt}` : 'it has not checked in since it was set up';
        session.out(asked, () => `Asked ${device.serial} for its logs at its next check-in (${contact}); then: selfdeploy-admin devices diagnostics ${device.serial}\n`);
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

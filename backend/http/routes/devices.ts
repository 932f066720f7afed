// /v1/admin/devices: registrations, their state and what reaches them.
import { X509Certificate } from 'node:crypto';

import type { z } from 'zod';

import type { BulkDevicesRequestSchema, DeviceEspSchema, Device, DeviceView } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import type { LintFinding } from '../../../protocol/profile.js';
import { assignedItems, requireNoLintErrors, resolveForDevice } from '../../deployment/assignments.js';
import { lintFleet } from '../../deployment/fleet-lint.js';
import { ServiceError, notFound } from '../../errors.js';
import { addDevice, importCsv, previewCsv } from '../../registrations/import.js';
import type { DeviceSet, NewRegistration } from '../../store/devices.js';
import type { Group } from '../../store/groups.js';
import type { Store } from '../../store/store.js';
import type { AdminToken } from '../../store/tokens.js';
import { route, type Route } from '../route.js';
import { deviceScope, inScope, outOfScope, visibleDevice } from '../scope.js';
import { distinguishedName } from '../../../protocol/node/certificate-names.js';

export async function deviceView(store: Store, device: Device): Promise<DeviceView> {
  const resolution = await resolveForDevice(store, device);
  const summary = (a: NonNullable<typeof resolution.profile>) => ({ profile: a.document.name, group: a.group, assignedAt: a.assignedAt });
  return {
    ...device,
    groups: resolution.groups.map((g) => ({ name: g.name, kind: g.kind })),
    profile: resolution.profile && summary(resolution.profile),
    profileConflicts: resolution.conflicts.map(summary),
    certificatesIssued: await store.certificates.countIssued(device.id),
  };
}

/**
 * An EK certificate as registered: one X.509 certificate that is not a CA's, kept as its own PEM.
 * Whether it certifies the device's EK and chains to a trust anchor is checked when the device
 * attests (the service knows only the EK's digest until then).
 */
function endorsementCertificatePem(pem: string): string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new ServiceError('VALIDATION_FAILED', 'the EK certificate does not parse as X.509', [{ path: 'pem', reason: 'not an X.509 certificate' }]);
  }
  if (certificate.ca) throw new ServiceError('VALIDATION_FAILED', `${distinguishedName(certificate.subject)} is a CA certificate, not a TPM's EK certificate (add CAs as trust anchors)`, [{ path: 'pem', reason: 'a CA certificate' }]);
  return certificate.toString();
}

/** What a registration looks like to the lint and the scope check before it is stored. */
const pending = (r: NewRegistration) => ({ id: null, serial: r.identity.serial, manufacturer: r.identity.manufacturer, model: r.identity.model, groupTag: r.groupTag });

/** The checks a new registration passes before it is stored: the token's scope, then the lint of what it would receive. */
function registrationChecks(store: Store, token: AdminToken | null) {
  return {
    scope: async (r: NewRegistration) => ((await inScope(store, token, pending(r))) ? null : outOfScope(token!, r.groupTag).message),
    lint: async (registrations: readonly NewRegistration[]) => lintFleet(store, { devices: registrations.map(pending) }),
  };
}

/** One device of a bulk action. */
async function bulkOne(store: Store, token: AdminToken | null, id: string, action: z.output<typeof BulkDevicesRequestSchema>['action'], group: Group | undefined): Promise<void> {
  const device = await visibleDevice(store, token, id);
  switch (action.type) {
    case 'set-group-tag':
      await store.devices.update(device.id, { groupTag: action.groupTag });
      return;
    case 'add-to-group':
      await store.groups.addMember(group!, device.id);
      return;
    case 'remove-from-group':
      if (!(await store.groups.removeMember(group!, device.id))) throw notFound(`device ${device.serial} in group "${group!.name}"`);
      return;
    case 'delete-record':
      await store.devices.deleteRecord(device.id);
      return;
  }
}

const ADMIN_ONLY_BULK = new Set(['set-group-tag', 'add-to-group', 'remove-from-group']);

export function deviceRoutes(store: Store): Route[] {
  const requireDevice = (id: string, token: AdminToken | null) => visibleDevice(store, token, id);
  return [
    route(admin.devices.list, async ({ query, token }) => {
      const scope = await deviceScope(store, token);
      const group = query.group === undefined ? undefined : await store.groups.require(query.group);
      const groupSet = group && store.groups.memberSet(group);
      const among: DeviceSet | undefined = scope && groupSet ? (eb) => eb.and([scope(eb), groupSet(eb)]) : (scope ?? groupSet);
      return store.devices.list({ ...query, among });
    }),
    route(admin.devices.add, ({ body, token }) => addDevice(store, body, registrationChecks(store, token))),
    route(
      admin.devices.import,
      async ({ body, token }) => {
        const { devices, lint } = await importCsv(store, body, registrationChecks(store, token));
        return { imported: devices.length, devices: devices.map((d) => ({ id: d.id, serial: d.serial })), lint };
      },
    ),
    route(admin.devices.importPreview, async ({ body, token }) => previewCsv(store, body, registrationChecks(store, token))),
    route(admin.devices.get, async ({ params, token }) => deviceView(store, await requireDevice(params.id, token))),
    route(admin.devices.update, async ({ params, body, token }) => {
      const device = await requireDevice(params.id, token);
      const after = { ...device, ...(body.groupTag !== undefined ? { groupTag: body.groupTag } : {}) };
      requireNoLintErrors(await lintFleet(store, { devices: [after] }), `device ${device.serial} was not changed`);
      await store.devices.update(device.id, body);
      return deviceView(store, await requireDevice(params.id, token));
    }),
    route(admin.devices.bulk, async ({ body, token }) => {
      if (ADMIN_ONLY_BULK.has(body.action.type) && token?.scope !== 'admin') throw new ServiceError('FORBIDDEN', `a ${token?.scope ?? 'missing'} token cannot ${body.action.type.replaceAll('-', ' ')}; it needs an admin token`);
      const ids = [...new Set(body.ids)];
      const group = body.action.type === 'add-to-group' || body.action.type === 'remove-from-group' ? await store.groups.require(body.action.group) : undefined;
      if (group && group.kind !== 'static') throw new ServiceError('VALIDATION_FAILED', `"${group.name}" is a dynamic group: its members follow its rule`);
      // The lint of the whole change first: nothing is changed when it has errors.
      let lint: LintFinding[] = [];
      if (body.action.type === 'set-group-tag' || body.action.type === 'add-to-group') {
        const devices = (await Promise.all(ids.map((id) => store.devices.get(id)))).filter((d): d is Device => d !== undefined);
        const groupTag = body.action.type === 'set-group-tag' ? body.action.groupTag : undefined;
        lint = requireNoLintErrors(
          await lintFleet(store, {
            devices: devices.map((d) => (groupTag === undefined ? d : { ...d, groupTag })),
            ...(group && body.action.type === 'add-to-group' ? { addMembers: devices.map((d) => ({ group, deviceId: d.id })) } : {}),
          }),
          'nothing was changed',
        );
      }
      const results = [];
      for (const id of ids) {
        try {
          await bulkOne(store, token, id, body.action, group);
          results.push({ id, ok: true, code: null, detail: null });
        } catch (error) {
          if (!(error instanceof ServiceError)) throw error;
          results.push({ id, ok: false, code: error.code, detail: error.message });
        }
      }
      return { results, lint };
    }),
    route(admin.devices.assignments, async ({ params, token }) => {
      const device = await requireDevice(params.id, token);
      const resolution = await resolveForDevice(store, device);
      const items = await assignedItems(store, device);
      const profile = resolution.profile;
      return {
        profile: profile && { name: profile.document.name, version: profile.document.version, group: profile.group },
        // Names and versions only: an item's payload may hold a secret (a Wi-Fi key).
        items: items.map((i) => ({ id: i.id, kind: i.kind, name: i.name, version: i.version, blocking: i.blocking })),
      };
    }),
    route(admin.devices.certificates, async ({ params, token }) => {
      await requireDevice(params.id, token);
      return { items: await store.certificates.listFor(params.id) };
    }),
    route(admin.devices.deployments, async ({ params, query, token }) => {
      await requireDevice(params.id, token);
      return store.deployments.list({ deviceId: params.id, limit: query.limit, cursor: query.cursor });
    }),
    route(
      admin.devices.esp,
      async ({ params, token }) => {
        await requireDevice(params.id, token);
        return {
          mdmEnrolledAt: (await store.management.enrollment(params.id))?.enrolledAt ?? null,
          snapshot: (await store.management.snapshot(params.id)) as z.input<typeof DeviceEspSchema>['snapshot'],
          items: await store.management.itemStatus(params.id),
        };
      },
    ),
    route(
      admin.devices.diagnostics,
      async ({ params, token }) => {
        await requireDevice(params.id, token);
        return { items: await store.management.listDiagnostics(params.id) };
      },
    ),
    route(
      admin.devices.diagnosticsBundle,
      async ({ params, reply, token }) => {
        await requireDevice(params.id, token);
        const found = await store.management.diagnostics(params.id, params.diagnosticsId);
        if (!found) throw notFound(`log bundle ${params.diagnosticsId} of device ${params.id}`);
        return reply
          .type(found.info.mediaType)
          .header('content-disposition', `attachment; filename="selfdeploy-${params.id}-${found.info.createdAt.replace(/[:.]/g, '-')}.tar.gz"`)
          .send(found.data);
      },
    ),
    route(
      admin.devices.putEkCertificate,
      async ({ params, body, token }) => {
        await requireDevice(params.id, token);
        await store.devices.setEkCertificate(params.id, body.pem === null ? null : endorsementCertificatePem(body.pem));
        return requireDevice(params.id, token);
      },
    ),
    route(admin.devices.attestation, async ({ params, token }) => {
      const device = await requireDevice(params.id, token);
      const attestation = await store.attestations.latestFor(device.id);
      if (!attestation) throw notFound(`an attestation of device ${device.serial}`);
      const anchors = await store.trustAnchors.list();
      const clock = JSON.parse(attestation.clock) as { resetCount: number; restartCount: number; safe: boolean };
      return {
        attestedAt: attestation.created_at,
        ekDigest: attestation.ek_digest,
        akName: attestation.ak_name,
        unverifiedHardware: attestation.unverified_hardware === 1,
        firmwareVersion: attestation.firmware_version,
        clock: { resetCount: clock.resetCount, restartCount: clock.restartCount, safe: clock.safe },
        pcrs: JSON.parse(attestation.pcrs) as { hash: string; values: Record<string, string> }[],
        anchors: (await store.attestations.chainOf(attestation.challenge_id)).map((fingerprint) => {
          const anchor = anchors.find((a) => a.fingerprint === fingerprint);
          return { fingerprint, subject: anchor?.subject ?? null, label: anchor?.label ?? null };
        }),
      };
    }),
    route(
      admin.devices.collectLogs,
      async ({ params, token }) => {
        const device = await requireDevice(params.id, token);
        const requestedAt = new Date().toISOString();
        if (!(await store.devices.requestLogs(device.id, requestedAt))) throw notFound(`device ${params.id}`);
        return { requestedAt, lastContactAt: device.lastContactAt };
      },
    ),
    route(
      admin.devices.deleteRecord,
      async ({ params, token }) => {
        await requireDevice(params.id, token);
        await store.devices.deleteRecord(params.id);
        return requireDevice(params.id, token);
      },
    ),
    route(
      admin.devices.delete,
      async ({ params }) => {
        if (!(await store.devices.delete(params.id))) throw notFound(`device ${params.id}`);
        return undefined;
      },
    ),
  ];
}

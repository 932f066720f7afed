// /v1/admin/devices: registrations, their state and what reaches them.
import { X509Certificate } from 'node:crypto';

import type { z } from 'zod';

import type { DeviceEspSchema, Device, DeviceView } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { resolveForDevice } from '../../deployment/assignments.js';
import { ServiceError, notFound } from '../../errors.js';
import { addDevice, importCsv } from '../../registrations/import.js';
import type { Store } from '../../store/store.js';
import { route, type Route } from '../route.js';
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

async function requireDevice(store: Store, id: string): Promise<Device> {
  const device = await store.devices.get(id);
  if (!device) throw notFound(`device ${id}`);
  return device;
}

export function deviceRoutes(store: Store): Route[] {
  return [
    route(admin.devices.list, ({ query }) => store.devices.list(query)),
    route(admin.devices.add, ({ body }) => addDevice(store, body)),
    route(
      admin.devices.import,
      async ({ body }) => {
        const devices = await importCsv(store, body);
        return { imported: devices.length, devices: devices.map((d) => ({ id: d.id, serial: d.serial })) };
      },
    ),
    route(admin.devices.get, async ({ params }) => deviceView(store, await requireDevice(store, params.id))),
    route(
      admin.devices.esp,
      async ({ params }) => {
        await requireDevice(store, params.id);
        return {
          mdmEnrolledAt: (await store.management.enrollment(params.id))?.enrolledAt ?? null,
          snapshot: (await store.management.snapshot(params.id)) as z.input<typeof DeviceEspSchema>['snapshot'],
          items: await store.management.itemStatus(params.id),
        };
      },
    ),
    route(
      admin.devices.diagnostics,
      async ({ params }) => {
        await requireDevice(store, params.id);
        return { items: await store.management.listDiagnostics(params.id) };
      },
    ),
    route(
      admin.devices.diagnosticsBundle,
      async ({ params, reply }) => {
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
      async ({ params, body }) => {
        await requireDevice(store, params.id);
        await store.devices.setEkCertificate(params.id, body.pem === null ? null : endorsementCertificatePem(body.pem));
        return requireDevice(store, params.id);
      },
    ),
    route(
      admin.devices.deleteRecord,
      async ({ params }) => {
        await requireDevice(store, params.id);
        await store.devices.deleteRecord(params.id);
        return requireDevice(store, params.id);
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

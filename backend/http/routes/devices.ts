// /v1/admin/devices: registrations, their state and what reaches them.
import { z } from 'zod';

import {
  AddDeviceRequestSchema,
  DeviceEspSchema,
  DeviceListQuerySchema,
  DiagnosticsListSchema,
  DeviceListSchema,
  DeviceSchema,
  DeviceViewSchema,
  ImportResultSchema,
  type Device,
  type DeviceView,
} from '../../../protocol/api/admin.js';
import { resolveForDevice } from '../../deployment/assignments.js';
import { notFound } from '../../errors.js';
import { addDevice, importCsv } from '../../registrations/import.js';
import type { Store } from '../../store/store.js';
import { defineRoute, type AnyRoute } from '../route.js';

const IdParams = z.object({ id: z.string().max(64) });
const DiagnosticsParams = z.object({ id: z.string().max(64), diagnosticsId: z.string().max(64) });

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

async function requireDevice(store: Store, id: string): Promise<Device> {
  const device = await store.devices.get(id);
  if (!device) throw notFound(`device ${id}`);
  return device;
}

export function deviceRoutes(store: Store): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/admin/devices',
      operationId: 'listDevices',
      summary: 'List registered devices (filter by state, group tag, serial prefix; paginated by cursor)',
      tag: 'devices',
      access: 'read',
      query: DeviceListQuerySchema,
      success: { status: 200, description: 'A page of devices, ordered by serial number', schema: DeviceListSchema },
      handler: ({ query }) => store.devices.list(query),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/devices',
      operationId: 'addDevice',
      summary: 'Register one device from its hardware hash',
      tag: 'devices',
      access: 'import',
      body: AddDeviceRequestSchema,
      problems: [409],
      success: { status: 201, description: 'The registered device', schema: DeviceSchema },
      handler: ({ body }) => addDevice(store, body),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/devices/import',
      operationId: 'importDevices',
      summary: 'Import a hardware-hash CSV (Device Serial Number,Hardware Hash,Group Tag,Assigned User), all or nothing',
      tag: 'devices',
      access: 'import',
      body: z.string(),
      bodyMediaType: 'text/csv',
      bodyLimit: 32 * 1024 * 1024,
      problems: [413],
      success: { status: 201, description: 'Every device of the file was registered', schema: ImportResultSchema },
      handler: async ({ body }) => {
        const devices = await importCsv(store, body);
        return { imported: devices.length, devices: devices.map((d) => ({ id: d.id, serial: d.serial })) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/devices/:id',
      operationId: 'getDevice',
      summary: 'One device: registration, state, last ESP progress, groups and the profile that applies',
      tag: 'devices',
      access: 'read',
      params: IdParams,
      problems: [404],
      success: { status: 200, description: 'The device', schema: DeviceViewSchema },
      handler: async ({ params }) => deviceView(store, await requireDevice(store, params.id)),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/devices/:id/esp',
      operationId: 'getDeviceEsp',
      summary: "The device's live setup progress: its last ESP snapshot and each item's state",
      tag: 'devices',
      access: 'read',
      params: IdParams,
      problems: [404],
      success: { status: 200, description: 'The progress', schema: DeviceEspSchema },
      handler: async ({ params }) => {
        await requireDevice(store, params.id);
        return {
          mdmEnrolledAt: (await store.management.enrollment(params.id))?.enrolledAt ?? null,
          snapshot: (await store.management.snapshot(params.id)) as z.input<typeof DeviceEspSchema>['snapshot'],
          items: await store.management.itemStatus(params.id),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/devices/:id/diagnostics',
      operationId: 'listDeviceDiagnostics',
      summary: 'The log bundles the device uploaded, newest first',
      tag: 'devices',
      access: 'read',
      params: IdParams,
      problems: [404],
      success: { status: 200, description: 'The bundles', schema: DiagnosticsListSchema },
      handler: async ({ params }) => {
        await requireDevice(store, params.id);
        return { items: await store.management.listDiagnostics(params.id) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/devices/:id/diagnostics/:diagnosticsId',
      operationId: 'getDeviceDiagnostics',
      summary: 'Download one log bundle',
      tag: 'devices',
      access: 'read',
      params: DiagnosticsParams,
      problems: [404],
      success: { status: 200, description: 'The bundle (gzip)', binary: true },
      handler: async ({ params, reply }) => {
        const found = await store.management.diagnostics(params.id, params.diagnosticsId);
        if (!found) throw notFound(`log bundle ${params.diagnosticsId} of device ${params.id}`);
        return reply
          .type(found.info.mediaType)
          .header('content-disposition', `attachment; filename="selfdeploy-${params.id}-${found.info.createdAt.replace(/[:.]/g, '-')}.tar.gz"`)
          .send(found.data);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/devices/:id/record',
      operationId: 'deleteDeviceRecord',
      summary: 'Delete the device record (its deployment); the registration stays, so the device can self-deploy again',
      tag: 'devices',
      access: 'admin',
      params: IdParams,
      problems: [404],
      success: { status: 200, description: 'The registration, back to state registered', schema: DeviceSchema },
      handler: async ({ params }) => {
        await requireDevice(store, params.id);
        await store.devices.deleteRecord(params.id);
        return requireDevice(store, params.id);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/admin/devices/:id',
      operationId: 'deleteDevice',
      summary: 'Delete the registration and its device record: the device is no longer known',
      tag: 'devices',
      access: 'admin',
      params: IdParams,
      problems: [404],
      success: { status: 204, description: 'Deleted' },
      handler: async ({ params }) => {
        if (!(await store.devices.delete(params.id))) throw notFound(`device ${params.id}`);
        return undefined;
      },
    }),
  ];
}

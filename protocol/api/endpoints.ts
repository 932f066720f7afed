// Every endpoint of the service, declared once (protocol/api/endpoints/): the device API, the admin
// API and its documents. `ENDPOINTS` is the whole list — the OpenAPI document and the test that
// the service registers each of them read it.
import type { Endpoint } from './endpoint.js';
import * as admin from './endpoints/admin.js';
import * as device from './endpoints/device.js';
import * as documents from './endpoints/documents.js';

export { admin, device, documents };

/** The endpoints in a module or a group of them (plain objects only: schemas are not walked). */
function all(value: unknown): Endpoint[] {
  if (typeof value !== 'object' || value === null) return [];
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== null && prototype !== Object.prototype) return [];
  if ('operationId' in value && 'method' in value && 'path' in value) return [value as Endpoint];
  return Object.values(value).flatMap(all);
}

export const ENDPOINTS: readonly Endpoint[] = [...all(device), ...all(admin), ...all(documents)];

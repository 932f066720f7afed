// Secret fields of device-setup documents (ITEM_SECRETS: a Wi-Fi key, a directory-bind policy's
// password) are write-only: an answer of the admin API says that one is set, with a keyed
// fingerprint to compare, and never carries the value; a save that leaves one out keeps the stored one.
import { createHmac } from 'node:crypto';

import { ITEM_SECRETS, ItemBodySchemas, type ItemKind } from '../../../protocol/items.js';
import { ServiceError } from '../../errors.js';

/** A keyed fingerprint of a secret: equal secrets compare equal, and it gives nothing to guess a weak key against without the service's key. */
export type Fingerprint = (field: string, value: string) => string;

export function secretFingerprint(key: Buffer): Fingerprint {
  return (field, value) => `hmac-sha256:${createHmac('sha256', key).update(`${field}\0${value}`).digest('hex').slice(0, 16)}`;
}

/** The body without its secret fields, and which of them are set (with their fingerprints). */
export function redacted(kind: ItemKind, body: unknown, fingerprint: Fingerprint): { body: Record<string, unknown>; secrets: Record<string, { set: true; fingerprint: string }> } {
  const shown = { ...(body as Record<string, unknown>) };
  const secrets: Record<string, { set: true; fingerprint: string }> = {};
  for (const field of ITEM_SECRETS[kind] ?? []) {
    const value = shown[field];
    delete shown[field];
    if (typeof value === 'string') secrets[field] = { set: true, fingerprint: fingerprint(field, value) };
  }
  return { body: shown, secrets };
}

/**
 * A saved body: the secret fields it leaves out keep their stored values (a policy's only while it
 * stays the same kind of policy), then the kind's full schema decides.
 */
export function withStoredSecrets(kind: ItemKind, body: unknown, stored: unknown): unknown {
  const merged = { ...(body as Record<string, unknown>) };
  const kept = stored as Record<string, unknown> | undefined;
  const sameKind = kind !== 'policy' || kept?.['kind'] === merged['kind'];
  for (const field of ITEM_SECRETS[kind] ?? []) {
    if (merged[field] === undefined && kept?.[field] !== undefined && sameKind) merged[field] = kept[field];
  }
  const parsed = ItemBodySchemas[kind].safeParse(merged);
  if (!parsed.success) throw new ServiceError('VALIDATION_FAILED', `the ${kind} is not valid`, parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), reason: issue.message })));
  return parsed.data;
}

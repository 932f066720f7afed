// One Device setup item, applied: recorded as applying before its provider runs, detected first
// (an item already in place is not applied again), applied with the engine's help (downloads, a
// bearer token, a TPM-held client certificate), then recorded. A failure keeps the item's own code
// when it has one worth showing; a blocking item's failure ends the ESP unless the profile allows
// continuing and the technician chooses to.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { EspItem, ItemState, StepId } from '../../../protocol/esp.js';
import { isErrorCode, type ErrorCode } from '../../../protocol/errors/catalogue.js';
import { itemKey, type AssignedItem } from '../../../protocol/items.js';
import type { ApplyContext } from '../../providers/port.js';
import { profileOf, type StepContext } from '../context.js';
import { DeployError, failureOf } from '../errors.js';
import type { ItemRecord, Journal } from '../journal.js';

/** The codes an item's failure keeps; anything else it fails with is shown as ITEM_FAILED. */
const ITEM_CODES: readonly ErrorCode[] = ['ITEM_FAILED', 'ITEM_NOT_DETECTED', 'ITEM_PATH_REFUSED', 'CONTENT_DIGEST_MISMATCH', 'CONTENT_NOT_ASSIGNED', 'HELPER_UNAVAILABLE', 'HELPER_REFUSED', 'HELPER_REQUEST_INVALID', 'DIRECTORY_CLIENT_MISSING', 'DIRECTORY_JOIN_FAILED'];
const ITEM_STATE_OF: Record<ItemRecord['state'], ItemState> = { applying: 'in-progress', applied: 'succeeded', failed: 'failed', skipped: 'skipped' };

/** An assigned item as the ESP shows it, with what the journal says of it. */
export function espItem(journal: Journal, item: AssignedItem): EspItem {
  const record = journal.items[itemKey(item)];
  return {
    id: item.id,
    name: item.name,
    kind: item.kind,
    version: item.version,
    blocking: item.blocking,
    state: record ? ITEM_STATE_OF[record.state] : 'not-started',
    startedAt: record?.at ?? null,
    finishedAt: record && record.state !== 'applying' ? record.at : null,
    detail: record?.detail ?? null,
    progress: null,
    error: null,
  };
}

/** What a provider may ask of the engine while it applies `item`. */
function applyContext(context: StepContext, step: StepId, item: AssignedItem): ApplyContext {
  const { api, contentDir, enrollment } = context.options;
  const { progress, session } = context;
  return {
    progress: (fraction, detail) => progress.emit({ type: 'item', step, item: item.id, patch: { progress: Math.max(0, Math.min(1, fraction)), detail } }),
    fetchContent: async (content, onProgress) => {
      mkdirSync(contentDir, { recursive: true, mode: 0o700 });
      const file = join(contentDir, content.sha256);
      await session.managed(`downloading "${item.name}"`, (token) => api.download(token, { file, size: content.size, sha256: content.sha256, ...(onProgress ? { onProgress } : {}) }));
      return file;
    },
    authorization: () => session.token(),
    deviceName: progress.journal.device.deviceName ?? null,
    clientCertificate: (itemId) =>
      session.managed(`getting a client certificate for "${item.name}"`, (token) => enrollment.clientCertificate(token, itemId, progress.journal.device.deviceName ?? progress.journal.device.deviceId ?? 'device')),
  };
}

/** The failure of an item as the ESP shows it: its own code when that is one an item keeps, else ITEM_FAILED. */
function itemFailure(error: unknown, step: StepId, item: AssignedItem) {
  const own = failureOf(error, step, item.id);
  const code: ErrorCode = isErrorCode(own.code) && ITEM_CODES.includes(own.code) ? own.code : 'ITEM_FAILED';
  return { code, failure: code === own.code ? own : failureOf(new DeployError(code, own.detail ?? own.message, step, item.id), step, item.id) };
}

export async function applyItem(context: StepContext, step: StepId, item: AssignedItem): Promise<void> {
  const { progress, session, status } = context;
  const { providers } = context.options;
  const record = progress.journal.items[itemKey(item)];
  if (record && record.state !== 'applying' && record.state !== 'failed') return; // applied (or found in place) before
  progress.currentItem = { step, id: item.id };
  progress.emit({ type: 'item', step, item: item.id, patch: { state: 'in-progress', detail: null, error: null } });
  if (record?.state !== 'applying') progress.recordItem(item, step, 'applying', null);
  // The service hears which item is being applied (the bench board shows it), not only when it ends.
  status.report();
  try {
    // Detect, then apply — both again after a wait when the helper went away (items are idempotent).
    const result = await session.patiently(`applying ${item.kind} "${item.name}"`, async () => ((await providers.detect(item, progress.journal.device.deviceName ?? null)) ? null : providers.apply(item, applyContext(context, step, item))));
    const detail = result === null ? 'Already in place' : result.detail;
    if (result?.rebootRequired && !progress.journal.rebootRequired.includes(item.name)) progress.journal.rebootRequired.push(item.name);
    progress.recordItem(item, step, 'applied', detail);
    progress.emit({ type: 'item', step, item: item.id, patch: { state: 'succeeded', detail, ...(result === null ? {} : { progress: null }) } });
  } catch (error) {
    if (error instanceof DeployError && error.code === 'ESP_TIMEOUT') throw error;
    const { code, failure } = itemFailure(error, step, item);
    progress.recordItem(item, step, 'failed', failure.detail);
    progress.emit({ type: 'item', step, item: item.id, patch: { state: 'failed', error: failure, detail: failure.detail } });
    progress.currentItem = null;
    status.report();
    if (!item.blocking) return;
    const { decideContinue } = context.options;
    if (profileOf(context).profile.esp.allowContinue && decideContinue && (await decideContinue(failure))) {
      progress.journal.continuedPastFailure = failure.code;
      progress.checkpoint();
      progress.emit({ type: 'failed', failure });
      progress.emit({ type: 'continued' });
      return;
    }
    throw new DeployError(code, `${item.kind} "${item.name}": ${failure.detail ?? failure.message}`, step, item.id, { cause: error });
  }
  progress.currentItem = null;
  status.report();
}

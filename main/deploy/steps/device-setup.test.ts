// Device setup: each category applies its items in order, journalled before and after; an item in
// place is not applied again; an optional failure is marked and setup goes on; a required one ends
// the ESP with its own code — unless the profile allows continuing and the technician chooses to.
import { describe, expect, it } from 'vitest';

import { findStep } from '../../../protocol/esp.js';
import { itemKey } from '../../../protocol/items.js';
import { ItemError } from '../../providers/placed.js';
import { appItem, assigning, deciding, harness, policyItem } from '../testing/fakes.js';
import { appsStep, policiesStep } from './device-setup.js';
import { loadAssignments } from './preparing.js';

describe('device setup', () => {
  it('applies the category’s items in order, journalled, and finds one already in place', async () => {
    const items = [policyItem('a'), policyItem('b'), appItem('c')];
    const h = harness({ api: { assignments: assigning(items) } });
    h.providers.present.add('b');
    await loadAssignments(h.context);
    expect(await policiesStep.run(h.context)).toEqual({ state: 'succeeded', detail: null });
    expect(h.providers.applied).toEqual(['a']);
    expect(h.context.progress.journal.items[itemKey(items[1]!)]).toMatchObject({ state: 'applied', detail: 'Already in place' });
    expect(findStep(h.snapshot(), 'policies')?.items.map((i) => i.state)).toEqual(['succeeded', 'succeeded']);
    expect(await appsStep.run(h.context)).toEqual({ state: 'succeeded', detail: null });
    expect(h.providers.applied).toEqual(['a', 'c']);
  });

  it('does not apply again what the journal says was applied (a resumed run)', async () => {
    const items = [policyItem('a')];
    const h = harness({ api: { assignments: assigning(items) } });
    h.context.progress.recordItem(items[0]!, 'policies', 'applied', 'done before');
    await loadAssignments(h.context);
    await policiesStep.run(h.context);
    expect(h.providers.applied).toEqual([]);
  });

  it('marks an optional item that fails and goes on; says how many failed', async () => {
    const items = [appItem('optional', { blocking: false }), appItem('required-ok', { id: '00000000-0000-4000-8000-0000000000bb' })];
    const h = harness({ api: { assignments: assigning(items) } });
    h.providers.failing.set('optional', new Error('installer exited with status 1'));
    await loadAssignments(h.context);
    expect(await appsStep.run(h.context)).toEqual({ state: 'succeeded', detail: '1 optional item(s) failed' });
    expect(findStep(h.snapshot(), 'apps')?.items[0]).toMatchObject({ state: 'failed', error: { code: 'ITEM_FAILED' } });
    expect(h.providers.applied).toEqual(['required-ok']);
  });

  it('ends the ESP on a required item with the item’s own code when it has one', async () => {
    const items = [appItem('browser')];
    const h = harness({ api: { assignments: assigning(items) } });
    h.providers.failing.set('browser', new ItemError('ITEM_NOT_DETECTED', 'app "browser" installed, but /opt/browser does not exist'));
    await loadAssignments(h.context);
    await expect(appsStep.run(h.context)).rejects.toMatchObject({ code: 'ITEM_NOT_DETECTED', step: 'apps', item: items[0]!.id });
    expect(h.context.progress.journal.items[itemKey(items[0]!)]).toMatchObject({ state: 'failed' });
  });

  it('continues past a required failure when the profile allows it and the technician says so — and only then', async () => {
    for (const [allow, answer, continues] of [[true, true, true], [true, false, false], [false, true, false]] as const) {
      const items = [appItem('browser')];
      const decision = deciding(answer);
      const h = harness({ profile: { esp: { allowContinue: allow } }, api: { assignments: assigning(items) }, engine: { decideContinue: decision.decideContinue } });
      h.providers.failing.set('browser', new Error('apt-get failed'));
      await loadAssignments(h.context);
      const run = appsStep.run(h.context);
      if (continues) {
        await expect(run).resolves.toMatchObject({ state: 'succeeded' });
        expect(h.context.progress.journal.continuedPastFailure).toBe('ITEM_FAILED');
        expect(h.events.map((e) => e.type)).toContain('continued');
      } else {
        await expect(run).rejects.toMatchObject({ code: 'ITEM_FAILED' });
      }
      expect(decision.asked.length, `allow ${allow}`).toBe(allow ? 1 : 0);
    }
  });

  it('downloads content into the content directory and hands a client certificate from the enrollment', async () => {
    const items = [appItem('browser')];
    const h = harness({ api: { assignments: assigning(items), download: () => Promise.resolve() }, engine: { contentDir: '/tmp/selfdeploy-unit-content' } });
    h.context.progress.journal.device.deviceName = 'LOBBY-0042';
    h.providers.onApply = async (item, context) => {
      expect(await context.fetchContent({ sha256: 'a'.repeat(64), size: 3 })).toBe(`/tmp/selfdeploy-unit-content/${'a'.repeat(64)}`);
      expect(await context.clientCertificate!(item.id)).toEqual({ certificate: 'CERT', chain: 'CHAIN', keyFile: 'KEY' });
      context.progress(2, 'over the top');
    };
    await loadAssignments(h.context);
    await appsStep.run(h.context);
    expect(h.api.calls).toContain('download');
    expect(h.enrollment.calls).toContain(`clientCertificate ${items[0]!.id} LOBBY-0042 sdd_token1`);
    expect(h.events.some((e) => e.type === 'item' && e.patch.progress === 1)).toBe(true); // clamped
  });

  it('records an item that asks for a restart', async () => {
    const items = [appItem('driver')];
    const h = harness({ api: { assignments: assigning(items) } });
    h.providers.results.set('driver', { rebootRequired: true, detail: 'driver 1.0 (restart required)' });
    await loadAssignments(h.context);
    await appsStep.run(h.context);
    expect(h.context.progress.journal.rebootRequired).toEqual(['driver']);
  });
});

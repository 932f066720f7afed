// "Connecting to the network": Wi-Fi joined when nothing is up and the technician gave one; then,
// waited for until the preflight time runs out, a medium with a default route, the service's name
// resolving, and the service answering — with its clock no more than five minutes from ours.
import { isIP } from 'node:net';

import { PREFLIGHT_WAIT, backoffMs } from '../../../protocol/retry.js';
import type { Step, StepContext } from '../context.js';
import { DeployError } from '../errors.js';

export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
export const DEFAULT_PREFLIGHT_WAIT_MS = 120_000;

type PreflightCode = 'NETWORK_UNAVAILABLE' | 'DNS_FAILED' | 'SERVICE_UNREACHABLE';

/** Tries `attempt` until it gives a value or `until` passes, then fails with `code`. */
async function retryUntil<T>(context: StepContext, until: number, waited: number, code: PreflightCode, detail: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const { clock } = context.options;
  let last: unknown;
  for (let n = 1; ; n++) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (error) {
      last = error;
    }
    if (clock.now() + 2000 > until) {
      const reason = last instanceof Error ? `: ${last.message}` : '';
      throw new DeployError(code, `${detail} (waited ${Math.round(waited / 1000)} s${reason})`, 'network');
    }
    context.progress.emit({ type: 'step', step: 'network', state: 'in-progress', detail: `${detail}; retrying` });
    await clock.sleep(backoffMs(PREFLIGHT_WAIT, n));
  }
}

async function joinWifi(context: StepContext): Promise<void> {
  const { wifi, network } = context.options;
  if (!wifi || (await network.status()).medium !== 'none') return;
  if (!network.connectWifi) throw new DeployError('NETWORK_UNAVAILABLE', `no network is up, and joining Wi-Fi "${wifi.ssid}" needs the NetworkManager provider`, 'network');
  context.progress.emit({ type: 'step', step: 'network', state: 'in-progress', detail: `Connecting to Wi-Fi "${wifi.ssid}"` });
  try {
    await network.connectWifi(wifi.ssid, wifi.psk);
  } catch (error) {
    throw new DeployError('NETWORK_UNAVAILABLE', `could not join Wi-Fi "${wifi.ssid}": ${(error as Error).message}`, 'network', null, { cause: error });
  }
}

export const networkStep: Step = {
  id: 'network',
  async run(context) {
    const { network, api, clock } = context.options;
    const { progress } = context;
    const wait = context.options.preflightWaitMs ?? DEFAULT_PREFLIGHT_WAIT_MS;
    const until = clock.now() + wait;
    await joinWifi(context);
    let toldNone = false;
    const status = await retryUntil(context, until, wait, 'NETWORK_UNAVAILABLE', 'no network interface with a default route', async () => {
      const s = await network.status();
      if (s.medium === 'none' && !toldNone) {
        // The ESP shows its network page (Wi-Fi) while the step waits.
        toldNone = true;
        progress.emit({ type: 'context', context: { network: { medium: 'none', interface: null } } });
      }
      return s.medium === 'none' ? undefined : s;
    });
    progress.journal.network = { medium: status.medium, interface: status.interface };
    progress.emit({ type: 'context', context: { network: progress.journal.network } });
    const host = api.server.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) === 0) await retryUntil(context, until, wait, 'DNS_FAILED', `${host} does not resolve`, async () => ((await network.resolve(host)).length ? true : undefined));
    const probe = await retryUntil(context, until, wait, 'SERVICE_UNREACHABLE', `no answer from ${api.server.origin}`, () => api.probe());
    if (probe.date) {
      // The Date header has whole seconds and left the service half a round trip ago.
      const skew = clock.now() - (Date.parse(probe.date) + probe.roundTripMs / 2);
      if (Math.abs(skew) > MAX_CLOCK_SKEW_MS + 1000) {
        throw new DeployError(
          'CLOCK_SKEW',
          `this device's clock says ${progress.iso()}, the service's ${new Date(Date.parse(probe.date)).toISOString()} (${Math.round(skew / 60_000)} minutes apart)`,
          'network',
        );
      }
    }
    return { state: 'succeeded', detail: `${status.medium === 'wired' ? 'Ethernet' : 'Wi-Fi'} (${status.interface ?? '?'}), service answered in ${Math.round(probe.roundTripMs)} ms` };
  },
};

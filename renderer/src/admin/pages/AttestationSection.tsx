// A device's TPM attestation as the service verified it: when, what its EK is trusted through
// (the trust anchor its chain ended in, or the allow-list), the attestation key, the TPM's firmware
// and clock, and the PCRs the quote signed. None before the device attests.
import { useTranslation } from 'react-i18next';

import type { DeviceAttestationSchema } from '../../../../protocol/api/admin.js';
import { admin as adminApi } from '../../../../protocol/api/endpoints.js';
import type { z } from 'zod';

import { ApiError, describeError, pathOf } from '../api.js';
import { useApi } from '../use-api.js';

/** The device's latest TPM attestation as the service verified it (none before it attests). */
export function AttestationSection({ id }: { id: string }) {
  const { t } = useTranslation();
  const attestation = useApi<z.output<typeof DeviceAttestationSchema>>(pathOf(adminApi.devices.attestation, { id }));
  const a = attestation.data;
  return (
    <section aria-labelledby="attestation-title">
      <h2 id="attestation-title">{t('device.attestation')}</h2>
      {attestation.error instanceof ApiError && attestation.error.status === 404 ? <p>{t('device.notAttested')}</p> : attestation.error ? <p role="alert">{describeError(attestation.error)}</p> : null}
      {a ? (
        <dl className="facts">
          <div>
            <dt>{t('device.attestedAt')}</dt>
            <dd>{new Date(a.attestedAt).toLocaleString()}</dd>
          </div>
          <div>
            <dt>{t('device.trustedBy')}</dt>
            <dd>{a.unverifiedHardware ? t('device.allowList') : a.anchors.map((x) => (x.subject ? `${x.label ?? ''} (${x.subject})` : t('device.anchorRemoved', { fingerprint: x.fingerprint.slice(0, 16) }))).join('; ')}</dd>
          </div>
          <div>
            <dt>{t('device.akName')}</dt>
            <dd className="mono">{a.akName}</dd>
          </div>
          <div>
            <dt>{t('device.firmware')}</dt>
            <dd className="mono">{a.firmwareVersion}</dd>
          </div>
          <div>
            <dt>{t('device.tpmClock')}</dt>
            <dd>{t('device.tpmClockValue', { resets: a.clock.resetCount, restarts: a.clock.restartCount })}</dd>
          </div>
          <div>
            <dt>{t('device.pcrs')}</dt>
            <dd>
              <details>
                <summary>{a.pcrs.map((bank) => `${bank.hash}: ${Object.keys(bank.values).join(', ')}`).join('; ')}</summary>
                <ul className="mono">
                  {a.pcrs.flatMap((bank) =>
                    Object.entries(bank.values).map(([index, value]) => (
                      <li key={`${bank.hash}-${index}`}>
                        {bank.hash}[{index}] {value}
                      </li>
                    )),
                  )}
                </ul>
              </details>
            </dd>
          </div>
        </dl>
      ) : null}
    </section>
  );
}

// The staging bench board: every device deploying now (and those that finished or failed in the
// last fifteen minutes), one row each — phase, step, item, progress — pushed by the service as it
// changes; readable across a bench.
import { useTranslation } from 'react-i18next';

import type { BenchSchema } from '../../../../protocol/api/fleet.js';
import type { z } from 'zod';

import { admin } from '../../../../protocol/api/endpoints.js';

import { ProgressBar, StateBadge } from '../../design/components.js';
import { pathOf } from '../api.js';
import { Link } from '../router.js';
import { useEvents } from '../use-api.js';

export function BenchPage() {
  const { t } = useTranslation();
  const { data, connected } = useEvents<z.output<typeof BenchSchema>>(pathOf(admin.console.benchEvents), 'bench');
  return (
    <>
      <h1>
        {t('bench.title')} <span className="muted">{connected ? t('device.liveOn') : t('device.liveOff')}</span>
      </h1>
      {!data ? <p aria-busy="true">{t('loading')}</p> : null}
      {data && data.devices.length === 0 ? <p>{t('bench.none')}</p> : null}
      {data && data.devices.length > 0 ? (
        <table className="bench">
          <caption className="visually-hidden">{t('bench.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('devices.serial')}</th>
              <th scope="col">{t('devices.model')}</th>
              <th scope="col">{t('devices.state')}</th>
              <th scope="col">{t('bench.step')}</th>
              <th scope="col">{t('bench.item')}</th>
              <th scope="col">{t('bench.progress')}</th>
            </tr>
          </thead>
          <tbody aria-live="polite">
            {data.devices.map((d) => (
              <tr key={d.id} data-serial={d.serial}>
                <th scope="row">
                  <Link to={`/admin/devices/${d.id}`}>{d.serial}</Link>
                </th>
                <td>{d.model}</td>
                <td>
                  <StateBadge state={d.state}>{t(`deviceState.${d.state}`)}</StateBadge>
                  {d.failure ? <div className="muted">{d.failure.code}</div> : null}
                </td>
                <td>{d.progress?.step ?? ''}</td>
                <td>{d.progress?.item ?? ''}</td>
                <td>
                  {d.progress ? (
                    <>
                      <ProgressBar value={d.progress.completed} max={d.progress.total} label={t('bench.progressOf', { serial: d.serial })} /> {d.progress.completed}/{d.progress.total}
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

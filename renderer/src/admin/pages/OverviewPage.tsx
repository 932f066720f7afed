// Overview: deployments today and this week — succeeded, failed, in progress — the most frequent
// failure codes with their remedies, the median and 90th percentile time per phase, and the last
// fourteen days as a chart (with the same numbers as a table for screen readers).
import { useTranslation } from 'react-i18next';

import type { DeploymentSummarySchema } from '../../../../protocol/api/fleet.js';
import type { z } from 'zod';

import { admin } from '../../../../protocol/api/endpoints.js';

import { pathOf } from '../api.js';
import { useApi } from '../use-api.js';

type Summary = z.output<typeof DeploymentSummarySchema>;

const startOfToday = () => new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z').toISOString();
const daysAgo = (n: number) => new Date(Date.parse(startOfToday()) - n * 86_400_000).toISOString();

export function duration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function Counts({ id, title, summary }: { id: string; title: string; summary: Summary | undefined }) {
  const { t } = useTranslation();
  return (
    <section className="card" aria-labelledby={`counts-${id}`}>
      <h2 id={`counts-${id}`}>{title}</h2>
      {summary ? (
        <dl className="counts">
          <div className="state-succeeded">
            <dt>{t('outcome.succeeded')}</dt>
            <dd>{summary.outcomes.succeeded}</dd>
          </div>
          <div className="state-failed">
            <dt>{t('outcome.failed')}</dt>
            <dd>{summary.outcomes.failed}</dd>
          </div>
          <div className="state-running">
            <dt>{t('outcome.running')}</dt>
            <dd>{summary.outcomes.running}</dd>
          </div>
        </dl>
      ) : (
        <p aria-busy="true">{t('loading')}</p>
      )}
    </section>
  );
}

function Chart({ days }: { days: Summary['days'] }) {
  const { t } = useTranslation();
  const max = Math.max(1, ...days.map((d) => d.succeeded + d.failed + d.running));
  const width = 28;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${days.length * width} 120`} role="img" aria-labelledby="chart-caption" preserveAspectRatio="none">
        {days.map((d, i) => {
          const h = (n: number) => (n / max) * 110;
          return (
            <g key={d.date} transform={`translate(${i * width + 4}, 0)`}>
              <rect className="bar-succeeded" x={0} width={width - 8} y={120 - h(d.succeeded)} height={h(d.succeeded)} />
              <rect className="bar-failed" x={0} width={width - 8} y={120 - h(d.succeeded) - h(d.failed)} height={h(d.failed)} />
            </g>
          );
        })}
      </svg>
      <figcaption id="chart-caption">{t('overview.chart')}</figcaption>
      <table className="visually-hidden">
        <thead>
          <tr>
            <th>{t('overview.day')}</th>
            <th>{t('outcome.succeeded')}</th>
            <th>{t('outcome.failed')}</th>
          </tr>
        </thead>
        <tbody>
          {days.map((d) => (
            <tr key={d.date}>
              <td>{d.date}</td>
              <td>{d.succeeded}</td>
              <td>{d.failed}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

export function OverviewPage() {
  const { t } = useTranslation();
  const today = useApi<Summary>(pathOf(admin.reports.summary, undefined, { since: startOfToday() }));
  const week = useApi<Summary>(pathOf(admin.reports.summary, undefined, { since: daysAgo(6) }));
  const fortnight = useApi<Summary>(pathOf(admin.reports.summary, undefined, { since: daysAgo(13) }));
  const error = today.error ?? week.error ?? fortnight.error;
  return (
    <>
      <h1>{t('overview.title')}</h1>
      {error ? <p role="alert">{error.message}</p> : null}
      <div className="cards">
        <Counts id="today" title={t('overview.today')} summary={today.data} />
        <Counts id="week" title={t('overview.week')} summary={week.data} />
      </div>
      {week.data ? (
        <>
          <section aria-labelledby="failures">
            <h2 id="failures">{t('overview.topFailures')}</h2>
            {week.data.topFailures.length ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('overview.code')}</th>
                    <th scope="col">{t('overview.runs')}</th>
                    <th scope="col">{t('overview.remedy')}</th>
                  </tr>
                </thead>
                <tbody>
                  {week.data.topFailures.map((f) => (
                    <tr key={f.code}>
                      <td>
                        <code>{f.code}</code>
                        <div className="muted">{f.title}</div>
                      </td>
                      <td>{f.count}</td>
                      <td>{f.remedy}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p>{t('overview.noFailures')}</p>
            )}
          </section>
          <section aria-labelledby="phases">
            <h2 id="phases">{t('overview.phases')}</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('overview.phase')}</th>
                  <th scope="col">{t('overview.runs')}</th>
                  <th scope="col">{t('overview.median')}</th>
                  <th scope="col">{t('overview.p90')}</th>
                </tr>
              </thead>
              <tbody>
                {week.data.phases.map((p) => (
                  <tr key={p.id}>
                    <td>{t(`phase.${p.id}`)}</td>
                    <td>{p.runs}</td>
                    <td>{duration(p.medianMs)}</td>
                    <td>{duration(p.p90Ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      ) : null}
      {fortnight.data ? (
        <section aria-labelledby="trend">
          <h2 id="trend">{t('overview.trend')}</h2>
          <Chart days={fortnight.data.days} />
        </section>
      ) : null}
    </>
  );
}

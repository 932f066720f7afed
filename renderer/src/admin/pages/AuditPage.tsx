// The audit log: who changed what, before and after, when and from where — filtered, a page at a
// time — and the verification of its hash chain.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import type { AuditListSchema, AuditVerifySchema } from '../../../../protocol/api/fleet.js';
import type { z } from 'zod';

import { StateBadge } from '../../design/components.js';
import { admin } from '../../../../protocol/api/endpoints.js';

import { call, field, pathOf } from '../api.js';
import { useApi } from '../use-api.js';

export function AuditPage() {
  const { t } = useTranslation();
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [before, setBefore] = useState<number | undefined>();
  const list = useApi<z.output<typeof AuditListSchema>>(pathOf(admin.audit.list, undefined, { ...filters, before, limit: 50 }));
  const [verdict, setVerdict] = useState<z.output<typeof AuditVerifySchema> | null>(null);
  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    setBefore(undefined);
    setFilters(Object.fromEntries(['actor', 'action', 'resource'].map((k) => [k, field(data, k)])));
  };
  return (
    <>
      <h1>{t('audit.title')}</h1>
      <form className="filters" role="search" aria-label={t('audit.filters')} onSubmit={apply}>
        <label>
          {t('audit.actor')}
          <input name="actor" />
        </label>
        <label>
          {t('audit.action')}
          <input name="action" />
        </label>
        <label>
          {t('audit.resource')}
          <input name="resource" />
        </label>
        <button type="submit" className="primary">
          {t('devices.apply')}
        </button>
        <button type="button" onClick={() => void call(admin.audit.verify).then(setVerdict)}>
          {t('audit.verify')}
        </button>
      </form>
      {verdict ? (
        <p role="status">
          {verdict.ok ? (
            <StateBadge state="succeeded">{t('audit.intact', { count: verdict.entries })}</StateBadge>
          ) : (
            <StateBadge state="failed">{t('audit.broken', { seq: verdict.broken?.seq, reason: verdict.broken?.reason })}</StateBadge>
          )}
        </p>
      ) : null}
      {list.error ? <p role="alert">{list.error.message}</p> : null}
      <table className="audit">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t('audit.at')}</th>
            <th scope="col">{t('audit.actor')}</th>
            <th scope="col">{t('audit.from')}</th>
            <th scope="col">{t('audit.action')}</th>
            <th scope="col">{t('audit.resource')}</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.items ?? []).map((e) => (
            <tr key={e.seq}>
              <td>{e.seq}</td>
              <td>{e.at}</td>
              <td>
                {e.actor.name} <span className="muted">({e.actor.kind})</span>
              </td>
              <td>{e.source}</td>
              <td>{e.action}</td>
              <td>
                <details>
                  <summary className="mono">{e.resource}</summary>
                  <div className="diff">
                    <div>
                      <h3>{t('audit.before')}</h3>
                      <pre>{JSON.stringify(e.before, null, 2)}</pre>
                    </div>
                    <div>
                      <h3>{t('audit.after')}</h3>
                      <pre>{JSON.stringify(e.after, null, 2)}</pre>
                    </div>
                  </div>
                </details>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.nextBefore ? (
        <button type="button" onClick={() => setBefore(list.data!.nextBefore!)}>
          {t('devices.next')}
        </button>
      ) : null}
    </>
  );
}

// Devices: search and filter (state, group tag, group, serial prefix, model), a page at a time;
// select several for a bulk action — set the group tag or add to a static group (admins), delete
// the device record (technicians too) — each device's result reported.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import type { DeviceListSchema, GroupListSchema } from '../../../../protocol/api/admin.js';
import type { z } from 'zod';

import { StateBadge } from '../../design/components.js';
import { admin as adminApi } from '../../../../protocol/api/endpoints.js';

import { ApiError, call, field, pathOf, query, type Session } from '../api.js';
import { Link, navigate, useLocation } from '../router.js';
import { useApi } from '../use-api.js';

type DeviceList = z.output<typeof DeviceListSchema>;

const FILTERS = ['state', 'groupTag', 'group', 'serialPrefix', 'model'] as const;

export function DevicesPage({ session }: { session: Session }) {
  const { t } = useTranslation();
  const { search } = useLocation();
  const filters = Object.fromEntries(FILTERS.map((f) => [f, search.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const [cursor, setCursor] = useState<string | undefined>();
  const list = useApi<DeviceList>(pathOf(adminApi.devices.list, undefined, { ...filters, limit: 100, cursor }));
  const groups = useApi<z.output<typeof GroupListSchema>>(pathOf(adminApi.groups.list));
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [result, setResult] = useState<string | null>(null);
  const [tag, setTag] = useState('');
  const [group, setGroup] = useState('');
  const admin = session.token.scope === 'admin';
  const technician = admin || session.token.scope === 'technician';

  const applyFilters = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    setCursor(undefined);
    setSelected(new Set());
    navigate(`/admin/devices${query(Object.fromEntries(FILTERS.map((f) => [f, field(data, f)])))}`);
  };

  const bulk = async (action: Record<string, unknown>) => {
    setResult(null);
    try {
      const answer = await call(adminApi.devices.bulk, { body: { ids: [...selected], action } });
      const failed = answer.results.filter((r) => !r.ok);
      setResult(t('devices.bulkDone', { done: answer.results.length - failed.length, total: answer.results.length }) + failed.map((f) => ` ${f.code}: ${f.detail}`).join(''));
      setSelected(new Set());
      list.reload();
    } catch (e) {
      setResult(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };

  const items = list.data?.items ?? [];
  const toggle = (id: string) => setSelected((s) => (s.has(id) ? new Set([...s].filter((x) => x !== id)) : new Set([...s, id])));
  return (
    <>
      <h1>{t('devices.title')}</h1>
      <form className="filters" onSubmit={applyFilters} role="search" aria-label={t('devices.filters')}>
        <label>
          {t('devices.state')}
          <select name="state" defaultValue={filters.state}>
            <option value="">{t('devices.any')}</option>
            {['registered', 'deploying', 'deployed', 'failed'].map((s) => (
              <option key={s} value={s}>
                {t(`deviceState.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('devices.groupTag')}
          <input name="groupTag" defaultValue={filters.groupTag} />
        </label>
        <label>
          {t('devices.group')}
          <select name="group" defaultValue={filters.group}>
            <option value="">{t('devices.any')}</option>
            {(groups.data?.items ?? []).map((g) => (
              <option key={g.name} value={g.name}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('devices.serialPrefix')}
          <input name="serialPrefix" defaultValue={filters.serialPrefix} />
        </label>
        <label>
          {t('devices.model')}
          <input name="model" defaultValue={filters.model} />
        </label>
        <button type="submit" className="primary">
          {t('devices.apply')}
        </button>
      </form>
      {list.error ? <p role="alert">{list.error.message}</p> : null}
      {technician && selected.size > 0 ? (
        <section className="bulk" aria-label={t('devices.bulk')}>
          <p>{t('devices.selected', { count: selected.size })}</p>
          {admin ? (
            <>
              <label>
                {t('devices.groupTag')}
                <input value={tag} onChange={(e) => setTag(e.target.value)} />
              </label>
              <button type="button" onClick={() => void bulk({ type: 'set-group-tag', groupTag: tag.trim() || null })}>
                {t('devices.setTag')}
              </button>
              <label>
                {t('devices.staticGroup')}
                <select value={group} onChange={(e) => setGroup(e.target.value)}>
                  <option value="">–</option>
                  {(groups.data?.items ?? [])
                    .filter((g) => g.kind === 'static')
                    .map((g) => (
                      <option key={g.name} value={g.name}>
                        {g.name}
                      </option>
                    ))}
                </select>
              </label>
              <button type="button" disabled={!group} onClick={() => void bulk({ type: 'add-to-group', group })}>
                {t('devices.addToGroup')}
              </button>
            </>
          ) : null}
          <button type="button" className="danger" onClick={() => window.confirm(t('devices.confirmDeleteRecords', { count: selected.size })) && void bulk({ type: 'delete-record' })}>
            {t('devices.deleteRecords')}
          </button>
        </section>
      ) : null}
      {result ? <p role="status">{result}</p> : null}
      <table className="devices">
        <caption className="visually-hidden">{t('devices.title')}</caption>
        <thead>
          <tr>
            {technician ? (
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label={t('devices.selectAll')}
                  checked={items.length > 0 && items.every((d) => selected.has(d.id))}
                  onChange={(e) => setSelected(e.target.checked ? new Set(items.map((d) => d.id)) : new Set())}
                />
              </th>
            ) : null}
            <th scope="col">{t('devices.serial')}</th>
            <th scope="col">{t('devices.model')}</th>
            <th scope="col">{t('devices.state')}</th>
            <th scope="col">{t('devices.groupTag')}</th>
            <th scope="col">{t('devices.assignedUser')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr key={d.id}>
              {technician ? (
                <td>
                  <input type="checkbox" aria-label={t('devices.select', { serial: d.serial })} checked={selected.has(d.id)} onChange={() => toggle(d.id)} />
                </td>
              ) : null}
              <td>
                <Link to={`/admin/devices/${d.id}`}>{d.serial}</Link>
              </td>
              <td>
                {d.manufacturer} {d.model}
              </td>
              <td>
                <StateBadge state={d.state}>{t(`deviceState.${d.state}`)}</StateBadge>
                {d.failure ? <div className="muted">{d.failure.code}</div> : null}
              </td>
              <td>{d.groupTag ?? ''}</td>
              <td>{d.assignedUser ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && items.length === 0 ? <p>{t('devices.none')}</p> : null}
      {list.data?.nextCursor ? (
        <button type="button" onClick={() => setCursor(list.data!.nextCursor!)}>
          {t('devices.next')}
        </button>
      ) : null}
    </>
  );
}

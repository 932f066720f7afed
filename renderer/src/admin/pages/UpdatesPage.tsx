// The agent update feed: the releases devices see (newest first, critical ones applied during the
// OOBE), publishing uploaded content as a release, withdrawing one. The content section uploads
// the AppImage with a progress bar; "publish" starts a release from it.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import type { ReleaseListSchema } from '../../../../protocol/api/updates.js';
import { admin as adminApi } from '../../../../protocol/api/endpoints.js';
import type { z } from 'zod';

import { StateBadge } from '../../design/components.js';

import { call, describeError, field, pathOf, type Session } from '../api.js';
import { TableHead } from '../table-head.js';
import { useApi } from '../use-api.js';
import { bytes, ContentSection, type ContentItem } from './ContentSection.js';

export function UpdatesPage({ session }: { session: Session }) {
  const { t } = useTranslation();
  const releases = useApi<z.output<typeof ReleaseListSchema>>(pathOf(adminApi.releases.list));
  const [from, setFrom] = useState<ContentItem | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const admin = session.token.scope === 'admin';

  const publish = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!from) return;
    const data = new FormData(event.currentTarget);
    const version = field(data, 'version');
    try {
      await call(adminApi.releases.publish, {
        params: { version },
        body: { critical: data.get('critical') === 'on', notes: field(data, 'notes'), file: { name: field(data, 'file'), sha256: from.sha256, size: from.size } },
      });
      setMessage(t('updates.published', { version }));
      setFrom(null);
      releases.reload();
    } catch (e) {
      setMessage(describeError(e));
    }
  };
  const withdraw = async (version: string) => {
    if (!confirm(t('updates.confirmWithdraw', { version }))) return;
    try {
      await call(adminApi.releases.withdraw, { params: { version } });
      setMessage(t('updates.withdrawn', { version }));
      releases.reload();
    } catch (e) {
      setMessage(describeError(e));
    }
  };

  return (
    <>
      <h1>{t('updates.title')}</h1>
      <p className="help">{t('updates.help')}</p>
      <table>
        <TableHead columns={[t('updates.version'), t('updates.critical'), t('updates.file'), t('updates.publishedAt'), t('updates.notes')]} actions={t('items.actions')} />
        <tbody>
          {(releases.data?.items ?? []).map((r) => (
            <tr key={r.version}>
              <td>{r.version}</td>
              <td>{r.critical ? <StateBadge state="failed">{t('updates.criticalYes')}</StateBadge> : t('device.no')}</td>
              <td>
                {r.file.name} <span className="muted">({bytes(r.file.size)})</span>
              </td>
              <td>{new Date(r.publishedAt).toLocaleString()}</td>
              <td>{r.notes}</td>
              <td>
                {admin ? (
                  <button type="button" className="danger" onClick={() => void withdraw(r.version)}>
                    {t('updates.withdraw', { version: r.version })}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
          {releases.data && releases.data.items.length === 0 ? (
            <tr>
              <td colSpan={6} className="muted">
                {t('updates.none')}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {message ? <p role="status">{message}</p> : null}
      {from ? (
        <form className="edit" onSubmit={(e) => void publish(e)} aria-labelledby="publish-title">
          <h2 id="publish-title">{t('updates.publishFrom', { label: from.label })}</h2>
          <label>
            {t('updates.version')}
            <input name="version" required placeholder="1.4.2" />
          </label>
          <label>
            {t('updates.file')}
            <input name="file" required defaultValue={/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(from.label) ? from.label : ''} />
          </label>
          <label>
            {t('updates.notes')}
            <input name="notes" />
          </label>
          <label className="inline">
            <input type="checkbox" name="critical" /> {t('updates.criticalHelp')}
          </label>
          <button type="submit" className="primary">
            {t('updates.publish')}
          </button>
          <button type="button" onClick={() => setFrom(null)}>
            {t('items.close')}
          </button>
        </form>
      ) : null}
      <ContentSection canChange={admin} onUse={(_ref, item) => setFrom(item)} useLabel={t('updates.publish')} />
    </>
  );
}

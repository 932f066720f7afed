// Uploaded content (app packages, scripts, agent releases): the list, an upload with a progress
// bar (the service names content by its SHA-256 and keeps one copy), delete when nothing uses it,
// and "use" — start an app, a script or a release from it.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

import { CONTENT_MAX_BYTES, type ContentListSchema } from '../../../../protocol/api/admin.js';
import { admin as adminApi } from '../../../../protocol/api/endpoints.js';
import type { z } from 'zod';

import { ProgressBar } from '../../design/components.js';

import { call, describeError, pathOf, upload } from '../api.js';
import { TableHead } from '../table-head.js';
import { useApi } from '../use-api.js';

export type ContentItem = z.output<typeof ContentListSchema>['items'][number];

export function bytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

export function ContentSection({ canChange, onUse, useLabel }: { canChange: boolean; onUse: (ref: { sha256: string; size: number }, item: ContentItem) => void; useLabel: string }) {
  const { t } = useTranslation();
  const content = useApi<z.output<typeof ContentListSchema>>(pathOf(adminApi.content.list));
  const [progress, setProgress] = useState<{ name: string; sent: number; total: number } | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const send = async (file: File) => {
    setMessage(null);
    if (file.size > CONTENT_MAX_BYTES) {
      setMessage(t('content.tooLarge', { name: file.name, max: bytes(CONTENT_MAX_BYTES) }));
      return;
    }
    setProgress({ name: file.name, sent: 0, total: file.size });
    try {
      const stored = await upload(adminApi.content.upload, file, {
        query: { label: file.name.slice(0, 128) },
        onProgress: (sent, total) => setProgress({ name: file.name, sent, total }),
      });
      setMessage(t('content.uploaded', { name: file.name, sha256: stored.sha256 }));
      content.reload();
    } catch (e) {
      setMessage(describeError(e));
    } finally {
      setProgress(null);
    }
  };
  const remove = async (item: ContentItem) => {
    if (!confirm(t('content.confirmDelete', { label: item.label }))) return;
    try {
      await call(adminApi.content.delete, { params: { sha256: item.sha256 } });
      content.reload();
    } catch (e) {
      setMessage(describeError(e));
    }
  };

  return (
    <section aria-labelledby="content-title">
      <h2 id="content-title">{t('content.title')}</h2>
      {canChange ? (
        <label className="upload">
          {t('content.choose')}
          <input
            type="file"
            disabled={progress !== null}
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (file) void send(file);
            }}
          />
        </label>
      ) : null}
      {progress ? (
        <p aria-live="polite">
          {t('content.uploading', { name: progress.name })} <ProgressBar value={progress.sent} max={progress.total} label={t('content.progress', { name: progress.name })} />{' '}
          {Math.round((progress.total ? progress.sent / progress.total : 1) * 100)} %
        </p>
      ) : null}
      {message ? <p role="status">{message}</p> : null}
      <table>
        <TableHead columns={[t('content.label'), t('content.size'), 'SHA-256']} actions={t('items.actions')} />
        <tbody>
          {(content.data?.items ?? []).map((c) => (
            <tr key={c.sha256}>
              <td>{c.label}</td>
              <td>{bytes(c.size)}</td>
              <td className="mono">{c.sha256}</td>
              <td className="row-actions">
                {canChange ? (
                  <>
                    <button type="button" onClick={() => onUse({ sha256: c.sha256, size: c.size }, c)}>
                      {useLabel} <span className="visually-hidden">({c.label})</span>
                    </button>
                    <button type="button" className="danger" onClick={() => void remove(c)}>
                      {t('content.delete')} <span className="visually-hidden">{c.label}</span>
                    </button>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

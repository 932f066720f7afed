// Import: drop a hardware-hash CSV (or choose it), see what each row would do — and the lint of
// what the devices would receive — before anything is stored, then commit it, all or nothing.
import { useState, type DragEvent } from 'react';
import { useTranslation } from 'react-i18next';

import type { ImportPreviewSchema } from '../../../../protocol/api/admin.js';
import { admin } from '../../../../protocol/api/endpoints.js';
import type { z } from 'zod';

import { StateBadge } from '../../design/components.js';
import { ApiError, call } from '../api.js';

type Preview = z.output<typeof ImportPreviewSchema>;

export function ImportPage() {
  const { t } = useTranslation();
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);

  const load = async (chosen: File | undefined) => {
    if (!chosen) return;
    setMessage(null);
    setPreview(null);
    const text = await chosen.text();
    setFile({ name: chosen.name, text });
    try {
      setPreview(await call(admin.devices.importPreview, { body: text }));
    } catch (e) {
      setMessage(e instanceof ApiError ? `${e.code}: ${e.message}${e.errors.map((x) => ` ${x.row ? `row ${x.row}: ` : ''}${x.reason}`).join(';')}` : String(e));
    }
  };
  const drop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void load(event.dataTransfer.files[0]);
  };
  const commit = async () => {
    if (!file) return;
    try {
      const result = await call(admin.devices.import, { body: file.text });
      setMessage(t('import.done', { count: result.imported }));
      setPreview(null);
      setFile(null);
    } catch (e) {
      setMessage(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };
  return (
    <>
      <h1>{t('import.title')}</h1>
      <div className={`drop${dragging ? ' dragging' : ''}`} onDragOver={(e) => (e.preventDefault(), setDragging(true))} onDragLeave={() => setDragging(false)} onDrop={drop}>
        <p>{t('import.drop')}</p>
        <label>
          {t('import.choose')}
          <input type="file" accept=".csv,text/csv" onChange={(e) => void load(e.target.files?.[0])} />
        </label>
      </div>
      {message ? <p role="status">{message}</p> : null}
      {preview && file ? (
        <section aria-labelledby="preview-title">
          <h2 id="preview-title">{t('import.preview', { file: file.name })}</h2>
          <p>
            {preview.valid ? (
              <StateBadge state="succeeded">{t('import.valid', { count: preview.devices })}</StateBadge>
            ) : (
              <StateBadge state="failed">{t('import.invalid')}</StateBadge>
            )}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('import.row')}</th>
                <th scope="col">{t('devices.serial')}</th>
                <th scope="col">{t('devices.model')}</th>
                <th scope="col">{t('devices.groupTag')}</th>
                <th scope="col">{t('import.result')}</th>
              </tr>
            </thead>
            <tbody>
              {preview.rows.map((r) => (
                <tr key={r.row}>
                  <td>{r.row}</td>
                  <td>{r.serial ?? ''}</td>
                  <td>{[r.manufacturer, r.model].filter(Boolean).join(' ')}</td>
                  <td>{r.groupTag ?? ''}</td>
                  <td>
                    {r.errors.length ? (
                      <StateBadge state="failed">{r.errors.map((e) => `${e.column ? `${e.column}: ` : ''}${e.reason}`).join('; ')}</StateBadge>
                    ) : (
                      <StateBadge state="succeeded">{t('import.ok')}</StateBadge>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {preview.lint.length ? (
            <ul className="lint">
              {preview.lint.map((f, i) => (
                <li key={i}>
                  <StateBadge state={f.severity === 'error' ? 'failed' : 'skipped'}>
                    {f.code}: {f.message}
                  </StateBadge>
                </li>
              ))}
            </ul>
          ) : null}
          <button type="button" className="primary" disabled={!preview.valid} onClick={() => void commit()}>
            {t('import.commit', { count: preview.devices })}
          </button>
        </section>
      ) : null}
    </>
  );
}

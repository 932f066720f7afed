// TPM trust anchors: the manufacturer CA certificates EK chains end in (subject, issuer, validity,
// key type, how many devices attested through each) and EK digests allowed for TPMs without a
// certificate. Admins add a vendor bundle as it was downloaded — many files, PEM or DER, the same
// certificate twice, expired intermediates — and see what became of each certificate.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import type { AddTrustAnchorsResultSchema, TrustAnchorListSchema } from '../../../../protocol/api/admin.js';
import { admin as adminApi } from '../../../../protocol/api/endpoints.js';
import type { z } from 'zod';

import { StateBadge } from '../../design/components.js';

import { base64Of, call, describeError, field, pathOf, type Session } from '../api.js';
import { TableHead } from '../table-head.js';
import { useApi } from '../use-api.js';

type Outcome = z.output<typeof AddTrustAnchorsResultSchema>['outcomes'][number];

const day = (at: string | null) => (at ? at.slice(0, 10) : '–');

export function TrustAnchorsPage({ session }: { session: Session }) {
  const { t } = useTranslation();
  const anchors = useApi<z.output<typeof TrustAnchorListSchema>>(pathOf(adminApi.tenant.listTrustAnchors));
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const admin = session.token.scope === 'admin';
  const now = new Date().toISOString();

  const addFiles = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const files = data.getAll('files').filter((f): f is File => f instanceof File && f.size > 0);
    if (files.length === 0) return;
    setMessage(null);
    setOutcomes([]);
    setBusy(true);
    try {
      const label = field(data, 'label');
      const result = await call(adminApi.tenant.addTrustAnchors, {
        body: { files: await Promise.all(files.map(async (f) => ({ name: f.name.slice(0, 256), data: await base64Of(f) }))), ...(label ? { label } : {}) },
      });
      setOutcomes(result.outcomes);
      setMessage(t('anchors.added', { count: result.outcomes.filter((o) => o.outcome.startsWith('added')).length, files: files.length }));
      form.reset();
      anchors.reload();
    } catch (e) {
      setMessage(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const addDigest = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setMessage(null);
    setOutcomes([]);
    try {
      await call(adminApi.tenant.addTrustAnchors, { body: { ekDigest: field(data, 'ekDigest').toLowerCase(), label: field(data, 'label') } });
      setMessage(t('anchors.digestAdded'));
      form.reset();
      anchors.reload();
    } catch (e) {
      setMessage(describeError(e));
    }
  };
  const remove = async (id: string, label: string) => {
    if (!confirm(t('anchors.confirmRemove', { label }))) return;
    try {
      await call(adminApi.tenant.removeTrustAnchor, { params: { id } });
      anchors.reload();
    } catch (e) {
      setMessage(describeError(e));
    }
  };

  return (
    <>
      <h1>{t('anchors.title')}</h1>
      <table>
        <TableHead columns={[t('anchors.label'), t('anchors.subject'), t('anchors.issuer'), t('anchors.valid'), t('anchors.keyType'), t('anchors.devices')]} actions={t('items.actions')} />
        <tbody>
          {(anchors.data?.items ?? []).map((a) => (
            <tr key={a.id}>
              <td>{a.label}</td>
              <td className="mono">{a.kind === 'ek-digest' ? `${t('anchors.ekDigest')}: ${a.ekDigest ?? ''}` : a.subject}</td>
              <td className="mono">{a.issuer ?? '–'}</td>
              <td>
                {a.notAfter && a.notAfter < now ? <StateBadge state="failed">{t('anchors.expired')}</StateBadge> : null} {day(a.notBefore)} – {day(a.notAfter)}
              </td>
              <td>{a.keyType ?? '–'}</td>
              <td>{a.devices}</td>
              <td>
                {admin ? (
                  <button type="button" className="danger" onClick={() => void remove(a.id, a.label)}>
                    {t('anchors.remove')} <span className="visually-hidden">{a.label}</span>
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {message ? <p role="status">{message}</p> : null}
      {outcomes.length ? (
        <table aria-label={t('anchors.outcomes')}>
          <TableHead columns={[t('anchors.file'), t('anchors.subject'), t('anchors.outcome')]} />
          <tbody>
            {outcomes.map((o, i) => (
              <tr key={i}>
                <td>{o.file}</td>
                <td className="mono">{o.subject}</td>
                <td>
                  <StateBadge state={o.outcome.startsWith('added') ? 'succeeded' : o.outcome === 'left out, expired' ? 'failed' : 'skipped'}>{o.outcome}</StateBadge>
                  {o.detail ? <span className="muted"> {o.detail}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {admin ? (
        <>
          <form className="edit" onSubmit={(e) => void addFiles(e)} aria-labelledby="add-bundle">
            <h2 id="add-bundle">{t('anchors.addBundle')}</h2>
            <label>
              {t('anchors.files')}
              <input type="file" name="files" multiple accept=".pem,.crt,.cer,.der,application/x-x509-ca-cert" required />
            </label>
            <label>
              {t('anchors.label')}
              <input name="label" maxLength={128} />
            </label>
            <button type="submit" className="primary" disabled={busy}>
              {t('anchors.add')}
            </button>
          </form>
          <form className="edit" onSubmit={(e) => void addDigest(e)} aria-labelledby="add-digest">
            <h2 id="add-digest">{t('anchors.addDigest')}</h2>
            <label>
              {t('anchors.ekDigest')}
              <input name="ekDigest" required pattern="[0-9a-fA-F]{64}" size={66} className="mono" />
            </label>
            <label>
              {t('anchors.label')}
              <input name="label" required maxLength={128} />
            </label>
            <button type="submit">{t('anchors.add')}</button>
          </form>
        </>
      ) : null}
    </>
  );
}

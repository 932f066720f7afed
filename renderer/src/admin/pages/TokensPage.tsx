// Tokens and roles (admins): who may use the service — scope, the groups and tags a technician or
// read-only token is limited to, expiry and last use — a new token's secret shown once, revocation.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import type { CreatedTokenSchema, TokenListSchema } from '../../../../protocol/api/admin.js';
import type { z } from 'zod';

import { admin } from '../../../../protocol/api/endpoints.js';

import { ApiError, call, field, pathOf } from '../api.js';
import { useApi } from '../use-api.js';

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function TokensPage() {
  const { t } = useTranslation();
  const tokens = useApi<z.output<typeof TokenListSchema>>(pathOf(admin.tenant.listTokens));
  const [created, setCreated] = useState<z.output<typeof CreatedTokenSchema> | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const fail = (e: unknown) => setMessage(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const days = field(data, 'days');
    const groups = list(field(data, 'groups'));
    const groupTags = list(field(data, 'groupTags'));
    try {
      setCreated(
        await call(admin.tenant.createToken, {
          body: {
            name: field(data, 'name'),
            scope: field(data, 'scope'),
            expiresInDays: days === '' ? null : Number(days),
            ...(groups.length ? { groups } : {}),
            ...(groupTags.length ? { groupTags } : {}),
          },
        }),
      );
      setMessage(null);
      form.reset();
      tokens.reload();
    } catch (e) {
      fail(e);
    }
  };
  const revoke = async (id: string, name: string) => {
    if (!window.confirm(t('tokens.confirmRevoke', { name }))) return;
    try {
      await call(admin.tenant.revokeToken, { params: { id } });
      tokens.reload();
    } catch (e) {
      fail(e);
    }
  };
  return (
    <>
      <h1>{t('tokens.title')}</h1>
      {message ? <p role="alert">{message}</p> : null}
      {created ? (
        <section className="failure secret" aria-labelledby="secret-title">
          <h2 id="secret-title">{t('tokens.secret', { name: created.name })}</h2>
          <input readOnly value={created.token} aria-label={t('tokens.secretLabel')} onFocus={(e) => e.currentTarget.select()} />
        </section>
      ) : null}
      <table>
        <thead>
          <tr>
            <th scope="col">{t('tokens.name')}</th>
            <th scope="col">{t('tokens.scope')}</th>
            <th scope="col">{t('tokens.limitedTo')}</th>
            <th scope="col">{t('tokens.expires')}</th>
            <th scope="col">{t('tokens.lastUsed')}</th>
            <th scope="col">
              <span className="visually-hidden">{t('tokens.actions')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(tokens.data?.items ?? []).map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>{t(`scope.${k.scope}`)}</td>
              <td>{[...(k.groups ?? []), ...(k.groupTags ?? []).map((g) => `#${g}`)].join(', ') || t('tokens.everything')}</td>
              <td>{k.revokedAt ? t('tokens.revoked') : (k.expiresAt ?? t('tokens.never'))}</td>
              <td>{k.lastUsedAt ?? '–'}</td>
              <td>
                {k.revokedAt ? null : (
                  <button type="button" className="danger" onClick={() => void revoke(k.id, k.name)}>
                    {t('tokens.revoke')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="edit" onSubmit={(e) => void create(e)} aria-labelledby="new-token">
        <h2 id="new-token">{t('tokens.new')}</h2>
        <label>
          {t('tokens.name')}
          <input name="name" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" />
        </label>
        <label>
          {t('tokens.scope')}
          <select name="scope" defaultValue="technician">
            {(['admin', 'technician', 'read-only'] as const).map((s) => (
              <option key={s} value={s}>
                {t(`scope.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('tokens.days')}
          <input name="days" type="number" min={1} max={3650} defaultValue={90} />
        </label>
        <label>
          {t('tokens.groups')}
          <input name="groups" />
        </label>
        <label>
          {t('tokens.groupTags')}
          <input name="groupTags" />
        </label>
        <button type="submit" className="primary">
          {t('tokens.create')}
        </button>
      </form>
    </>
  );
}

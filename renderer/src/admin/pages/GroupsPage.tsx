// Groups: static and dynamic ones with their members; a dynamic group is made from a rule (group
// tag, manufacturer, model, serial prefix) after seeing which devices it would hold. A group's
// panel lists its members (a static group's can be taken out) and what is assigned to it; a group
// nothing is assigned to can be deleted.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { describeRule, type GroupListSchema, type GroupPreviewSchema, type GroupRule, type GroupViewSchema } from '../../../../protocol/api/admin.js';
import type { z } from 'zod';

import { admin as adminApi } from '../../../../protocol/api/endpoints.js';

import { ApiError, call, describeError, field, pathOf, type Session } from '../api.js';
import { Link } from '../router.js';
import { TableHead } from '../table-head.js';
import { useApi } from '../use-api.js';

const RULE_FIELDS = ['groupTag', 'manufacturer', 'model', 'serialPrefix'] as const;

export function GroupsPage({ session }: { session: Session }) {
  const { t } = useTranslation();
  const groups = useApi<z.output<typeof GroupListSchema>>(pathOf(adminApi.groups.list));
  const [kind, setKind] = useState<'static' | 'dynamic'>('dynamic');
  const [preview, setPreview] = useState<z.output<typeof GroupPreviewSchema> | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const admin = session.token.scope === 'admin';
  const ruleOf = (form: HTMLFormElement): GroupRule => {
    const data = new FormData(form);
    return Object.fromEntries(RULE_FIELDS.map((f) => [f, field(data, f)]).filter(([, v]) => v)) as GroupRule;
  };
  const fail = (e: unknown) => setMessage(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
  const showPreview = async (form: HTMLFormElement) => {
    setMessage(null);
    try {
      setPreview(await call(adminApi.groups.preview, { body: { rule: ruleOf(form), limit: 20 } }));
    } catch (e) {
      fail(e);
    }
  };
  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    try {
      await call(adminApi.groups.create, { body: { name: field(data, 'name'), kind, description: field(data, 'description'), ...(kind === 'dynamic' ? { rule: ruleOf(form) } : {}) } });
      setMessage(t('groups.created', { name: field(data, 'name') }));
      setPreview(null);
      form.reset();
      groups.reload();
    } catch (e) {
      fail(e);
    }
  };
  return (
    <>
      <h1>{t('groups.title')}</h1>
      <table>
        <TableHead columns={[t('groups.name'), t('groups.kind'), t('groups.rule'), t('groups.members')]} actions={t('items.actions')} />
        <tbody>
          {(groups.data?.items ?? []).map((g) => (
            <tr key={g.name}>
              <td>
                <Link to={`/admin/devices?group=${encodeURIComponent(g.name)}`}>{g.name}</Link>
              </td>
              <td>{t(`groups.${g.kind}`)}</td>
              <td>{g.rule ? describeRule(g.rule) : ''}</td>
              <td>{g.memberCount}</td>
              <td>
                <button type="button" aria-expanded={open === g.name} onClick={() => setOpen(open === g.name ? null : g.name)}>
                  {t('groups.open', { name: g.name })}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open ? (
        <GroupPanel
          key={open}
          name={open}
          admin={admin}
          onChanged={groups.reload}
          onDeleted={() => {
            setOpen(null);
            setMessage(t('groups.deleted', { name: open }));
            groups.reload();
          }}
        />
      ) : null}
      {admin ? (
        <form className="edit" onSubmit={(e) => void create(e)} aria-labelledby="new-group">
          <h2 id="new-group">{t('groups.new')}</h2>
          <label>
            {t('groups.name')}
            <input name="name" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" />
          </label>
          <fieldset>
            <legend>{t('groups.kind')}</legend>
            {(['dynamic', 'static'] as const).map((k) => (
              <label key={k} className="inline">
                <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {t(`groups.${k}`)}
              </label>
            ))}
          </fieldset>
          {kind === 'dynamic'
            ? RULE_FIELDS.map((f) => (
                <label key={f}>
                  {t(`groups.ruleField.${f}`)}
                  <input name={f} />
                </label>
              ))
            : null}
          <label>
            {t('groups.description')}
            <input name="description" />
          </label>
          {kind === 'dynamic' ? (
            <button type="button" onClick={(e) => void showPreview(e.currentTarget.form!)}>
              {t('groups.preview')}
            </button>
          ) : null}
          <button type="submit" className="primary">
            {t('groups.create')}
          </button>
        </form>
      ) : null}
      {message ? <p role="status">{message}</p> : null}
      {preview ? (
        <section aria-labelledby="preview-members" aria-live="polite">
          <h2 id="preview-members">{t('groups.matches', { count: preview.count })}</h2>
          <ul>
            {preview.members.map((m) => (
              <li key={m.id}>
                {m.serial} — {m.manufacturer} {m.model} {m.groupTag ? `(${m.groupTag})` : ''}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </>
  );
}

/** One group: its members and what is assigned to it; static members out, the group deleted. */
function GroupPanel({ name, admin, onChanged, onDeleted }: { name: string; admin: boolean; onChanged: () => void; onDeleted: () => void }) {
  const { t } = useTranslation();
  const group = useApi<z.output<typeof GroupViewSchema>>(pathOf(adminApi.groups.get, { name }));
  const [message, setMessage] = useState<string | null>(null);
  if (group.error) return <p role="alert">{describeError(group.error)}</p>;
  const g = group.data;
  if (!g) return <p aria-busy="true">{t('loading')}</p>;
  const assigned = [...g.profiles.map((p) => `${t('groups.profile')} ${p.name}`), ...g.policies.map((p) => `${t('groups.policy')} ${p.name}`), ...g.items.map((i) => `${t(`groups.item.${i.kind}`)} ${i.name}`)];

  const removeMember = async (deviceId: string, serial: string) => {
    try {
      await call(adminApi.groups.removeMember, { params: { name, deviceId } });
      setMessage(t('groups.memberRemoved', { serial, name }));
      group.reload();
      onChanged();
    } catch (e) {
      setMessage(describeError(e));
    }
  };
  const remove = async () => {
    if (!confirm(t('groups.confirmDelete', { name }))) return;
    try {
      await call(adminApi.groups.delete, { params: { name } });
      onDeleted();
    } catch (e) {
      setMessage(describeError(e));
    }
  };

  return (
    <section className="card" aria-labelledby="group-panel">
      <h2 id="group-panel">{t('groups.panel', { name })}</h2>
      {g.description ? <p>{g.description}</p> : null}
      <h3>{t('groups.assigned')}</h3>
      <p>{assigned.length ? assigned.join(', ') : t('groups.nothingAssigned')}</p>
      <h3>{t('groups.memberList', { count: g.memberCount })}</h3>
      <ul>
        {g.members.map((m) => (
          <li key={m.id}>
            <Link to={`/admin/devices/${m.id}`}>{m.serial}</Link> <span className="muted">{m.manufacturer}</span>{' '}
            {admin && g.kind === 'static' ? (
              <button type="button" onClick={() => void removeMember(m.id, m.serial)}>
                {t('groups.removeMember', { serial: m.serial })}
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {g.kind === 'static' ? <p className="help">{t('groups.addHelp')}</p> : null}
      {admin ? (
        <button type="button" className="danger" onClick={() => void remove()} disabled={assigned.length > 0} aria-describedby={assigned.length ? 'group-delete-why' : undefined}>
          {t('groups.delete', { name })}
        </button>
      ) : null}
      {admin && assigned.length ? (
        <p id="group-delete-why" className="help">
          {t('groups.deleteBlocked')}
        </p>
      ) : null}
      {message ? <p role="status">{message}</p> : null}
    </section>
  );
}

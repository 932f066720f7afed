// Device setup documents, one kind per tab — policies, certificates, network connections, apps and
// scripts: each one's version and groups (assign, take off), an editor for its body as YAML (the
// service validates it and answers with the field at fault), delete. Apps and scripts carry
// uploaded content: the content section uploads a file with a progress bar and starts an app or a
// script from it. Secret fields (a Wi-Fi key, a directory bind's password) are never shown: left out
// of a save, they are kept.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

import type { CollectionKind } from '../../../../protocol/api/admin.js';
import { documents } from '../../../../protocol/api/endpoints.js';

import { ApiError, call, describeError, pathOf, type Session } from '../api.js';
import { Link } from '../router.js';
import { TableHead } from '../table-head.js';
import { useApi } from '../use-api.js';
import { Assignments } from './Assignments.js';
import { ContentSection } from './ContentSection.js';

export const SETUP_TABS = ['policies', 'certificates', 'networks', 'apps', 'scripts'] as const;
export type SetupTab = (typeof SETUP_TABS)[number];

const KIND_OF: Record<Exclude<SetupTab, 'policies'>, CollectionKind> = { certificates: 'certificate', networks: 'network', apps: 'app', scripts: 'script' };

/** A new document's starting point, valid as it is except for what only the admin knows. */
const TEMPLATES: Record<SetupTab, unknown> = {
  policies: { kind: 'password', minLength: 12, maxAgeDays: 0 },
  certificates: { type: 'device-client', purpose: 'network' },
  networks: { type: 'wifi', ssid: 'Office', security: 'wpa2-psk', psk: '' },
  apps: { package: 'example', version: '1.0', installer: 'deb', content: { sha256: '', size: 0 } },
  scripts: { interpreter: 'sh', content: { sha256: '', size: 0 } },
};

interface Doc {
  name: string;
  version: number;
  assignments: { group: string; assignedAt: string }[];
  /** Policies carry `settings`, items `body`; both `secrets` (a directory bind's password, a Wi-Fi key). */
  settings?: unknown;
  body?: unknown;
  secrets?: Record<string, { set: true; fingerprint: string }>;
  updatedAt: string;
}

type Finding = { path: string; message: string };

function endpointsOf(tab: SetupTab) {
  return tab === 'policies' ? documents.policies : documents.items[KIND_OF[tab]];
}

export function ItemsPage({ tab, session }: { tab: SetupTab; session: Session }) {
  const { t } = useTranslation();
  const endpoints = endpointsOf(tab);
  const list = useApi<{ items: Doc[] }>(pathOf(endpoints.list));
  const [editing, setEditing] = useState<{ name: string; isNew: boolean } | null>(null);
  const [text, setText] = useState('');
  const [findings, setFindings] = useState<Finding[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const admin = session.token.scope === 'admin';

  const open = (name: string, body: unknown, isNew: boolean) => {
    setEditing({ name, isNew });
    setText(toYaml(body));
    setFindings([]);
    setMessage(null);
  };
  const save = async () => {
    if (!editing) return;
    setFindings([]);
    setMessage(null);
    let body: unknown;
    try {
      body = parseYaml(text, { maxAliasCount: 100 });
    } catch (e) {
      setFindings([{ path: 'YAML', message: (e as Error).message.split('\n')[0]! }]);
      return;
    }
    try {
      const saved = (await call(endpoints.put, { params: { name: editing.name }, body: body ?? {} })) as Doc;
      setMessage(t('items.saved', { name: saved.name, version: saved.version }));
      setEditing({ name: saved.name, isNew: false });
      list.reload();
    } catch (e) {
      if (e instanceof ApiError && e.errors.length) setFindings(e.errors.map((x) => ({ path: (x.path ?? '').replace(/^body\.?/, ''), message: x.reason })));
      setMessage(describeError(e));
    }
  };
  const remove = async (name: string) => {
    if (!confirm(t('items.confirmDelete', { name }))) return;
    try {
      await call(endpoints.delete, { params: { name } });
      setMessage(t('items.deleted', { name }));
      if (editing?.name === name) setEditing(null);
      list.reload();
    } catch (e) {
      setMessage(describeError(e));
    }
  };

  return (
    <>
      <h1>{t('items.title')}</h1>
      <nav aria-label={t('items.kinds')}>
        <ul className="tabs">
          {SETUP_TABS.map((k) => (
            <li key={k}>
              <Link to={`/admin/setup/${k}`} aria-current={k === tab ? 'page' : undefined}>
                {t(`items.tab.${k}`)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {list.error ? <p role="alert">{describeError(list.error)}</p> : null}
      <table>
        <TableHead columns={[t('items.name'), t('items.version'), t('items.summary'), t('items.groups')]} actions={t('items.actions')} />
        <tbody>
          {(list.data?.items ?? []).map((d) => (
            <tr key={d.name}>
              <td>{d.name}</td>
              <td>{d.version}</td>
              <td className="mono">{summarize(d.settings ?? d.body)}</td>
              <td>
                <Assignments endpoints={endpoints} name={d.name} assignments={d.assignments} canChange={admin} onChanged={list.reload} />
              </td>
              <td className="row-actions">
                <button type="button" onClick={() => open(d.name, d.settings ?? d.body, false)}>
                  {admin ? t('items.edit', { name: d.name }) : t('items.view', { name: d.name })}
                </button>
                {admin ? (
                  <button type="button" className="danger" onClick={() => void remove(d.name)}>
                    {t('items.delete', { name: d.name })}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
          {list.data && list.data.items.length === 0 ? (
            <tr>
              <td colSpan={5} className="muted">
                {t('items.none')}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {admin ? (
        <button type="button" onClick={() => open('', TEMPLATES[tab], true)}>
          {t(`items.new.${tab}`)}
        </button>
      ) : null}
      {message && !editing ? <p role="status">{message}</p> : null}
      {editing ? (
        <section className="editor" aria-labelledby="item-editor">
          <h2 id="item-editor">{editing.isNew ? t(`items.new.${tab}`) : editing.name}</h2>
          {admin && editing.isNew ? (
            <label>
              {t('items.name')}
              <input value={editing.name} onChange={(e) => setEditing({ ...editing, name: e.target.value })} pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" required />
            </label>
          ) : null}
          <Secrets doc={list.data?.items.find((d) => d.name === editing.name)} />
          <label className="yaml">
            {t('items.yaml')}
            <textarea value={text} onChange={(e) => setText(e.target.value)} rows={18} spellCheck={false} readOnly={!admin} aria-describedby="item-findings" />
          </label>
          <div id="item-findings" aria-live="polite">
            {findings.length ? (
              <ul className="lint">
                {findings.map((f, i) => (
                  <li key={i} className="error">
                    <code>{f.path || '/'}</code>: {f.message}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
          {admin ? (
            <span className="actions">
              <button type="button" className="primary" disabled={!editing.name} onClick={() => void save()}>
                {t('items.save')}
              </button>
              <button type="button" onClick={() => setEditing(null)}>
                {t('items.close')}
              </button>
            </span>
          ) : null}
          {message ? <p role="status">{message}</p> : null}
        </section>
      ) : null}
      {tab === 'apps' || tab === 'scripts' ? (
        <ContentSection
          canChange={admin}
          onUse={(ref) => {
            const template = TEMPLATES[tab] as Record<string, unknown>;
            open('', { ...template, content: ref }, true);
          }}
          useLabel={t(`items.new.${tab}`)}
        />
      ) : null}
    </>
  );
}

/** The secret fields a saved item has: that they are set and their fingerprint, never the value. */
function Secrets({ doc }: { doc: Doc | undefined }) {
  const { t } = useTranslation();
  const secrets = Object.entries(doc?.secrets ?? {});
  if (secrets.length === 0) return null;
  return (
    <p className="help">
      {t('items.secrets')}{' '}
      {secrets.map(([field, state]) => (
        <span key={field}>
          <code>{field}</code> ({state.fingerprint}){' '}
        </span>
      ))}
    </p>
  );
}

/** One line about a document's body: its first few fields. */
function summarize(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const parts = Object.entries(body as Record<string, unknown>)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .slice(0, 3)
    .map(([k, v]) => `${k}: ${String(v)}`);
  const text = parts.join(', ') || Object.keys(body).slice(0, 3).join(', ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

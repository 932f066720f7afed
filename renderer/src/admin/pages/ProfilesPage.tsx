// Deployment profiles: each one's version and groups (assigned and taken off here), and an editor —
// a form for the settings changed most and the profile as YAML, two views of one document, checked
// as it is typed (YAML syntax here; the schema and the lint by the service, which shows errors and
// warnings inline with the path they are about), saved when the service accepts it.
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

import type { ProfileListSchema } from '../../../../protocol/api/admin.js';
import type { z } from 'zod';

import { StateBadge } from '../../design/components.js';
import { documents } from '../../../../protocol/api/endpoints.js';

import { ApiError, call, pathOf, type Session } from '../api.js';
import { useApi } from '../use-api.js';
import { Assignments } from './Assignments.js';
import { ProfileForm } from './ProfileForm.js';

type Finding = { severity: 'error' | 'warning'; path: string; message: string; code: string };

const NEW = { description: 'New profile', esp: { timeoutMinutes: 60 }, endState: { type: 'sign-in' } };

/** The problems of a YAML text: its syntax, then the service's validation and lint. */
async function check(text: string): Promise<{ findings: Finding[]; body: unknown }> {
  let body: unknown;
  try {
    body = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    return { findings: [{ severity: 'error', path: 'YAML', code: 'YAML_INVALID', message: (e as Error).message.split('\n')[0]! }], body: undefined };
  }
  try {
    const result = await call(documents.profiles.lint, { body: body ?? {} });
    return { findings: result.findings, body };
  } catch (e) {
    if (e instanceof ApiError && e.errors.length) return { findings: e.errors.map((x) => ({ severity: 'error', path: (x.path ?? '').replace(/^body\.?/, ''), code: e.code, message: x.reason })), body };
    throw e;
  }
}

export function ProfilesPage({ session }: { session: Session }) {
  const { t } = useTranslation();
  const profiles = useApi<z.output<typeof ProfileListSchema>>(pathOf(documents.profiles.list));
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const [findings, setFindings] = useState<Finding[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const admin = session.token.scope === 'admin';
  // The form's view of the YAML (undefined while the YAML does not parse to an object).
  const document = useMemo(() => {
    try {
      const parsed: unknown = parseYaml(text, { maxAliasCount: 100 });
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }, [text]);

  useEffect(() => {
    if (!text) return;
    const timer = setTimeout(() => {
      check(text).then(
        (result) => setFindings(result.findings),
        (e: Error) => setMessage(e.message),
      );
    }, 400);
    return () => clearTimeout(timer);
  }, [text]);

  const open = (profileName: string, body: unknown) => {
    setName(profileName);
    setText(toYaml(body));
    setMessage(null);
  };
  const save = async () => {
    setMessage(null);
    const { findings: found, body } = await check(text);
    setFindings(found);
    if (found.some((f) => f.severity === 'error')) return;
    try {
      const saved = await call(documents.profiles.put, { params: { name }, body });
      setFindings(saved.lint);
      setMessage(t('profiles.saved', { name, version: saved.version }));
      profiles.reload();
    } catch (e) {
      if (e instanceof ApiError && e.errors.length) setFindings(e.errors.map((x) => ({ severity: 'error', path: x.path ?? '', code: e.code, message: x.reason })));
      setMessage(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };

  return (
    <>
      <h1>{t('profiles.title')}</h1>
      <table>
        <thead>
          <tr>
            <th scope="col">{t('profiles.name')}</th>
            <th scope="col">{t('profiles.version')}</th>
            <th scope="col">{t('profiles.groups')}</th>
            <th scope="col">
              <span className="visually-hidden">{t('profiles.actions')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(profiles.data?.items ?? []).map((p) => (
            <tr key={p.name}>
              <td>{p.name}</td>
              <td>{p.version}</td>
              <td>
                <Assignments endpoints={documents.profiles} name={p.name} assignments={p.assignments} canChange={admin} onChanged={profiles.reload} />
              </td>
              <td>
                <button type="button" onClick={() => open(p.name, p.profile)}>
                  {admin ? t('profiles.edit', { name: p.name }) : t('profiles.view', { name: p.name })}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {admin ? (
        <button type="button" onClick={() => open('', NEW)}>
          {t('profiles.new')}
        </button>
      ) : null}
      {text ? (
        <section className="editor" aria-labelledby="editor-title">
          <h2 id="editor-title">{name ? t('profiles.editing', { name }) : t('profiles.new')}</h2>
          {admin ? (
            <label>
              {t('profiles.name')}
              <input value={name} onChange={(e) => setName(e.target.value)} pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" required />
            </label>
          ) : null}
          <ProfileForm document={document} readOnly={!admin} onChange={(next) => setText(toYaml(next))} />
          <label className="yaml">
            {t('profiles.yaml')}
            <textarea value={text} onChange={(e) => setText(e.target.value)} rows={24} spellCheck={false} readOnly={!admin} aria-describedby="lint-findings" />
          </label>
          <div id="lint-findings" aria-live="polite">
            {findings.length === 0 ? (
              <p>
                <StateBadge state="succeeded">{t('profiles.clean')}</StateBadge>
              </p>
            ) : (
              <ul className="lint">
                {findings.map((f, i) => (
                  <li key={i}>
                    <StateBadge state={f.severity === 'error' ? 'failed' : 'skipped'}>
                      {t(`profiles.${f.severity}`)} <code>{f.path || '/'}</code>: {f.message} <span className="muted">({f.code})</span>
                    </StateBadge>
                  </li>
                ))}
              </ul>
            )}
          </div>
          {admin ? (
            <button type="button" className="primary" disabled={!name} onClick={() => void save()}>
              {t('profiles.save')}
            </button>
          ) : null}
          {message ? <p role="status">{message}</p> : null}
        </section>
      ) : null}
    </>
  );
}

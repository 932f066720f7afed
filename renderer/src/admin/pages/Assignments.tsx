// Which groups a document (profile, policy, item) is assigned to, and — for admins — assigning it
// to another group or taking it off one. The service lints an assignment over every device it
// reaches; a refusal shows its findings, an accepted one its warnings.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

import type { GroupListSchema } from '../../../../protocol/api/admin.js';
import type { DocumentEndpoints } from '../../../../protocol/api/endpoints/documents.js';
import type { z } from 'zod';

import { StateBadge } from '../../design/components.js';
import { admin as adminApi } from '../../../../protocol/api/endpoints.js';

import { call, describeError, pathOf } from '../api.js';
import { useApi } from '../use-api.js';

type Lint = { severity: 'error' | 'warning'; path: string; message: string; code: string };

export function Assignments({
  endpoints,
  name,
  assignments,
  canChange,
  onChanged,
}: {
  endpoints: Pick<DocumentEndpoints<z.ZodType>, 'assign' | 'unassign'>;
  name: string;
  assignments: readonly { group: string }[];
  canChange: boolean;
  onChanged: () => void;
}) {
  const { t } = useTranslation();
  const groups = useApi<z.output<typeof GroupListSchema>>(canChange ? pathOf(adminApi.groups.list) : null);
  const [group, setGroup] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [lint, setLint] = useState<Lint[]>([]);
  const assigned = new Set(assignments.map((a) => a.group));
  const choices = (groups.data?.items ?? []).filter((g) => !assigned.has(g.name));

  const assign = async () => {
    setMessage(null);
    setLint([]);
    try {
      const result = await call(endpoints.assign, { params: { name }, body: { group } });
      setLint(result.lint);
      setMessage(t('assign.assigned', { name, group }));
      setGroup('');
      onChanged();
    } catch (e) {
      setMessage(describeError(e));
    }
  };
  const unassign = async (from: string) => {
    setMessage(null);
    setLint([]);
    try {
      await call(endpoints.unassign, { params: { name, group: from } });
      setMessage(t('assign.unassigned', { name, group: from }));
      onChanged();
    } catch (e) {
      setMessage(describeError(e));
    }
  };

  return (
    <div className="assignments">
      <ul className="chips" aria-label={t('assign.groupsOf', { name })}>
        {assignments.length === 0 ? <li className="muted">{t('assign.none')}</li> : null}
        {assignments.map((a) => (
          <li key={a.group}>
            {a.group}
            {canChange ? (
              <button type="button" className="chip-remove" aria-label={t('assign.remove', { name, group: a.group })} onClick={() => void unassign(a.group)}>
                ✕
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {canChange ? (
        <span className="assign">
          <label>
            <span className="visually-hidden">{t('assign.to', { name })}</span>
            <select value={group} onChange={(e) => setGroup(e.target.value)} aria-label={t('assign.to', { name })}>
              <option value="">{t('assign.choose')}</option>
              {choices.map((g) => (
                <option key={g.name} value={g.name}>
                  {g.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={!group} onClick={() => void assign()}>
            {t('assign.assign')}
          </button>
        </span>
      ) : null}
      {message ? <p role="status">{message}</p> : null}
      {lint.length ? (
        <ul className="lint">
          {lint.map((f, i) => (
            <li key={i}>
              <StateBadge state={f.severity === 'error' ? 'failed' : 'skipped'}>
                {f.message} <span className="muted">({f.code})</span>
              </StateBadge>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

// One device: its registration, state (and why it failed, with the remedy), groups and the profile
// that applies, its live ESP while it deploys (pushed by the service), its deployment history and
// its log bundles; admins edit its group tag and assigned user, technicians delete its record and
// ask for its logs at its next check-in.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import type { DeviceAssignmentsSchema, DeviceCertificateListSchema, DeviceViewSchema, DiagnosticsListSchema, DeviceFailure, EspProgressSchema } from '../../../../protocol/api/admin.js';
import type { DeploymentListSchema } from '../../../../protocol/api/fleet.js';
import { catalogueEntry, isErrorCode } from '../../../../protocol/errors/catalogue.js';
import type { EspSnapshot } from '../../../../protocol/esp.js';
import type { z } from 'zod';

import { ProgressBar, StateBadge } from '../../design/components.js';
import { admin as adminApi } from '../../../../protocol/api/endpoints.js';
import { ApiError, call, describeError, field, pathOf, type Session } from '../api.js';
import { navigate } from '../router.js';
import { useApi, useEvents } from '../use-api.js';
import { AttestationSection } from './AttestationSection.js';
import { duration } from './OverviewPage.js';

type DeviceView = z.output<typeof DeviceViewSchema>;
interface LiveEsp {
  state: string;
  progress: z.output<typeof EspProgressSchema> | null;
  failure: DeviceFailure | null;
  snapshot: EspSnapshot | null;
}

export function FailureBox({ failure }: { failure: DeviceFailure }) {
  const { t } = useTranslation();
  const remedy = isErrorCode(failure.code) ? catalogueEntry(failure.code).remedy : null;
  return (
    <section className="failure" aria-labelledby="failure-title">
      <h2 id="failure-title">
        <StateBadge state="failed">{t('device.failedWith', { code: failure.code })}</StateBadge>
        {failure.hresult ? <span className="muted"> {failure.hresult}</span> : null}
      </h2>
      <p>{failure.title}</p>
      {failure.detail ? <p className="mono">{failure.detail}</p> : null}
      <p className="muted">{[failure.phase && t(`phase.${failure.phase}`), failure.step, failure.item].filter(Boolean).join(' / ')} · {failure.at}</p>
      {remedy ? (
        <p>
          <strong>{t('device.remedy')}</strong> {remedy}
        </p>
      ) : null}
    </section>
  );
}

function LiveEspView({ id }: { id: string }) {
  const { t } = useTranslation();
  const { data, connected } = useEvents<LiveEsp>(pathOf(adminApi.console.deviceEvents, { id }), 'esp');
  if (!data) return <p aria-busy="true">{t('loading')}</p>;
  return (
    <section aria-labelledby="live-title" aria-live="polite">
      <h2 id="live-title">
        {t('device.live')} <span className="muted">{connected ? t('device.liveOn') : t('device.liveOff')}</span>
      </h2>
      {data.progress ? (
        <p className="live-progress">
          <StateBadge state={data.state}>{t(`deviceState.${data.state}`)}</StateBadge> {data.progress.step ?? ''}
          {data.progress.item ? ` — ${data.progress.item}` : ''} <ProgressBar value={data.progress.completed} max={data.progress.total} label={t('device.progress')} /> {data.progress.completed}/{data.progress.total}
        </p>
      ) : (
        <p>{t('device.noProgress')}</p>
      )}
      {data.snapshot ? (
        <ol className="phases">
          {data.snapshot.phases
            .filter((p) => p.id !== 'completion')
            .map((p) => (
              <li key={p.id}>
                <StateBadge state={p.state}>
                  {t(`phase.${p.id}`)}: {t(`espState.${p.state}`)}
                </StateBadge>
              </li>
            ))}
        </ol>
      ) : null}
    </section>
  );
}

function EditForm({ device, onSaved }: { device: DeviceView; onSaved: () => void }) {
  const { t } = useTranslation();
  const [message, setMessage] = useState<string | null>(null);
  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const value = (name: string) => field(data, name) || null;
    try {
      await call(adminApi.devices.update, { params: { id: device.id }, body: { groupTag: value('groupTag'), assignedUser: value('assignedUser') } });
      setMessage(t('device.saved'));
      onSaved();
    } catch (e) {
      setMessage(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };
  return (
    <form className="edit" onSubmit={(e) => void save(e)} aria-labelledby="edit-title">
      <h2 id="edit-title">{t('device.edit')}</h2>
      <label>
        {t('devices.groupTag')}
        <input name="groupTag" defaultValue={device.groupTag ?? ''} />
      </label>
      <label>
        {t('devices.assignedUser')}
        <input name="assignedUser" type="text" autoComplete="off" spellCheck={false} defaultValue={device.assignedUser ?? ''} />
      </label>
      <button type="submit" className="primary">
        {t('device.save')}
      </button>
      {message ? <p role="status">{message}</p> : null}
    </form>
  );
}

export function DevicePage({ id, session }: { id: string; session: Session }) {
  const { t } = useTranslation();
  const device = useApi<DeviceView>(pathOf(adminApi.devices.get, { id }));
  const history = useApi<z.output<typeof DeploymentListSchema>>(pathOf(adminApi.devices.deployments, { id }, { limit: 20 }));
  const diagnostics = useApi<z.output<typeof DiagnosticsListSchema>>(pathOf(adminApi.devices.diagnostics, { id }));
  const assignments = useApi<z.output<typeof DeviceAssignmentsSchema>>(pathOf(adminApi.devices.assignments, { id }));
  const certificates = useApi<z.output<typeof DeviceCertificateListSchema>>(pathOf(adminApi.devices.certificates, { id }));
  const [message, setMessage] = useState<string | null>(null);
  if (device.error) return <p role="alert">{device.error.message}</p>;
  const d = device.data;
  if (!d) return <p aria-busy="true">{t('loading')}</p>;
  const admin = session.token.scope === 'admin';
  const technician = admin || session.token.scope === 'technician';
  const deleteRegistration = async () => {
    if (!window.confirm(t('device.confirmDelete', { serial: d.serial }))) return;
    try {
      await call(adminApi.devices.delete, { params: { id } });
      navigate('/admin/devices');
    } catch (e) {
      setMessage(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };
  const deleteRecord = async () => {
    if (!window.confirm(t('device.confirmDeleteRecord', { serial: d.serial }))) return;
    try {
      await call(adminApi.devices.deleteRecord, { params: { id } });
      setMessage(t('device.recordDeleted'));
      device.reload();
    } catch (e) {
      setMessage(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };
  const collectLogs = async () => {
    try {
      await call(adminApi.devices.collectLogs, { params: { id } });
      setMessage(t('device.logsAsked'));
      device.reload();
    } catch (e) {
      setMessage(describeError(e));
    }
  };
  return (
    <>
      <h1>
        {d.serial} <span className="muted">{d.manufacturer} {d.model}</span>
      </h1>
      <p>
        <StateBadge state={d.state}>{t(`deviceState.${d.state}`)}</StateBadge>
        {d.deviceName ? ` · ${d.deviceName}` : ''}
      </p>
      {d.failure ? <FailureBox failure={d.failure} /> : null}
      {message ? <p role="status">{message}</p> : null}
      <section aria-labelledby="registration">
        <h2 id="registration">{t('device.registration')}</h2>
        <dl className="facts">
          <div>
            <dt>{t('devices.groupTag')}</dt>
            <dd>{d.groupTag ?? '–'}</dd>
          </div>
          <div>
            <dt>{t('devices.assignedUser')}</dt>
            <dd>{d.assignedUser ?? '–'}</dd>
          </div>
          <div>
            <dt>{t('device.groups')}</dt>
            <dd>{d.groups.map((g) => g.name).join(', ') || '–'}</dd>
          </div>
          <div>
            <dt>{t('device.profile')}</dt>
            <dd>{d.profile ? t('device.profileVia', { profile: d.profile.profile, group: d.profile.group }) : t('device.noProfile')}</dd>
          </div>
          <div>
            <dt>{t('device.ek')}</dt>
            <dd className="mono">{d.ekDigest ?? '–'}</dd>
          </div>
          <div>
            <dt>{t('device.certificates')}</dt>
            <dd>{d.certificatesIssued}</dd>
          </div>
          <div>
            <dt>{t('device.lastContact')}</dt>
            <dd>{d.lastContactAt ? new Date(d.lastContactAt).toLocaleString() : t('device.neverContacted')}</dd>
          </div>
          <div>
            <dt>{t('device.hash')}</dt>
            <dd>
              <textarea readOnly rows={2} value={d.hardwareHash} aria-label={t('device.hash')} />
            </dd>
          </div>
        </dl>
      </section>
      {admin ? <EditForm device={d} onSaved={device.reload} /> : null}
      <div className="actions">
        {technician && d.state !== 'registered' ? (
          <button type="button" className="danger" onClick={() => void deleteRecord()}>
            {t('device.deleteRecord')}
          </button>
        ) : null}
        {admin ? (
          <button type="button" className="danger" onClick={() => void deleteRegistration()}>
            {t('device.delete')}
          </button>
        ) : null}
      </div>
      <AttestationSection id={id} />
      <section aria-labelledby="receives-title">
        <h2 id="receives-title">{t('device.receives')}</h2>
        {assignments.data ? (
          <>
            <p>{assignments.data.profile ? t('device.profileVia', { profile: `${assignments.data.profile.name} v${assignments.data.profile.version}`, group: assignments.data.profile.group }) : t('device.noProfile')}</p>
            {assignments.data.items.length ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('device.itemKind')}</th>
                    <th scope="col">{t('device.itemName')}</th>
                    <th scope="col">{t('device.itemVersion')}</th>
                    <th scope="col">{t('device.itemBlocking')}</th>
                  </tr>
                </thead>
                <tbody>
                  {assignments.data.items.map((i) => (
                    <tr key={i.id}>
                      <td>{i.kind}</td>
                      <td>{i.name}</td>
                      <td>{i.version}</td>
                      <td>{i.blocking ? t('device.yes') : t('device.no')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </>
        ) : null}
      </section>
      <LiveEspView id={id} />
      <section aria-labelledby="history-title">
        <h2 id="history-title">{t('device.history')}</h2>
        {history.data?.items.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('device.started')}</th>
                <th scope="col">{t('device.outcome')}</th>
                <th scope="col">{t('device.duration')}</th>
                <th scope="col">{t('device.failure')}</th>
              </tr>
            </thead>
            <tbody>
              {history.data.items.map((r) => (
                <tr key={r.id}>
                  <td>{r.startedAt}</td>
                  <td>
                    <StateBadge state={r.outcome}>{t(`outcome.${r.outcome}`)}</StateBadge>
                  </td>
                  <td>{duration(r.durationMs)}</td>
                  <td>{r.failure ? `${r.failure.code}${r.failure.step ? ` (${r.failure.step})` : ''}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>{t('device.noHistory')}</p>
        )}
      </section>
      <section aria-labelledby="certificates-title">
        <h2 id="certificates-title">{t('device.issued')}</h2>
        {certificates.data?.items.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('device.certSerial')}</th>
                <th scope="col">{t('device.certValid')}</th>
                <th scope="col">{t('device.certRevoked')}</th>
              </tr>
            </thead>
            <tbody>
              {certificates.data.items.map((c) => (
                <tr key={c.serialNumber}>
                  <td className="mono">{c.serialNumber}</td>
                  <td>
                    {c.notBefore} – {c.notAfter}
                  </td>
                  <td>{c.revokedAt ?? '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>{t('device.noCertificates')}</p>
        )}
      </section>
      <section aria-labelledby="logs-title">
        <h2 id="logs-title">{t('device.logs')}</h2>
        {d.logsRequestedAt ? (
          <p>
            <StateBadge state="running">{t('device.logsPending', { at: new Date(d.logsRequestedAt).toLocaleString() })}</StateBadge>
          </p>
        ) : null}
        {technician && d.joinedAt ? (
          <button type="button" onClick={() => void collectLogs()}>
            {t('device.collectLogs')}
          </button>
        ) : null}
        {diagnostics.data?.items.length ? (
          <ul>
            {diagnostics.data.items.map((b) => (
              <li key={b.id}>
                <a href={pathOf(adminApi.devices.diagnosticsBundle, { id, diagnosticsId: b.id })} download>
                  {b.createdAt} ({Math.ceil(b.size / 1024)} KiB)
                </a>
              </li>
            ))}
          </ul>
        ) : (
          <p>{t('device.noLogs')}</p>
        )}
      </section>
    </>
  );
}

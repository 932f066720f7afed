// The diagnostics panel (Ctrl+Shift+D): what a technician needs without a shell — the device and
// its identity, the TPM, network and service, each step's timing, the agent's log tail — and the
// logs, to a folder (a USB stick) or uploaded. A modal dialog: focus moves in, Escape closes.
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

import { elapsedMs, type EspSnapshot } from '../../../protocol/esp.js';
import type { Diagnostics } from '../../../protocol/ipc.js';
import type { HostConnection } from '../host.js';

/** The locale key of each check's title. */
const CHECK_TITLES = { tpm: 'checkTpm', usable: 'checkUsable', 'ek-certificate': 'checkEk', trusted: 'checkTrusted', clock: 'checkClock' } as const;

export function DiagnosticsPanel({ host, snapshot, onClose }: { host: HostConnection; snapshot: EspSnapshot; onClose: () => void }) {
  const { t } = useTranslation();
  const [facts, setFacts] = useState<Diagnostics | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [folder, setFolder] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
    host.call('diagnostics', {}).then(setFacts, (error: Error) => setNotice(error.message));
  }, [host]);
  const now = new Date().toISOString();
  const steps = snapshot.phases.flatMap((p) => p.steps).filter((s) => s.startedAt);
  const rows: [string, string][] = [
    [t('diagnostics.serial'), snapshot.device.serial ?? '—'],
    [t('diagnostics.model'), [snapshot.device.manufacturer, snapshot.device.model].filter(Boolean).join(' ') || '—'],
    [t('diagnostics.deviceId'), snapshot.device.deviceId ?? '—'],
    [t('diagnostics.deviceName'), snapshot.device.deviceName ?? '—'],
    [t('diagnostics.network'), snapshot.network.medium ? `${snapshot.network.medium} (${snapshot.network.interface ?? '?'})` : '—'],
    [t('diagnostics.service'), facts?.service ?? '—'],
    [t('diagnostics.profile'), snapshot.profileName ?? '—'],
    [t('diagnostics.tpm'), facts ? [facts.tpm.manufacturer, facts.tpm.tcti].filter(Boolean).join(', ') || '—' : '—'],
    [t('diagnostics.agent'), facts?.agentVersion ?? '—'],
  ];
  return (
    <div
      className="dialog"
      role="dialog"
      aria-modal="true"
      aria-labelledby="diagnostics-title"
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose();
      }}
    >
      <h2 id="diagnostics-title" tabIndex={-1} ref={heading}>
        {t('diagnostics.title')}
      </h2>
      <dl className="facts">
        {rows.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {facts?.tpmCheck ? (
        <section aria-labelledby="tpm-check-title">
          <h3 id="tpm-check-title">{t('diagnostics.tpmCheck')}</h3>
          <ul className="checks">
            {facts.tpmCheck.map((line) => (
              <li key={line.check} data-testid={`tpm-check-${line.check}`} data-status={line.status}>
                <strong>{t(`diagnostics.${line.status}`)}</strong> {t(`diagnostics.${CHECK_TITLES[line.check]}`)}: {line.message}
                {line.code ? <code> {line.code}</code> : null}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <table className="timings">
        <caption>{t('diagnostics.timings')}</caption>
        <tbody>
          {steps.map((step) => (
            <tr key={step.id}>
              <th scope="row">{t(`step.${step.id}`)}</th>
              <td>{t(`state.${step.state}`)}</td>
              <td>{(elapsedMs(step, now) / 1000).toFixed(1)} s</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{t('diagnostics.log')}</h3>
      <pre className="log" data-testid="log-tail" tabIndex={0}>
        {facts?.logTail.join('\n') ?? ''}
      </pre>
      <form
        className="export"
        onSubmit={(event) => {
          event.preventDefault();
          host.call('exportLogs', { folder }).then(
            (result) => setNotice(t('diagnostics.exported', { path: result.path })),
            (error: Error) => setNotice(error.message),
          );
        }}
      >
        <label>
          {t('diagnostics.folder')} <input value={folder} onChange={(event) => setFolder(event.target.value)} placeholder="/media/usb" />
        </label>
        <button type="submit">{t('diagnostics.export')}</button>
        {snapshot.rules?.allowLogCollection ? (
          <button
            type="button"
            onClick={() => {
              host.call('collectLogs', {}).then(
                (logs) => setNotice(logs.uploaded ? t('error.logsUploaded', { path: logs.path }) : t('error.logsCollected', { path: logs.path })),
                (error: Error) => setNotice(error.message),
              );
            }}
          >
            {t('diagnostics.upload')}
          </button>
        ) : null}
      </form>
      {notice ? <p role="status">{notice}</p> : null}
      <button type="button" onClick={onClose}>
        {t('diagnostics.close')}
      </button>
    </div>
  );
}

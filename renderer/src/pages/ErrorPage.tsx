// The ESP's error page: the code (and the Autopilot HRESULT), what happened, what to do, the
// profile's own message, and only the buttons the profile and the moment allow. An unregistered
// device shows its hardware hash for the technician to register.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

import type { EspFailure, EspSnapshot } from '../../../protocol/esp.js';
import type { HostConnection } from '../host.js';
import { qrSvg } from '../qr.js';

export function ErrorPage({ host, snapshot, decision }: { host: HostConnection; snapshot: EspSnapshot; decision: EspFailure | null }) {
  const { t } = useTranslation();
  const [notice, setNotice] = useState<string | null>(null);
  const failure = decision ?? snapshot.failure;
  const rules = snapshot.rules;
  if (!failure) return null;
  const act = (action: () => Promise<string | null>) => () => {
    action().then(setNotice, (error: Error) => setNotice(error.message));
  };
  const notRegistered = failure.code === 'DEVICE_NOT_REGISTERED';
  // The catalogue's words in the page's language where translated, its English otherwise.
  const text = (field: 'title' | 'message' | 'remedy') => t(`${failure.code}.${field}`, { ns: 'failures', defaultValue: failure[field] });
  return (
    <div className="error" role="alert">
      <h1>{notRegistered ? t('error.notRegisteredHeading') : t('error.heading')}</h1>
      <p className="failure-title">{text('title')}</p>
      <p>{text('message')}</p>
      {failure.detail ? (
        // What exactly happened, as the agent recorded it (English, like the logs).
        <p className="failure-detail" lang="en" dir="ltr" data-testid="error-detail">
          {failure.detail}
        </p>
      ) : null}
      <p>
        <strong>{t('error.code')}:</strong> <code data-testid="error-code">{failure.code}</code>
        {failure.hresult ? (
          <>
            {' '}
            (<code data-testid="error-hresult">{failure.hresult}</code>)
          </>
        ) : null}
      </p>
      {notRegistered && snapshot.device.hardwareHash ? (
        <div className="hash">
          <p>{t('error.hashLabel')}</p>
          <textarea readOnly rows={4} value={snapshot.device.hardwareHash} data-testid="hardware-hash" aria-label={t('error.hashLabel')} />
          <img className="qr" alt={t('error.qrLabel')} src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(qrSvg(snapshot.device.hardwareHash))}`} data-testid="hardware-hash-qr" />
        </div>
      ) : null}
      <p className="remedy">
        <strong>{t('error.whatToDo')}:</strong> {text('remedy')}
      </p>
      {rules?.customErrorMessage ? <p className="custom-message">{rules.customErrorMessage}</p> : null}
      <div className="buttons">
        <button type="button" onClick={act(async () => (await host.call('retry', {}), null))}>
          {t('error.tryAgain')}
        </button>
        {rules?.allowReset ? (
          <button type="button" onClick={act(async () => (await host.call('reset', {}), null))}>
            {t('error.reset')}
          </button>
        ) : null}
        {decision ? (
          <button type="button" onClick={act(async () => (await host.call('decide', { continueAnyway: true }), null))}>
            {t('error.continue')}
          </button>
        ) : null}
        {rules?.allowLogCollection ? (
          <button
            type="button"
            onClick={act(async () => {
              const logs = await host.call('collectLogs', {});
              return logs.uploaded ? t('error.logsUploaded', { path: logs.path }) : t('error.logsCollected', { path: logs.path });
            })}
          >
            {t('error.collectLogs')}
          </button>
        ) : null}
      </div>
      {notice ? <p role="status">{notice}</p> : null}
    </div>
  );
}

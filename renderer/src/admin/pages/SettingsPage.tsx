// The tenant's enrollment settings (admins): binding EKs on first use, virtual TPMs, the hosts EK
// intermediates may come from, when an EK chain counts as valid, and re-provisioning of the same TPM.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

import type { TenantSettings } from '../../../../protocol/api/admin.js';

import { admin } from '../../../../protocol/api/endpoints.js';

import { ApiError, call, pathOf } from '../api.js';
import { useApi } from '../use-api.js';

export function SettingsPage() {
  const { t } = useTranslation();
  const loaded = useApi<TenantSettings>(pathOf(admin.tenant.getSettings));
  const [settings, setSettings] = useState<TenantSettings | null>(null);
  const [hosts, setHosts] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    if (!loaded.data) return;
    setSettings(loaded.data);
    setHosts(loaded.data.aiaHosts.join(', '));
  }, [loaded.data]);
  if (!settings) return <p aria-busy="true">{t('loading')}</p>;
  const flag = (key: 'bindEkOnFirstUse' | 'allowVirtualTpms' | 'reprovisionSameTpm') => (
    <label className="inline">
      <input type="checkbox" checked={settings[key]} onChange={(e) => setSettings({ ...settings, [key]: e.target.checked })} /> {t(`settings.${key}`)}
    </label>
  );
  const save = async () => {
    try {
      const saved = await call(admin.tenant.putSettings, { body: { ...settings, aiaHosts: hosts.split(',').map((h) => h.trim()).filter(Boolean) } });
      setSettings(saved);
      setMessage(t('device.saved'));
    } catch (e) {
      setMessage(e instanceof ApiError ? `${e.code}: ${e.message}${e.errors.map((x) => ` ${x.reason}`).join(';')}` : String(e));
    }
  };
  return (
    <>
      <h1>{t('settings.title')}</h1>
      <form
        className="settings"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {flag('reprovisionSameTpm')}
        {flag('bindEkOnFirstUse')}
        {flag('allowVirtualTpms')}
        <label>
          {t('settings.ekIssuerValidity')}
          <select value={settings.ekIssuerValidity} onChange={(e) => setSettings({ ...settings, ekIssuerValidity: e.target.value as TenantSettings['ekIssuerValidity'] })}>
            <option value="at-issuance">{t('settings.atIssuance')}</option>
            <option value="now">{t('settings.now')}</option>
          </select>
        </label>
        <label>
          {t('settings.aiaHosts')}
          <input value={hosts} onChange={(e) => setHosts(e.target.value)} />
        </label>
        <button type="submit" className="primary">
          {t('device.save')}
        </button>
        {message ? <p role="status">{message}</p> : null}
      </form>
    </>
  );
}

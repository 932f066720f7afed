// The OOBE network page, shown while setup waits for a network: the Wi-Fi networks in range
// (strongest first), the key for a secured one, Connect. Once a network is up the engine goes on
// by itself; on Ethernet this page never shows.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

import type { CommandResult } from '../../../protocol/ipc.js';
import type { HostConnection } from '../host.js';

type Network = CommandResult<'scanWifi'>[number];

export function NetworkPage({ host }: { host: HostConnection }) {
  const { t } = useTranslation();
  const [networks, setNetworks] = useState<Network[] | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [key, setKey] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const scan = () => {
    setNotice(null);
    host.call('scanWifi', {}).then(setNetworks, (error: Error) => {
      setNetworks([]);
      setNotice(error.message);
    });
  };
  useEffect(scan, [host]);
  const network = networks?.find((n) => n.ssid === chosen) ?? null;
  const needsKey = network !== null && network.security !== 'open';
  return (
    <div className="network">
      <h1>{t('network.heading')}</h1>
      <p>{t('network.intro')}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (!network) return;
          setBusy(true);
          setNotice(t('network.connecting', { ssid: network.ssid }));
          host.call('connectWifi', { ssid: network.ssid, psk: needsKey ? key : null }).then(
            () => setNotice(t('network.connected', { ssid: network.ssid })),
            (error: Error) => {
              setBusy(false);
              setNotice(t('network.failed', { ssid: network.ssid, reason: error.message }));
            },
          );
        }}
      >
        <fieldset>
          <legend>{t('network.list')}</legend>
          {networks === null ? <p aria-busy="true">{t('network.scanning')}</p> : null}
          {networks?.map((n) => (
            <label key={n.ssid} className="wifi">
              <input type="radio" name="ssid" value={n.ssid} checked={chosen === n.ssid} onChange={() => setChosen(n.ssid)} />
              <span className="ssid">{n.ssid}</span> <span className="security">{t(`network.security.${n.security}`)}</span> <span className="signal">{t('network.signal', { signal: n.signal })}</span>
            </label>
          ))}
        </fieldset>
        {needsKey && network.security !== 'enterprise' ? (
          <label>
            {t('network.key')} <input type="password" autoComplete="off" value={key} minLength={8} maxLength={63} onChange={(event) => setKey(event.target.value)} />
          </label>
        ) : null}
        {network?.security === 'enterprise' ? <p>{t('network.enterprise')}</p> : null}
        <div className="buttons">
          <button type="submit" disabled={!network || busy || network.security === 'enterprise' || (needsKey && key.length < 8)}>
            {t('network.connect')}
          </button>
          <button type="button" onClick={scan}>
            {t('network.rescan')}
          </button>
        </div>
      </form>
      {notice ? <p role="status">{notice}</p> : null}
    </div>
  );
}

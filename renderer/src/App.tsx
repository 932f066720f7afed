// Which page the ESP shows: connecting, the progress page, an error (with only the buttons the
// profile and the moment allow), "not registered" (with the hash), or done — and, over any of
// them, the diagnostics panel (Ctrl+Shift+D). The branding colours come from the accent with
// contrast guaranteed (contrast.ts) on the light or the dark page, as the system's scheme says.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

import { findStep } from '../../protocol/esp.js';
import { useAccentStyle } from './design/accent.js';
import { connectToHost, type HostConnection } from './host.js';
import { DiagnosticsPanel } from './pages/DiagnosticsPanel.js';
import { DonePage } from './pages/DonePage.js';
import { ErrorPage } from './pages/ErrorPage.js';
import { EspPage } from './pages/EspPage.js';
import { LanguagePicker } from './pages/LanguagePicker.js';
import { NetworkPage } from './pages/NetworkPage.js';
import { OobePages } from './pages/OobePages.js';
import { useEsp } from './state.js';

export function App() {
  const { t } = useTranslation();
  const [host, setHost] = useState<HostConnection | null>(null);
  const [connectError, setConnectError] = useState<string | null>(null);
  useEffect(() => {
    connectToHost().then(setHost, (error: Error) => setConnectError(error.message));
  }, []);
  const { snapshot, decision, oobe, error } = useEsp(host);
  const [diagnostics, setDiagnostics] = useState(false);
  useEffect(() => {
    const toggle = (event: KeyboardEvent) => {
      if (event.ctrlKey && event.shiftKey && event.key.toLowerCase() === 'd') {
        event.preventDefault();
        setDiagnostics((open) => !open);
      }
    };
    window.addEventListener('keydown', toggle);
    return () => window.removeEventListener('keydown', toggle);
  }, []);

  const accent = snapshot?.branding?.accentColor ?? '#0067b8';
  const style = useAccentStyle(accent);
  const branding = snapshot?.branding;

  let page;
  if (connectError || error) page = <p role="alert">{connectError ?? error}</p>;
  else if (!snapshot || !host) page = <p aria-busy="true">{t('loading')}</p>;
  else if (decision || snapshot.status === 'failed') page = <ErrorPage host={host} snapshot={snapshot} decision={decision} />;
  else if (snapshot.status === 'succeeded') page = <DonePage snapshot={snapshot} />;
  else if (oobe) page = <OobePages host={host} pages={oobe} />;
  else if (snapshot.network.medium === 'none' && findStep(snapshot, 'network').state === 'in-progress') page = <NetworkPage host={host} />;
  else page = <EspPage snapshot={snapshot} />;

  return (
    <div className="app" style={style}>
      <header className="banner">
        {branding?.logo ? <img className="logo" alt="" src={`data:${branding.logo.mediaType};base64,${branding.logo.data}`} /> : null}
        <span className="organization">{branding?.organizationName ?? ''}</span>
        <LanguagePicker />
      </header>
      <main>{page}</main>
      {diagnostics && host && snapshot ? <DiagnosticsPanel host={host} snapshot={snapshot} onClose={() => setDiagnostics(false)} /> : null}
    </div>
  );
}

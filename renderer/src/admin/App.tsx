// The console's frame: sign-in until there is a session, then the header (organization, who is
// signed in, language, sign-out), the navigation and the page the path names. A session that ends
// under it (idle, revoked, signed out elsewhere) brings back the sign-in page, saying why.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

import { admin } from '../../../protocol/api/endpoints.js';
import { useAccentStyle } from '../design/accent.js';
import { ApiError, call, currentSession, signOut, whenSignedOut, type Session } from './api.js';
import { CONSOLE_LANGUAGES } from './i18n.js';
import { AuditPage } from './pages/AuditPage.js';
import { BenchPage } from './pages/BenchPage.js';
import { BrandingPage } from './pages/BrandingPage.js';
import { DevicePage } from './pages/DevicePage.js';
import { DevicesPage } from './pages/DevicesPage.js';
import { GroupsPage } from './pages/GroupsPage.js';
import { ImportPage } from './pages/ImportPage.js';
import { ItemsPage, SETUP_TABS, type SetupTab } from './pages/ItemsPage.js';
import { ProfilesPage } from './pages/ProfilesPage.js';
import { SettingsPage } from './pages/SettingsPage.js';
import { TokensPage } from './pages/TokensPage.js';
import { TrustAnchorsPage } from './pages/TrustAnchorsPage.js';
import { UpdatesPage } from './pages/UpdatesPage.js';
import { OverviewPage } from './pages/OverviewPage.js';
import { SignInPage } from './pages/SignInPage.js';
import { Link, navigate, useLocation } from './router.js';

/**
 * The pages, and who sees them: technicians import; admins manage tokens and read the audit log;
 * the tenant's documents (profiles, device setup, branding, trust anchors, updates) are readable
 * by every role and changed by admins.
 */
const NAV = [
  { path: '/admin/', key: 'nav.overview' },
  { path: '/admin/devices', key: 'nav.devices' },
  { path: '/admin/import', key: 'nav.import', scopes: ['admin', 'technician'] },
  { path: '/admin/groups', key: 'nav.groups' },
  { path: '/admin/profiles', key: 'nav.profiles' },
  { path: '/admin/setup', key: 'nav.setup', to: '/admin/setup/policies' },
  { path: '/admin/bench', key: 'nav.bench' },
  { path: '/admin/branding', key: 'nav.branding' },
  { path: '/admin/trust-anchors', key: 'nav.trustAnchors' },
  { path: '/admin/updates', key: 'nav.updates' },
  { path: '/admin/tokens', key: 'nav.tokens', scopes: ['admin'] },
  { path: '/admin/settings', key: 'nav.settings', scopes: ['admin'] },
  { path: '/admin/audit', key: 'nav.audit', scopes: ['admin'] },
] as const;

export function ConsoleApp() {
  const { t, i18n } = useTranslation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [ended, setEnded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { path } = useLocation();

  useEffect(() => {
    whenSignedOut(() => {
      setSession(null);
      setEnded(true);
    });
    currentSession().then(setSession, (e: Error) => setError(e.message));
  }, []);
  // The organization's name and accent in the console's frame, with contrast guaranteed like the ESP's.
  const [branding, setBranding] = useState<{ organizationName: string; accentColor: string } | null>(null);
  useEffect(() => {
    if (!session) return;
    call(admin.tenant.getBranding).then(setBranding, () => setBranding(null));
  }, [session]);
  const style = useAccentStyle(branding?.accentColor ?? '#0067b8');

  if (error) return <p role="alert">{error}</p>;
  if (session === undefined) return <p aria-busy="true">{t('loading')}</p>;
  if (session === null)
    return (
      <SignInPage
        ended={ended}
        onSignedIn={(s) => {
          setEnded(false);
          setSession(s);
        }}
      />
    );

  const deviceMatch = /^\/admin\/devices\/([0-9a-f-]{36})$/.exec(path);
  const setupMatch = /^\/admin\/setup(?:\/([a-z]+))?$/.exec(path);
  let page;
  if (deviceMatch) page = <DevicePage id={deviceMatch[1]!} session={session} />;
  else if (setupMatch) {
    const tab = (SETUP_TABS as readonly string[]).includes(setupMatch[1] ?? '') ? (setupMatch[1] as SetupTab) : 'policies';
    page = <ItemsPage key={tab} tab={tab} session={session} />;
  } else if (path === '/admin/branding') page = <BrandingPage session={session} />;
  else if (path === '/admin/trust-anchors') page = <TrustAnchorsPage session={session} />;
  else if (path === '/admin/updates') page = <UpdatesPage session={session} />;
  else if (path === '/admin/devices') page = <DevicesPage session={session} />;
  else if (path === '/admin/bench') page = <BenchPage />;
  else if (path === '/admin/audit') page = <AuditPage />;
  else if (path === '/admin/import') page = <ImportPage />;
  else if (path === '/admin/groups') page = <GroupsPage session={session} />;
  else if (path === '/admin/tokens') page = <TokensPage />;
  else if (path === '/admin/profiles') page = <ProfilesPage session={session} />;
  else if (path === '/admin/settings') page = <SettingsPage />;
  else page = <OverviewPage />;

  const leave = async () => {
    try {
      await signOut();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
    setSession(null);
    navigate('/admin/');
  };

  return (
    <div className="console" style={style}>
      <a className="skip" href="#main">
        {t('skip')}
      </a>
      <header className="top">
        <span className="product">
          {branding ? `${branding.organizationName} · ` : ''}
          {t('product')}
        </span>
        <span className="who">
          {t('signedInAs', { name: session.token.name, scope: t(`scope.${session.token.scope}`) })}
        </span>
        <label>
          <span className="visually-hidden">{t('language')}</span>
          <select value={i18n.language} onChange={(e) => void i18n.changeLanguage(e.target.value)}>
            {CONSOLE_LANGUAGES.map((l) => (
              <option key={l.code} value={l.code} lang={l.code}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void leave()}>
          {t('signOut')}
        </button>
      </header>
      <nav aria-label={t('nav.label')}>
        <ul>
          {NAV.filter((n) => !('scopes' in n) || (n.scopes as readonly string[]).includes(session.token.scope)).map((n) => {
            const current = n.path === '/admin/' ? path === '/admin/' || path === '/admin' : path.startsWith(n.path);
            return (
              <li key={n.path}>
                <Link to={'to' in n ? n.to : n.path} aria-current={current ? 'page' : undefined}>
                  {t(n.key)}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

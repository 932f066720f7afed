// Sign-in: an admin, technician or read-only API token, exchanged for a session. The token goes
// to the service once and is kept nowhere in the browser.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';

import { ApiError, signIn, type Session } from '../api.js';

export function SignInPage({ ended, onSignedIn }: { ended: boolean; onSignedIn: (session: Session) => void }) {
  const { t } = useTranslation();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(token);
      setToken('');
      onSignedIn(session);
    } catch (e) {
      setError(e instanceof ApiError ? (e.status === 401 ? t('signIn.wrongToken') : `${e.code}: ${e.message}`) : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in" id="main">
      <h1>{t('signIn.title')}</h1>
      {ended ? <p role="status">{t('signIn.ended')}</p> : null}
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="token">{t('signIn.token')}</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={token} onChange={(e) => setToken(e.target.value)} aria-describedby="token-help" />
        <p id="token-help" className="help">
          {t('signIn.help')}
        </p>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>
          {t('signIn.submit')}
        </button>
      </form>
    </main>
  );
}

// A deployment profile as a form: the settings admins change most (description, device name, the
// OOBE pages, the ESP's rules, the end state: its kiosk, or its sign-in message, directory and
// shared-device settings), over the same document the YAML editor shows — a change here rewrites
// the YAML, and the YAML's changes show here. Everything else (OS updates, TPM options, blocking
// apps, a home directory's umask) stays in the YAML.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function read(document: Json, path: string): unknown {
  let value: unknown = document;
  for (const key of path.split('.')) value = isObject(value) ? value[key] : undefined;
  return value;
}

/** `document` with `value` at `path` (undefined removes the key), the objects on the way copied. */
export function withValue(document: Json, path: string, value: unknown): Json {
  const [key, ...rest] = path.split('.') as [string, ...string[]];
  const copy = { ...document };
  if (rest.length === 0) {
    if (value === undefined) delete copy[key];
    else copy[key] = value;
    return copy;
  }
  copy[key] = withValue(isObject(copy[key]) ? copy[key] : {}, rest.join('.'), value);
  return copy;
}

/** A comma-separated list, as typed: the text stays as it is while the list it gives is written. */
function ListField({ label, values, readOnly, onChange }: { label: string; values: string[]; readOnly: boolean; onChange: (values: string[]) => void }) {
  const parse = (text: string) => text.split(',').map((value) => value.trim()).filter(Boolean);
  const joined = values.join(', ');
  const [text, setText] = useState(joined);
  const [shown, setShown] = useState(joined);
  // The document changed elsewhere (the YAML): show its list, unless the text already says it.
  if (joined !== shown) {
    setShown(joined);
    if (parse(text).join(', ') !== joined) setText(joined);
  }
  return (
    <label>
      {label}
      <input
        value={text}
        readOnly={readOnly}
        onChange={(e) => {
          setText(e.target.value);
          onChange(parse(e.target.value));
        }}
      />
    </label>
  );
}

const ESP_FLAGS = ['showProgress', 'blockDeviceUse', 'allowLogCollection', 'allowReset', 'allowContinue'] as const;
const ESP_DEFAULTS: Record<(typeof ESP_FLAGS)[number], boolean> = { showProgress: true, blockDeviceUse: true, allowLogCollection: false, allowReset: false, allowContinue: false };

export function ProfileForm({ document, readOnly, onChange }: { document: Json | undefined; readOnly: boolean; onChange: (next: Json) => void }) {
  const { t } = useTranslation();
  if (!document) return <p className="help">{t('profileForm.fixYaml')}</p>;
  const set = (path: string, value: unknown) => onChange(withValue(document, path, value));
  const text = (path: string, label: string, options: { empty?: null | undefined; type?: string; placeholder?: string } = {}) => {
    const value = read(document, path);
    return (
      <label>
        {label}
        <input
          type={options.type ?? 'text'}
          value={typeof value === 'string' || typeof value === 'number' ? String(value) : ''}
          placeholder={options.placeholder}
          readOnly={readOnly}
          onChange={(e) => {
            const raw = e.target.value;
            if (options.type === 'number') set(path, raw === '' ? undefined : Number(raw));
            else set(path, raw === '' && 'empty' in options ? options.empty : raw);
          }}
        />
      </label>
    );
  };
  const flag = (path: string, label: string, fallback: boolean) => {
    const value = read(document, path);
    return (
      <label className="inline">
        <input type="checkbox" checked={typeof value === 'boolean' ? value : fallback} disabled={readOnly} onChange={(e) => set(path, e.target.checked)} /> {label}
      </label>
    );
  };
  const endState = isObject(document['endState']) ? document['endState'] : { type: 'sign-in' };
  const kiosk = endState['type'] === 'kiosk';
  const directory = isObject(endState['directory']) ? endState['directory'] : null;
  const allow = directory && isObject(directory['allow']) ? directory['allow'] : null;
  const groups = allow && Array.isArray(allow['groups']) ? allow['groups'].filter((g): g is string => typeof g === 'string') : [];
  const primaryUser = allow?.['primaryUser'] === true;
  /** Who may sign in, from the groups typed and the primary user: everyone when neither. */
  const setAllow = (nextGroups: string[], nextPrimaryUser: boolean) =>
    set('endState.directory.allow', nextGroups.length === 0 && !nextPrimaryUser ? 'all' : { groups: nextGroups, ...(nextPrimaryUser ? { primaryUser: true } : {}) });
  const schema = directory && typeof directory['schema'] === 'string' ? directory['schema'] : 'rfc2307bis';
  const ad = directory?.['provider'] === 'ad';
  const servers = directory && Array.isArray(directory['servers']) ? directory['servers'].filter((s): s is string => typeof s === 'string') : [];
  /** Another kind of directory: its own keys, the same rule of who signs in and home directories. */
  const setProvider = (provider: 'ldap' | 'ad') => {
    const kept = Object.fromEntries(Object.entries(directory ?? {}).filter(([key]) => key === 'allow' || key === 'homeDirectory'));
    set('endState.directory', provider === 'ad' ? { provider: 'ad', domain: '', ...kept } : { uri: 'ldaps://', searchBase: '', ...kept });
  };
  const shared = isObject(endState['sharedDevice']) ? endState['sharedDevice'] : null;
  const language = read(document, 'oobe.language');
  const deviceName = read(document, 'deviceName.template');

  return (
    <div className="profile-form">
      <fieldset>
        <legend>{t('profileForm.general')}</legend>
        {text('description', t('profileForm.description'))}
        <label>
          {t('profileForm.deviceName')}
          <input
            value={typeof deviceName === 'string' ? deviceName : ''}
            placeholder="KIOSK-%RAND:4%"
            readOnly={readOnly}
            onChange={(e) => set('deviceName', e.target.value === '' ? null : { ...(isObject(document['deviceName']) ? document['deviceName'] : {}), template: e.target.value })}
          />
        </label>
      </fieldset>
      <fieldset>
        <legend>{t('profileForm.oobe')}</legend>
        <label>
          {t('profileForm.language')}
          <select
            value={language === 'user-select' || language === undefined || language === 'os-default' ? (language ?? 'os-default') : 'tag'}
            disabled={readOnly}
            onChange={(e) => set('oobe.language', e.target.value === 'tag' ? 'en-US' : e.target.value)}
          >
            <option value="os-default">{t('profileForm.languageDefault')}</option>
            <option value="user-select">{t('profileForm.languageAsk')}</option>
            <option value="tag">{t('profileForm.languageSet')}</option>
          </select>
        </label>
        {language !== undefined && language !== 'os-default' && language !== 'user-select' ? text('oobe.language', t('profileForm.languageTag')) : null}
        {text('oobe.timeZone', t('profileForm.timeZone'), { empty: null, placeholder: 'Europe/Berlin' })}
        {flag('oobe.skipKeyboardPage', t('profileForm.skipKeyboard'), true)}
        {flag('oobe.skipLanguageRegionOnEthernet', t('profileForm.skipOnEthernet'), true)}
      </fieldset>
      <fieldset>
        <legend>{t('profileForm.esp')}</legend>
        {text('esp.timeoutMinutes', t('profileForm.timeout'), { type: 'number', placeholder: '60' })}
        {ESP_FLAGS.map((f) => (
          <span key={f}>{flag(`esp.${f}`, t(`profileForm.flag.${f}`), ESP_DEFAULTS[f])}</span>
        ))}
        {text('esp.customErrorMessage', t('profileForm.errorMessage'), { empty: undefined })}
      </fieldset>
      <fieldset>
        <legend>{t('profileForm.endState')}</legend>
        <label className="inline">
          <input type="radio" name="end-state" checked={!kiosk} disabled={readOnly} onChange={() => set('endState', { type: 'sign-in' })} /> {t('profileForm.signIn')}
        </label>
        <label className="inline">
          <input type="radio" name="end-state" checked={kiosk} disabled={readOnly} onChange={() => set('endState', { type: 'kiosk', mode: 'browser', homeUrl: 'https://' })} /> {t('profileForm.kiosk')}
        </label>
        {kiosk ? (
          <>
            <label>
              {t('profileForm.kioskMode')}
              <select value={typeof endState['mode'] === 'string' ? endState['mode'] : 'browser'} disabled={readOnly} onChange={(e) => set('endState.mode', e.target.value)}>
                {(['browser', 'signage', 'app'] as const).map((m) => (
                  <option key={m} value={m}>
                    {t(`profileForm.mode.${m}`)}
                  </option>
                ))}
              </select>
            </label>
            {endState['mode'] !== 'app' ? text('endState.homeUrl', t('profileForm.homeUrl'), { empty: undefined, type: 'url' }) : null}
            {text('endState.localAccount.name', t('profileForm.account'), { empty: undefined, placeholder: 'kiosk' })}
            {flag('endState.autoLogon', t('profileForm.autoLogon'), true)}
            {text('endState.idleRestartMinutes', t('profileForm.idleRestart'), { type: 'number' })}
          </>
        ) : (
          <>
            {text('endState.message', t('profileForm.signInMessage'), { empty: null })}
            <label className="inline">
              <input
                type="checkbox"
                checked={directory !== null}
                disabled={readOnly}
                onChange={(e) => set('endState.directory', e.target.checked ? { uri: 'ldaps://', searchBase: '' } : null)}
              />{' '}
              {t('profileForm.directory')}
            </label>
            {directory ? (
              <>
                <label>
                  {t('profileForm.directoryProvider')}
                  <select value={ad ? 'ad' : 'ldap'} disabled={readOnly} onChange={(e) => setProvider(e.target.value === 'ad' ? 'ad' : 'ldap')}>
                    <option value="ldap">{t('profileForm.providerOption.ldap')}</option>
                    <option value="ad">{t('profileForm.providerOption.ad')}</option>
                  </select>
                </label>
                {ad ? (
                  <>
                    {text('endState.directory.domain', t('profileForm.adDomain'), { placeholder: 'contoso.example' })}
                    <ListField label={t('profileForm.adServers')} values={servers} readOnly={readOnly} onChange={(next) => set('endState.directory.servers', next)} />
                    {flag('endState.directory.unixAttributes', t('profileForm.unixAttributes'), false)}
                  </>
                ) : (
                  <>
                    {text('endState.directory.uri', t('profileForm.directoryUri'), { placeholder: 'ldaps://ldap.contoso.example' })}
                    {text('endState.directory.searchBase', t('profileForm.searchBase'), { placeholder: 'dc=contoso,dc=example' })}
                  </>
                )}
                <ListField label={t('profileForm.allowedGroups')} values={groups} readOnly={readOnly} onChange={(next) => setAllow(next, primaryUser)} />
                <label className="inline">
                  <input type="checkbox" checked={primaryUser} disabled={readOnly} onChange={(e) => setAllow(groups, e.target.checked)} /> {t('profileForm.primaryUser')}
                </label>
                {ad ? null : (
                  <>
                    <label>
                      {t('profileForm.schema')}
                      <select value={schema} disabled={readOnly} onChange={(e) => set('endState.directory.schema', e.target.value)}>
                        {(['rfc2307bis', 'rfc2307'] as const).map((value) => (
                          <option key={value} value={value}>
                            {t(`profileForm.schemaOption.${value}`)}
                          </option>
                        ))}
                      </select>
                    </label>
                    {typeof directory['uri'] === 'string' && directory['uri'].startsWith('ldap://') ? flag('endState.directory.startTls', t('profileForm.startTls'), true) : null}
                    {text('endState.directory.clientCertificate', t('profileForm.clientCertificate'), { empty: null, placeholder: 'device-directory' })}
                    <label>
                      {t('profileForm.directoryCa')}
                      <textarea
                        className="mono"
                        rows={4}
                        spellCheck={false}
                        value={typeof directory['ca'] === 'string' ? directory['ca'] : ''}
                        placeholder="-----BEGIN CERTIFICATE-----"
                        readOnly={readOnly}
                        onChange={(e) => set('endState.directory.ca', e.target.value.trim() === '' ? null : e.target.value)}
                      />
                    </label>
                  </>
                )}
                {flag('endState.directory.homeDirectory.create', t('profileForm.createHome'), true)}
              </>
            ) : null}
            <label className="inline">
              <input type="checkbox" checked={shared !== null} disabled={readOnly} onChange={(e) => set('endState.sharedDevice', e.target.checked ? {} : null)} /> {t('profileForm.sharedDevice')}
            </label>
            {shared ? (
              <>
                {flag('endState.sharedDevice.allowGuest', t('profileForm.allowGuest'), false)}
                {text('endState.sharedDevice.idleSignOutMinutes', t('profileForm.idleSignOut'), { type: 'number' })}
                {text('endState.sharedDevice.cachedSignInDays', t('profileForm.cachedSignInDays'), { type: 'number' })}
                {text('endState.sharedDevice.removeCachedAccountsAfterDays', t('profileForm.removeCachedAccounts'), { type: 'number' })}
                {flag('endState.sharedDevice.deleteHomeAtSignOut', t('profileForm.deleteHomeAtSignOut'), false)}
                {text('endState.sharedDevice.deleteHomeAfterDays', t('profileForm.deleteHomeAfterDays'), { type: 'number' })}
                {text('endState.sharedDevice.maxCachedAccounts', t('profileForm.maxCachedAccounts'), { type: 'number' })}
              </>
            ) : null}
          </>
        )}
      </fieldset>
    </div>
  );
}

// Deployment profiles: Autopilot's defaults, device name templates, URL patterns and the lint
// rules that catch a profile that validates but would not work.
import { describe, expect, it } from 'vitest';

import {
  DEFAULT_ESP_ERROR_MESSAGE,
  DeploymentProfileSchema,
  PolicySettingsSchema,
  PolicySettingsViewSchema,
  lintProfile,
  parseDeviceNameTemplate,
  renderDeviceName,
} from './profile.js';
import { ITEM_SECRETS } from './items.js';

const kiosk = (endState: Record<string, unknown>, rest: Record<string, unknown> = {}) =>
  DeploymentProfileSchema.parse({ endState: { type: 'kiosk', mode: 'browser', homeUrl: 'https://intranet.example/', ...endState }, ...rest });
const codes = (findings: { code: string }[]) => findings.map((f) => f.code).sort();

describe('deployment profile', () => {
  it('fills in Autopilot self-deploying defaults', () => {
    expect(DeploymentProfileSchema.parse({})).toEqual({
      mode: 'self-deploying',
      description: '',
      oobe: { language: 'os-default', skipKeyboardPage: true, skipLanguageRegionOnEthernet: true, timeZone: null },
      deviceName: null,
      esp: {
        showProgress: true,
        timeoutMinutes: 60,
        customErrorMessage: DEFAULT_ESP_ERROR_MESSAGE,
        allowLogCollection: false,
        blockDeviceUse: true,
        allowReset: false,
        allowContinue: false,
        blockingApps: 'all',
      },
      endState: { type: 'sign-in', directory: null, message: null, sharedDevice: null },
      osUpdates: { apply: 'none', packages: [], timeoutMinutes: 60 },
      tpm: { ekCertificateServices: [] },
    });
    expect(kiosk({}).endState).toMatchObject({ localAccount: { name: 'kiosk' }, autoLogon: true, showEndSessionButton: false, idleRestartMinutes: null });
  });

  it('accepts BCP 47 languages and the two keywords, nothing else', () => {
    for (const language of ['os-default', 'user-select', 'de', 'en-US', 'zh-Hant-TW', 'es-419']) {
      expect(DeploymentProfileSchema.safeParse({ oobe: { language } }).success, language).toBe(true);
    }
    for (const language of ['english', 'en_US', 'e', 'en-', '']) expect(DeploymentProfileSchema.safeParse({ oobe: { language } }).success, language).toBe(false);
  });

  it('validates device name templates: letters, digits, hyphens, %SERIAL%, %RAND:n%, never all digits', () => {
    expect(parseDeviceNameTemplate('KIOSK-%SERIAL%')).toEqual({ fixedLength: 6, usesSerial: true, canBeAllDigits: false });
    expect(parseDeviceNameTemplate('LAB%RAND:4%')).toEqual({ fixedLength: 7, usesSerial: false, canBeAllDigits: false });
    expect(parseDeviceNameTemplate('%RAND:5%')).toMatchObject({ canBeAllDigits: true });
    expect(parseDeviceNameTemplate('A_B')).toMatch(/only letters/);
    expect(parseDeviceNameTemplate('A%RAND:0%')).toMatch(/1 to 15 digits/);
    expect(DeploymentProfileSchema.safeParse({ deviceName: { template: '123%RAND:2%' } }).success).toBe(false);
  });

  it('renders names that fit, keeping the end of a long serial', () => {
    let n = 0;
    const digit = () => n++;
    expect(renderDeviceName('KIOSK-%SERIAL%', 'ABC 12/345', digit)).toBe('KIOSK-ABC12345');
    expect(renderDeviceName('KIOSK-%SERIAL%', 'PF3XK9ZZZZZZ1234', digit)).toBe('KIOSK-ZZZZZ1234');
    expect(renderDeviceName('LAB-%RAND:3%', 'x', digit)).toMatch(/^LAB-\d{3}$/);
  });

  it('takes a directory for the sign-in end state, refusing what SSSD could not use, and lints one without TLS', () => {
    const directory = (fields: Record<string, unknown>) => DeploymentProfileSchema.safeParse({ endState: { type: 'sign-in', directory: { uri: 'ldaps://ldap.contoso.example', searchBase: 'dc=contoso,dc=example', ...fields } } });
    const parsed = directory({});
    expect(parsed.success && parsed.data.endState).toEqual({
      type: 'sign-in',
      directory: { provider: 'ldap', uri: 'ldaps://ldap.contoso.example', searchBase: 'dc=contoso,dc=example', schema: 'rfc2307bis', startTls: true, ca: null, lab: false, clientCertificate: null, allow: 'all', homeDirectory: { create: true, umask: '0077' } },
      message: null,
      sharedDevice: null,
    });
    for (const bad of [{ uri: 'https://ldap.contoso.example' }, { uri: 'ldaps://ldap.contoso.example/dc=x?uid' }, { uri: 'ldap://host\nproxy_lib_name = x' }, { searchBase: 'contoso' }, { searchBase: 'dc=x\nid_provider = proxy' }, { allow: { groups: ['a,b'] } }, { allow: { groups: [] } }, { homeDirectory: { umask: '777' } }, { ca: 'hello' }, { bindPassword: 'x' }]) {
      expect(directory(bad).success, JSON.stringify(bad)).toBe(false);
    }
    const lint = (fields: Record<string, unknown>) => codes(lintProfile(DeploymentProfileSchema.parse({ endState: { type: 'sign-in', directory: { searchBase: 'dc=x', ...fields } } })));
    expect(lint({ uri: 'ldap://ldap.contoso.example', startTls: false })).toContain('DIRECTORY_WITHOUT_TLS');
    expect(lint({ uri: 'ldap://ldap.contoso.example', startTls: false, lab: true })).toEqual(expect.arrayContaining(['DIRECTORY_LAB']));
    expect(lint({ uri: 'ldap://ldap.contoso.example', startTls: false, lab: true })).not.toContain('DIRECTORY_WITHOUT_TLS');
    expect(lint({ uri: 'ldap://ldap.contoso.example' })).not.toContain('DIRECTORY_WITHOUT_TLS');
    expect(lint({ uri: 'ldaps://ldap.contoso.example' })).not.toContain('DIRECTORY_LAB');
    // Shared-device settings of a directory's members, without a directory, do nothing: said so.
    const shared = (endState: Record<string, unknown>) => codes(lintProfile(DeploymentProfileSchema.parse({ endState: { type: 'sign-in', ...endState } })));
    expect(shared({ sharedDevice: { cachedSignInDays: 7 } })).toContain('SHARED_DEVICE_WITHOUT_DIRECTORY');
    expect(shared({ sharedDevice: { idleSignOutMinutes: 30 } })).not.toContain('SHARED_DEVICE_WITHOUT_DIRECTORY');
    expect(shared({ sharedDevice: { cachedSignInDays: 7 }, directory: { uri: 'ldaps://x', searchBase: 'dc=x' } })).not.toContain('SHARED_DEVICE_WITHOUT_DIRECTORY');
    expect(DeploymentProfileSchema.safeParse({ endState: { type: 'sign-in', sharedDevice: { idleSignOutMinutes: 0 } } }).success).toBe(false);
    // Members' homes: deleted at sign-out, after days, beyond the newest members — a directory's too.
    expect(shared({ sharedDevice: { maxCachedAccounts: 5 } })).toContain('SHARED_DEVICE_WITHOUT_DIRECTORY');
    const withDirectory = (sharedDevice: Record<string, unknown>) => shared({ sharedDevice, directory: { uri: 'ldaps://x', searchBase: 'dc=x' } });
    expect(withDirectory({ deleteHomeAtSignOut: true })).toContain('SHARED_DEVICE_KEEPS_CREDENTIALS');
    expect(withDirectory({ deleteHomeAtSignOut: true, cachedSignInDays: 0 })).not.toContain('SHARED_DEVICE_KEEPS_CREDENTIALS');
    expect(withDirectory({ deleteHomeAfterDays: 30, maxCachedAccounts: 10 })).toEqual(['ESP_DEAD_END']);
    for (const bad of [{ deleteHomeAfterDays: 0 }, { maxCachedAccounts: 0 }, { maxCachedAccounts: 1001 }, { deleteHomeAtSignOut: 'yes' }]) {
      expect(DeploymentProfileSchema.safeParse({ endState: { type: 'sign-in', sharedDevice: bad } }).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('takes a directory-bind policy (a DN and a one-line password), and lints two of them, or one without a directory', () => {
    const bind = (fields: Record<string, unknown> = {}) => PolicySettingsSchema.safeParse({ kind: 'directory-bind', bindDn: 'cn=reader,dc=contoso,dc=example', bindPassword: 'pa ss#;=word', ...fields });
    expect(bind().success).toBe(true);
    for (const bad of [{ bindPassword: '' }, { bindPassword: 'a\nldap_uri = ldap://evil' }, { bindPassword: ' padded' }, { bindPassword: 'x'.repeat(257) }, { bindDn: 'reader' }, { bindDn: 'cn=a\tb' }, { ldapUri: 'ldap://evil' }]) {
      expect(bind(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(PolicySettingsSchema.safeParse({ kind: 'directory-bind', bindDn: 'cn=reader,dc=x' }).success).toBe(false);
    const policy = (name: string) => ({ name, settings: PolicySettingsSchema.parse({ kind: 'directory-bind', bindDn: `cn=${name},dc=x`, bindPassword: 'p' }) });
    const withDirectory = DeploymentProfileSchema.parse({ endState: { type: 'sign-in', directory: { uri: 'ldaps://x', searchBase: 'dc=x' } } });
    const bindCodes = (findings: { code: string }[]) => codes(findings).filter((code) => code.startsWith('DIRECTORY_BIND'));
    expect(bindCodes(lintProfile(withDirectory, [policy('reader')]))).toEqual([]);
    const twice = lintProfile(withDirectory, [policy('reader'), policy('other')]).filter((f) => f.code.startsWith('DIRECTORY_BIND'));
    expect(twice).toEqual([expect.objectContaining({ severity: 'error', code: 'DIRECTORY_BIND_TWICE', path: 'policies.other', message: expect.stringContaining('"reader" and "other"') })]);
    expect(bindCodes(lintProfile(DeploymentProfileSchema.parse({}), [policy('reader')]))).toEqual(['DIRECTORY_BIND_WITHOUT_DIRECTORY']);
    // The device's certificate instead of an account: over TLS only, and not beside a bind policy.
    const byCertificate = (directory: Record<string, unknown>) => DeploymentProfileSchema.parse({ endState: { type: 'sign-in', directory: { uri: 'ldaps://x', searchBase: 'dc=x', clientCertificate: 'device-directory', ...directory } } });
    expect(bindCodes(lintProfile(byCertificate({}), [policy('reader')]))).toEqual(['DIRECTORY_BIND_AND_CERTIFICATE']);
    expect(codes(lintProfile(byCertificate({ uri: 'ldap://x', startTls: false, lab: true })))).toContain('DIRECTORY_CERTIFICATE_WITHOUT_TLS');
    expect(codes(lintProfile(byCertificate({ uri: 'ldap://x' })))).not.toContain('DIRECTORY_CERTIFICATE_WITHOUT_TLS');
    expect(DeploymentProfileSchema.safeParse({ endState: { type: 'sign-in', directory: { uri: 'ldaps://x', searchBase: 'dc=x', clientCertificate: '../key' } } }).success).toBe(false);
    expect(codes(lintProfile(kiosk({}), [policy('reader')]))).toContain('DIRECTORY_BIND_WITHOUT_DIRECTORY');
  });

  it('takes Active Directory as the directory (provider ad), and a directory-join policy whose password is a secret', () => {
    const ad = (directory: Record<string, unknown>) => DeploymentProfileSchema.safeParse({ endState: { type: 'sign-in', directory: { provider: 'ad', domain: 'Contoso.Example', ...directory } } });
    const parsed = ad({ servers: ['DC1.contoso.example'], allow: { groups: ['Kiosk Staff'] } });
    expect(parsed.success && parsed.data.endState.type === 'sign-in' && parsed.data.endState.directory).toEqual({
      provider: 'ad', domain: 'contoso.example', servers: ['dc1.contoso.example'], unixAttributes: false, allow: { groups: ['Kiosk Staff'], primaryUser: false }, homeDirectory: { create: true, umask: '0077' },
    });
    // An LDAP directory's keys are not Active Directory's, and a domain is a DNS name.
    for (const bad of [{ uri: 'ldaps://x' }, { domain: 'contoso' }, { domain: 'contoso.example\nx' }, { servers: ['dc1;rm'] }, { servers: Array(11).fill('dc.x.example') }, { searchBase: 'dc=x' }]) {
      expect(ad(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(DeploymentProfileSchema.safeParse({ endState: { type: 'sign-in', directory: { provider: 'freeipa', domain: 'x.example' } } }).success).toBe(false);
    const join = (fields: Record<string, unknown> = {}) => PolicySettingsSchema.safeParse({ kind: 'directory-join', domain: 'contoso.example', joinUser: 'svc-join', joinPassword: ' pass word #1 ', ...fields });
    expect(join().success && join().data).toEqual({ kind: 'directory-join', domain: 'contoso.example', domainController: null, organizationalUnit: null, joinUser: 'svc-join', joinPassword: ' pass word #1 ' });
    for (const bad of [{ joinPassword: '' }, { joinPassword: 'a\nb' }, { joinUser: '-x' }, { joinUser: 'a b' }, { organizationalUnit: 'Kiosks' }, { domainController: 'dc 1' }, { domain: 'x' }]) {
      expect(join(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(ITEM_SECRETS.policy).toContain('joinPassword');
    expect(PolicySettingsViewSchema.safeParse({ kind: 'directory-join', domain: 'contoso.example', joinUser: 'svc-join', joinPassword: 'x' }).success).toBe(false);
  });

  it('lints Active Directory: joined by one directory-join policy of the same domain, no bind account, TLS lints not its own', () => {
    const profile = DeploymentProfileSchema.parse({ endState: { type: 'sign-in', directory: { provider: 'ad', domain: 'contoso.example' } } });
    const join = (name: string, domain = 'contoso.example') => ({ name, settings: PolicySettingsSchema.parse({ kind: 'directory-join', domain, joinUser: 'svc-join', joinPassword: 'p' }) });
    const bind = { name: 'reader', settings: PolicySettingsSchema.parse({ kind: 'directory-bind', bindDn: 'cn=reader,dc=x', bindPassword: 'p' }) };
    const directoryCodes = (findings: { code: string }[]) => codes(findings).filter((code) => code.startsWith('DIRECTORY'));
    expect(directoryCodes(lintProfile(profile, [join('join')]))).toEqual([]);
    expect(lintProfile(profile)).toContainEqual(expect.objectContaining({ severity: 'warning', code: 'DIRECTORY_NOT_JOINED', path: 'endState.directory.domain' }));
    expect(lintProfile(profile, [join('join', 'fabrikam.example')])).toContainEqual(expect.objectContaining({ severity: 'error', code: 'DIRECTORY_JOIN_OTHER_DOMAIN', path: 'policies.join' }));
    expect(lintProfile(profile, [join('one'), join('two')])).toContainEqual(expect.objectContaining({ severity: 'error', code: 'DIRECTORY_JOIN_TWICE', path: 'policies.two' }));
    expect(lintProfile(profile, [join('join'), bind])).toContainEqual(expect.objectContaining({ severity: 'error', code: 'DIRECTORY_BIND_WITH_AD', path: 'policies.reader' }));
    const ldap = DeploymentProfileSchema.parse({ endState: { type: 'sign-in', directory: { uri: 'ldaps://x', searchBase: 'dc=x' } } });
    expect(lintProfile(ldap, [join('join')])).toContainEqual(expect.objectContaining({ severity: 'warning', code: 'DIRECTORY_JOIN_WITHOUT_DIRECTORY', path: 'policies.join' }));
  });

  it('lints: name too long, home URL blocked or not allowed, signage buttons, dead-end ESP', () => {
    expect(codes(lintProfile(DeploymentProfileSchema.parse({ deviceName: { template: 'DEPARTMENT-%RAND:8%' } })))).toContain('DEVICE_NAME_TOO_LONG');
    expect(codes(lintProfile(kiosk({ blockedUrls: ['https://intranet.example/*'] })))).toContain('HOME_URL_BLOCKED');
    expect(codes(lintProfile(kiosk({ allowedUrls: ['https://other.example/*'] })))).toContain('HOME_URL_NOT_ALLOWED');
    expect(codes(lintProfile(kiosk({ mode: 'signage', showNavigationButtons: true })))).toContain('SIGNAGE_IGNORES_BUTTONS');
    expect(codes(lintProfile(kiosk({}, { esp: { allowReset: true } })))).not.toContain('ESP_DEAD_END');
    expect(codes(lintProfile(DeploymentProfileSchema.parse({})))).toEqual(['ESP_DEAD_END']);
  });

  it('flags kiosk auto-logon with a password or lock policy that would break it, and only then', () => {
    const policy = (settings: unknown) => ({ name: 'p', settings: PolicySettingsSchema.parse(settings) });
    const breaking = [
      policy({ kind: 'password', maxAgeDays: 42 }),
      policy({ kind: 'password', requireChangeAtFirstLogon: true }),
      policy({ kind: 'screen-lock', idleLockMinutes: 10, requirePasswordToUnlock: true }),
    ];
    for (const p of breaking) {
      expect(lintProfile(kiosk({}), [p]).filter((f) => f.severity === 'error').map((f) => f.code), JSON.stringify(p)).toEqual(['AUTOLOGON_BROKEN_BY_POLICY']);
      expect(lintProfile(kiosk({ autoLogon: false }), [p]).filter((f) => f.severity === 'error')).toEqual([]);
      expect(lintProfile(DeploymentProfileSchema.parse({}), [p]).filter((f) => f.severity === 'error')).toEqual([]);
    }
    const harmless = [policy({ kind: 'password', minLength: 12 }), policy({ kind: 'screen-lock', idleLockMinutes: 0 })];
    expect(lintProfile(kiosk({}), harmless).filter((f) => f.severity === 'error')).toEqual([]);
  });
});

// Deployment profiles: Autopilot's defaults, device name templates, URL patterns and the lint
// rules that catch a profile that validates but would not work.
import { describe, expect, it } from 'vitest';

import {
  DEFAULT_ESP_ERROR_MESSAGE,
  DeploymentProfileSchema,
  PolicySettingsSchema,
  lintProfile,
    parseDeviceNameTemplate,
  renderDeviceName,
} from './profile.js';

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
      directory: { provider: 'ldap', uri: 'ldaps://ldap.contoso.example', searchBase: 'dc=contoso,dc=example', schema: 'rfc2307bis', startTls: true, ca: null, lab: false, allow: 'all', homeDirectory: { create: true, umask: '0077' } },
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

// Deployment profiles and the policies that can conflict with them: what an administrator
// assigns to a group, validated once here for the service, the admin CLI and the agent.
// Defaults follow Windows Autopilot self-deploying mode and its Enrollment Status Page settings.
import { z } from 'zod';

import { DirectoryBindPolicyInputSchema, DirectoryBindPolicySchema, DirectoryBindPolicyViewSchema, DirectoryJoinPolicyInputSchema, DirectoryJoinPolicySchema, DirectoryJoinPolicyViewSchema, SignInSchema, lintSignIn, pemCertificates } from './sign-in.js';
import type { LintFinding } from './lint.js';
import { allowedBy, blockedBy, normalizeUrl } from './url-rules.js';

/** BCP 47 language tag (RFC 5646 §2.1, the common subset): "de", "en-US", "zh-Hant-TW", "es-419". */
const bcp47 = z
  .string()
  .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?(-[a-zA-Z0-9]{5,8})*$/, 'not a BCP 47 language tag');

export const DEFAULT_ESP_ERROR_MESSAGE =
  'Setup could not be completed. Please try again or contact your support person for help.';

// ---- device names ----

export const DEVICE_NAME_MAX_LENGTH = 15; // NetBIOS length, as Autopilot

const TEMPLATE_TOKEN = /%SERIAL%|%RAND:(\d+)%|[A-Za-z0-9-]/g;

export interface DeviceNameTemplateInfo {
  /** Characters that do not come from %SERIAL%. */
  fixedLength: number;
  usesSerial: boolean;
  /** Whether every character could be a digit (Autopilot forbids all-digit names). */
  canBeAllDigits: boolean;
}

/** Parses a template; returns why it is invalid as a string. */
export function parseDeviceNameTemplate(template: string): DeviceNameTemplateInfo | string {
  let consumed = 0;
  let fixedLength = 0;
  let usesSerial = false;
  let hasLetterOrHyphen = false;
  for (const match of template.matchAll(TEMPLATE_TOKEN)) {
    if (match.index !== consumed) break;
    consumed += match[0].length;
    if (match[0] === '%SERIAL%') {
      usesSerial = true;
    } else if (match[1] !== undefined) {
      const digits = Number(match[1]);
      if (digits < 1 || digits > DEVICE_NAME_MAX_LENGTH) return `%RAND:${match[1]}% must have 1 to ${DEVICE_NAME_MAX_LENGTH} digits`;
      fixedLength += digits;
    } else {
      fixedLength += 1;
      if (!/[0-9]/.test(match[0])) hasLetterOrHyphen = true;
    }
  }
  if (consumed !== template.length) {
    return `only letters, digits, hyphens, %SERIAL% and %RAND:n% are allowed (at "${template.slice(consumed, consumed + 10)}")`;
  }
  if (template.length === 0) return 'is empty';
  return { fixedLength, usesSerial, canBeAllDigits: !hasLetterOrHyphen };
}

/**
 * Renders a template. %SERIAL% gives the serial's letters, digits and hyphens; when the name
 * would be too long it keeps the serial's last characters, where serial numbers differ most.
 */
export function renderDeviceName(template: string, serial: string, randomDigit: () => number, maxLength = DEVICE_NAME_MAX_LENGTH): string {
  const info = parseDeviceNameTemplate(template);
  if (typeof info === 'string') throw new RangeError(`invalid device name template: ${info}`);
  const serialRoom = Math.max(0, maxLength - info.fixedLength);
  const allowed = serial.replace(/[^A-Za-z0-9-]/g, '');
  const cleanSerial = serialRoom === 0 ? '' : allowed.slice(-serialRoom);
  return template
    .replaceAll('%SERIAL%', cleanSerial)
    .replace(/%RAND:(\d+)%/g, (_, n: string) => Array.from({ length: Number(n) }, () => String(randomDigit() % 10)).join(''))
    .slice(0, maxLength);
}

// ---- URL patterns of the kiosk browser ----

const urlPattern = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => /^[a-z*][a-z0-9+.*-]*:\/\/[^\s]+$/i.test(p) && !/\s/.test(p), 'must look like scheme://host/path, with * as a wildcard');

const httpUrl = z
  .string()
  .max(2048)
  .refine((u) => /^https?:\/\/[^\s/?#]+[^\s]*$/i.test(u), 'must be an http:// or https:// URL');

// ---- the TPM vendors' EK certificate services ----

/**
 * How a TPM vendor's EK certificate service is asked (tpm2-tools' tpm2_getekcertificate and
 * tpm2-tss's FAPI ask the same way): "intel" — GET base + the URL-escaped base64url of SHA-256 over
 * the EK's public key (RSA: modulus, then exponent 01 00 01; ECC: x, then y), answered as JSON with
 * a base64url `certificate`; "amd" — GET base + the first 16 bytes, in hex, of SHA-256 over a
 * prefix (RSA: 00 00 22 22, then the exponent in 4 bytes, then the modulus; ECC: 00 00 44 44, x, y),
 * answered as DER.
 */
export const EK_SERVICE_FORMATS = ['intel', 'amd'] as const;
export type EkServiceFormat = (typeof EK_SERVICE_FORMATS)[number];


export const EkCertificateServiceSchema = z.object({
  /** The TPM's manufacturer as TPM_PT_MANUFACTURER spells it (the TCG vendor ID: INTC, AMD, IBM for swtpm). */
  manufacturer: z.string().trim().min(1).max(4).regex(/^[A-Za-z0-9]+$/, 'must be a TCG vendor ID such as INTC or AMD'),
  format: z.enum(EK_SERVICE_FORMATS),
  /** The base URL the key's part is appended to; null: never ask a service for this manufacturer's TPMs. */
  url: z
    .string()
    .max(2048)
    .refine((u) => /^https:\/\/[^\s/?#]+\/[^\s?#]*$/i.test(u), 'must be an https:// URL with a path (the key is appended to it)')
    .nullable(),
  /** CA certificates of a mirror or proxy with a private CA (the vendors' own services have public ones). */
  ca: pemCertificates.optional(),
});
export type EkCertificateService = z.output<typeof EkCertificateServiceSchema>;

/** The vendors' public EK certificate services: the device's network requirements (docs/operations.md). */
export const DEFAULT_EK_CERTIFICATE_SERVICES: readonly EkCertificateService[] = [
  { manufacturer: 'INTC', format: 'intel', url: 'https://ekop.intel.com/ekcertservice/' },
  { manufacturer: 'AMD', format: 'amd', url: 'https://ftpm.amd.com/pki/aia/' },
];

/** The service for a manufacturer: the profile's entry for it, else the default; null when none (or switched off). */
export function ekCertificateServiceFor(manufacturer: string, configured: readonly EkCertificateService[]): EkCertificateService | null {
  const name = manufacturer.trim().toUpperCase();
  const found = configured.find((s) => s.manufacturer.toUpperCase() === name) ?? DEFAULT_EK_CERTIFICATE_SERVICES.find((s) => s.manufacturer === name);
  return found && found.url !== null ? found : null;
}

// ---- the profile ----

/** Whether the IANA database (ICU's copy) knows the zone, aliases such as Asia/Calcutta included. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A Debian package name (Debian Policy §5.6.1). */
export const debianPackageName = z.string().regex(/^[a-z0-9][a-z0-9+.-]{1,127}$/, 'must be a Debian package name (lower-case letters, digits, + - .)');

const linuxAccount = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a Linux user name (lower-case letters, digits, _ and -)');

export const KioskSchema = z
  .object({
    type: z.literal('kiosk'),
    localAccount: z.object({ name: linuxAccount.default('kiosk') }).prefault({}),
    autoLogon: z.boolean().default(true),
    mode: z.enum(['browser', 'signage', 'app']),
    homeUrl: httpUrl.optional(),
    allowedUrls: z.array(urlPattern).max(200).default([]),
    blockedUrls: z.array(urlPattern).max(200).default([]),
    showNavigationButtons: z.boolean().default(true),
    showHomeButton: z.boolean().default(true),
    showEndSessionButton: z.boolean().default(false),
    idleRestartMinutes: z.number().int().min(1).max(1440).nullable().default(null),
    /** argv of the app (mode "app"); never run through a shell. */
    appCommand: z.array(z.string().min(1).max(4096)).min(1).max(64).optional(),
  })
  .superRefine((kiosk, ctx) => {
    if (kiosk.mode !== 'app' && !kiosk.homeUrl) ctx.addIssue({ code: 'custom', path: ['homeUrl'], message: `is required in ${kiosk.mode} mode` });
    if (kiosk.mode === 'app' && !kiosk.appCommand) ctx.addIssue({ code: 'custom', path: ['appCommand'], message: 'is required in app mode' });
  });

export const DeploymentProfileSchema = z.object({
  mode: z.literal('self-deploying').default('self-deploying'),
  description: z.string().max(1000).default(''),
  oobe: z
    .object({
      /** "os-default": the image's language; "user-select": ask; or a BCP 47 tag to set. */
      language: z.union([z.literal('os-default'), z.literal('user-select'), bcp47]).default('os-default'),
      /** Skip the keyboard page (Autopilot: "Automatically configure keyboard"). */
      skipKeyboardPage: z.boolean().default(true),
      /** Skip the language and region pages when the device is on Ethernet. */
      skipLanguageRegionOnEthernet: z.boolean().default(true),
      /** IANA time zone the device is set to ("Europe/Berlin"); null keeps the image's. */
      timeZone: z
        .string()
        .max(64)
        .regex(/^(UTC|[A-Z][A-Za-z_-]+(\/[A-Z0-9][A-Za-z0-9_+-]*){1,2})$/, 'must be an IANA time zone such as Europe/Berlin')
        .refine(isTimeZone, 'is not a time zone of the IANA database')
        .nullable()
        .default(null),
    })
    .prefault({}),
  deviceName: z
    .object({
      template: z.string().superRefine((t, ctx) => {
        const info = parseDeviceNameTemplate(t);
        if (typeof info === 'string') ctx.addIssue({ code: 'custom', message: info });
        else if (info.canBeAllDigits) ctx.addIssue({ code: 'custom', message: 'would make names of digits only; add a letter or hyphen' });
      }),
      maxLength: z.number().int().min(1).max(63).default(DEVICE_NAME_MAX_LENGTH),
    })
    .nullable()
    .default(null),
  esp: z
    .object({
      showProgress: z.boolean().default(true),
      timeoutMinutes: z.number().int().min(1).max(1440).default(60),
      customErrorMessage: z.string().min(1).max(1000).default(DEFAULT_ESP_ERROR_MESSAGE),
      allowLogCollection: z.boolean().default(false),
      blockDeviceUse: z.boolean().default(true),
      allowReset: z.boolean().default(false),
      allowContinue: z.boolean().default(false),
      blockingApps: z.union([z.literal('all'), z.object({ selected: z.array(z.string().min(1).max(128)).max(100) })]).default('all'),
    })
    .prefault({}),
  endState: z.discriminatedUnion('type', [SignInSchema, KioskSchema]).prefault({ type: 'sign-in' }),
  /**
   * The distribution's own updates, applied by the "Critical updates" step before enrollment goes
   * on: none, the pending security updates (packages whose newer version comes from a
   * "-security" archive), or the named installed packages brought to their newest version. A
   * package that needs a restart (/run/reboot-required) restarts the device; setup resumes.
   */
  osUpdates: z
    .object({
      apply: z.enum(['none', 'security', 'packages']).default('none'),
      packages: z.array(debianPackageName).max(100).default([]),
      timeoutMinutes: z.number().int().min(1).max(240).default(60),
    })
    .prefault({})
    .refine((u) => (u.apply === 'packages') === (u.packages.length > 0), { message: 'packages are named exactly when apply is "packages"', path: ['packages'] }),
  tpm: z
    .object({
      /**
       * Where a TPM without an EK certificate in NV gets one, by manufacturer: entries replace the
       * default for their manufacturer (DEFAULT_EK_CERTIFICATE_SERVICES), url null switches one off.
       */
      ekCertificateServices: z.array(EkCertificateServiceSchema).max(16).default([]),
    })
    .prefault({}),
});

export type DeploymentProfile = z.output<typeof DeploymentProfileSchema>;
export type DeploymentProfileInput = z.input<typeof DeploymentProfileSchema>;
export type KioskEndState = Extract<DeploymentProfile['endState'], { type: 'kiosk' }>;

// ---- policies ----

const jsonValue: z.ZodType<unknown> = z.lazy(() => z.union([z.string().max(65_536), z.number(), z.boolean(), z.null(), z.array(jsonValue).max(1000), z.record(z.string().max(256), jsonValue)]));

/**
 * The most a config-file policy's mode may allow: read and write for the owner and group, read for
 * others — never executable, never writable by everyone.
 */
export const CONFIG_FILE_MAX_MODE = 0o664;

/**
 * Where config-file policies may write: the configuration of add-on packages, /etc/opt/PACKAGE/…
 * (the Filesystem Hierarchy Standard's place for it, beside the /opt/PACKAGE trees apps install
 * into) — an allow-list, not a list of what to avoid: nothing the system itself runs as root reads
 * its configuration there. selfdeploy-helper checks the same rule on the device.
 */
export const managedConfigPath = z
  .string()
  .max(256)
  .regex(/^\/etc\/opt\/[A-Za-z0-9][A-Za-z0-9._+-]*(\/[A-Za-z0-9._+-]+)+$/, 'must be a file under /etc/opt/PACKAGE/ (add-on packages\' configuration; letters, digits, . _ + -)')
  .refine((p) => !p.split('/').includes('..') && !p.split('/').includes('.'), 'must not contain "." or ".." components')
  .refine((p) => !p.startsWith('/etc/opt/selfdeploy/'), "names selfdeploy's own configuration, which policies do not manage");

const iniValue = z.union([z.string().max(4096).refine((v) => !/[\r\n]/.test(v), 'must be one line'), z.number(), z.boolean()]);
const iniName = z.string().min(1).max(128).regex(/^[^[\]=\r\n]+$/, 'must not hold [, ], = or line breaks');

const policyKinds = [
  z.object({
    kind: z.literal('password'),
    minLength: z.number().int().min(0).max(128).default(0),
    /** Days before a password expires; 0 = never. */
    maxAgeDays: z.number().int().min(0).max(3650).default(0),
    requireChangeAtFirstLogon: z.boolean().default(false),
  }),
  z.object({
    kind: z.literal('screen-lock'),
    /** Minutes of inactivity before the screen locks; 0 = never. */
    idleLockMinutes: z.number().int().min(0).max(1440).default(15),
    requirePasswordToUnlock: z.boolean().default(true),
  }),
  /** Key/value settings merged into a managed configuration file; other keys in it are kept. */
  z.object({
    kind: z.literal('config-file'),
    path: managedConfigPath,
    format: z.enum(['json', 'ini']),
    /** json: top-level keys (values replace what is there); ini: sections of keys. */
    settings: z.union([z.record(z.string().max(256), jsonValue), z.record(iniName, z.record(iniName, iniValue))]),
    owner: linuxAccount.default('root'),
    group: linuxAccount.default('root'),
    /** Permission bits as an octal string ("0644"); no set-ID or sticky bits. */
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'must be octal permission bits such as "0644"')
      .refine((m) => (parseInt(m, 8) & ~CONFIG_FILE_MAX_MODE) === 0, 'must not make the file executable or writable by everyone (at most 0664)')
      .default('0644'),
  }).superRefine((policy, ctx) => {
    if (policy.format === 'ini' && !Object.values(policy.settings).every((section) => section !== null && typeof section === 'object' && !Array.isArray(section) && Object.values(section).every((v) => iniValue.safeParse(v).success))) {
      ctx.addIssue({ code: 'custom', path: ['settings'], message: 'an ini file takes sections of key = value settings' });
    }
  }),
  /** Chromium (and Google Chrome) managed policies, as in chromium.org/administrators/linux-quick-start. */
  z.object({
    kind: z.literal('chromium'),
    policies: z.record(z.string().regex(/^[A-Z][A-Za-z0-9]{1,127}$/, 'must be a Chromium policy name such as HomepageLocation'), jsonValue),
    browsers: z.array(z.enum(['chromium', 'chrome'])).min(1).max(2).default(['chromium']),
  }),
] as const;

export const PolicySettingsSchema = z.discriminatedUnion('kind', [...policyKinds, DirectoryBindPolicySchema, DirectoryJoinPolicySchema]);
/** A policy as an administrator saves it: a secret field left out keeps the stored one. */
export const PolicySettingsInputSchema = z.discriminatedUnion('kind', [...policyKinds, DirectoryBindPolicyInputSchema, DirectoryJoinPolicyInputSchema]);
/** A policy as the admin API shows it: without its secret fields. */
export const PolicySettingsViewSchema = z.discriminatedUnion('kind', [...policyKinds, DirectoryBindPolicyViewSchema, DirectoryJoinPolicyViewSchema]);

export type PolicySettings = z.output<typeof PolicySettingsSchema>;

// ---- lint ----

export type { LintFinding } from './lint.js';

/**
 * Findings that schema validation cannot see: a profile that is valid but will not work as the
 * administrator expects, alone or together with the policies that reach the same devices.
 */
export function lintProfile(profile: DeploymentProfile, policies: readonly { name: string; settings: PolicySettings }[] = []): LintFinding[] {
  const findings: LintFinding[] = [];
  const error = (code: string, path: string, message: string) => findings.push({ severity: 'error', code, path, message });
  const warning = (code: string, path: string, message: string) => findings.push({ severity: 'warning', code, path, message });

  if (profile.deviceName) {
    const info = parseDeviceNameTemplate(profile.deviceName.template);
    if (typeof info !== 'string') {
      if (info.fixedLength > profile.deviceName.maxLength) {
        error('DEVICE_NAME_TOO_LONG', 'deviceName.template', `names would have at least ${info.fixedLength} characters; the limit is ${profile.deviceName.maxLength}`);
      } else if (info.usesSerial) {
        const room = profile.deviceName.maxLength - info.fixedLength;
        warning('DEVICE_NAME_SERIAL_CUT', 'deviceName.template', `serial numbers longer than ${room} characters are cut to fit ${profile.deviceName.maxLength}`);
      }
    }
  }

  if (profile.esp.timeoutMinutes > 240) {
    warning('ESP_TIMEOUT_LONG', 'esp.timeoutMinutes', 'a device stuck in setup waits more than four hours before it reports an error');
  }
  if (!profile.esp.allowReset && !profile.esp.allowContinue && !profile.esp.allowLogCollection) {
    warning('ESP_DEAD_END', 'esp', 'on an error the technician can neither reset, continue nor collect logs');
  }

  const end = profile.endState;
  findings.push(...lintSignIn(end.type === 'sign-in' ? end : null, policies));
  if (end.type === 'kiosk') {
    const home = end.homeUrl ? normalizeUrl(end.homeUrl) : null;
    if (home) {
      if (end.blockedUrls.some((p) => blockedBy(p, home))) {
        error('HOME_URL_BLOCKED', 'endState.homeUrl', 'the home URL matches a blocked URL pattern');
      } else if (end.allowedUrls.length > 0 && !end.allowedUrls.some((p) => allowedBy(p, home))) {
        error('HOME_URL_NOT_ALLOWED', 'endState.homeUrl', 'the home URL matches none of the allowed URL patterns');
      }
    }
    if (end.mode === 'signage' && (end.showNavigationButtons || end.showHomeButton || end.showEndSessionButton)) {
      warning('SIGNAGE_IGNORES_BUTTONS', 'endState', 'signage takes no input: its navigation, home and end-session buttons are not shown');
    }
    if (end.mode !== 'browser' && (end.allowedUrls.length > 0 || end.blockedUrls.length > 0)) {
      warning('URL_RULES_UNUSED', 'endState', `URL rules apply to the kiosk browser only, not to ${end.mode} mode`);
    }
    if (!profile.esp.blockDeviceUse) {
      warning('KIOSK_USABLE_BEFORE_READY', 'esp.blockDeviceUse', 'the kiosk can start before all of its apps and policies are in place');
    }
    if (end.autoLogon) {
      for (const { name, settings } of policies) {
        if (settings.kind === 'password' && settings.requireChangeAtFirstLogon) {
          error('AUTOLOGON_BROKEN_BY_POLICY', `policies.${name}`, `policy "${name}" forces a password change at first logon, which stops the kiosk's auto-logon`);
        }
        if (settings.kind === 'password' && settings.maxAgeDays > 0) {
          error('AUTOLOGON_BROKEN_BY_POLICY', `policies.${name}`, `policy "${name}" expires passwords after ${settings.maxAgeDays} days; the kiosk's auto-logon then stops`);
        }
        if (settings.kind === 'screen-lock' && settings.idleLockMinutes > 0 && settings.requirePasswordToUnlock) {
          error('AUTOLOGON_BROKEN_BY_POLICY', `policies.${name}`, `policy "${name}" locks the screen with a password after ${settings.idleLockMinutes} idle minutes; nobody at the kiosk knows it`);
        }
      }
    }
  }
  return findings;
}

// selfdeploy-admin branding and settings: the tenant — how its ESP looks and how it enrolls.
import type { Command } from 'commander';
import type { z } from 'zod';

import { PutBrandingRequestSchema, type BrandingViewSchema, type TenantSettingsSchema } from '../../../protocol/api/admin.js';
import { UsageError } from '../../../protocol/errors/report.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { oneOf } from '../../../protocol/node/command-line.js';
import { readInputFile } from '../../../protocol/node/input-file.js';
import { viewCommand, type AdminActions } from './session.js';

const showBranding = (b: z.output<typeof BrandingViewSchema>) =>
  [
    `Organization  ${b.organizationName}`,
    `Accent colour ${b.accentColor}`,
    `Logo          ${b.logo ? `${b.logo.mediaType}, ${b.logo.bytes} bytes, sha256 ${b.logo.sha256}` : '-'}`,
    `Support       ${[b.support.phone, b.support.email, b.support.url].filter(Boolean).join(', ') || '-'}`,
    '',
  ].join('\n');

const showSettings = (s: z.output<typeof TenantSettingsSchema>) =>
  `Bind EK on first use  ${s.bindEkOnFirstUse ? 'on' : 'off'}\nVirtual TPMs          ${s.allowVirtualTpms ? 'allowed (a lab: devices with swtpm or a hypervisor\'s TPM may self-deploy)' : 'refused'}\nAIA hosts             ${s.aiaHosts.length ? s.aiaHosts.join(', ') : 'none (intermediates are not fetched)'}\nEK issuer validity    ${s.ekIssuerValidity === 'at-issuance' ? 'at issuance (an expired vendor CA still vouches for what it signed while valid)' : 'now (every certificate of the chain valid today)'}\nRe-provisioning       ${s.reprovisionSameTpm ? 'a deployed device that proves the same TPM may deploy again (audited)' : 'off (a deployed device is refused until its record is deleted)'}\n`;

interface BrandingOptions {
  org?: string;
  accentColor?: string;
  logo?: string | false;
  supportPhone?: string;
  supportEmail?: string;
  supportUrl?: string;
}

const BRANDING_FLAGS = {
  organizationName: '--org',
  accentColor: '--accent-color',
  logo: '--logo',
  'support.phone': '--support-phone',
  'support.email': '--support-email',
  'support.url': '--support-url',
};

export function tenantCommands(program: Command, action: AdminActions): void {
  const branding = program.command('branding').description('the organisation branding the ESP shows');
  viewCommand(branding, action, 'show', 'the branding: organisation, accent colour, logo and support contact', admin.tenant.getBranding, showBranding);
  branding
    .command('set')
    .description('change what is given; the rest stays')
    .option('--org <NAME>', 'the organisation name')
    .option('--accent-color <#RRGGBB>', 'the accent colour, e.g. #0067b8')
    .option('--logo <FILE>', 'a PNG, JPEG or script-free SVG, at most 512 KB')
    .option('--no-logo', 'remove the logo')
    .option('--support-phone <PHONE>', 'the support phone number')
    .option('--support-email <EMAIL>', 'the support e-mail address')
    .option('--support-url <URL>', 'the support web page')
    .action(
      action(async (session, options: BrandingOptions) => {
        const current = await session.client.request(admin.tenant.getBranding);
        const logo = options.logo === false ? null : options.logo === undefined ? undefined : readInputFile(options.logo, 'the logo (--logo)').toString('base64');
        const body = {
          organizationName: options.org ?? current.organizationName,
          accentColor: options.accentColor ?? current.accentColor,
          support: {
            ...current.support,
            ...(options.supportPhone !== undefined ? { phone: options.supportPhone } : {}),
            ...(options.supportEmail !== undefined ? { email: options.supportEmail } : {}),
            ...(options.supportUrl !== undefined ? { url: options.supportUrl } : {}),
          },
          ...(logo === undefined ? {} : { logo }),
        };
        session.check(PutBrandingRequestSchema, body, BRANDING_FLAGS);
        const updated = await session.sent(() => session.client.request(admin.tenant.putBranding, { body }), { flags: BRANDING_FLAGS });
        session.out(updated, () => showBranding(updated));
      }),
    );

  const settings = program.command('settings').description("the tenant's enrollment settings");
  viewCommand(settings, action, 'show', 'the enrollment settings', admin.tenant.getSettings, showSettings);
  settings
    .command('set')
    .description('change the enrollment settings (the others keep their values)')
    .option('--bind-ek-on-first-use <on|off>', 'a registration without an EK takes the EK of the first device that attests for it', oneOf('--bind-ek-on-first-use', ['on', 'off']))
    .option('--allow-virtual-tpms <on|off>', 'devices whose TPM is virtual (swtpm, a hypervisor\'s) may self-deploy: for labs', oneOf('--allow-virtual-tpms', ['on', 'off']))
    .option('--aia-hosts <HOST,…>', "hosts the service may fetch EK intermediates from (caIssuers URLs), comma-separated; '' for none")
    .option('--ek-issuer-validity <at-issuance|now>', 'when an EK chain certificate counts as valid: issued while its issuer was valid, or valid today', oneOf('--ek-issuer-validity', ['at-issuance', 'now']))
    .option('--reprovision-same-tpm <on|off>', 'a deployed device that proves the same TPM may deploy again after a wipe without its record being deleted (audited)', oneOf('--reprovision-same-tpm', ['on', 'off']))
    .action(
      action(async (session, options: { bindEkOnFirstUse?: 'on' | 'off'; allowVirtualTpms?: 'on' | 'off'; aiaHosts?: string; ekIssuerValidity?: 'at-issuance' | 'now'; reprovisionSameTpm?: 'on' | 'off' }) => {
        if (Object.values(options).every((v) => v === undefined)) {
          throw new UsageError('settings set needs --bind-ek-on-first-use, --allow-virtual-tpms, --aia-hosts, --ek-issuer-validity or --reprovision-same-tpm');
        }
        const current = await session.client.request(admin.tenant.getSettings);
        const body = {
          ...current,
          ...(options.bindEkOnFirstUse !== undefined ? { bindEkOnFirstUse: options.bindEkOnFirstUse === 'on' } : {}),
          ...(options.allowVirtualTpms !== undefined ? { allowVirtualTpms: options.allowVirtualTpms === 'on' } : {}),
          ...(options.aiaHosts !== undefined ? { aiaHosts: options.aiaHosts.split(',').map((h) => h.trim()).filter(Boolean) } : {}),
          ...(options.ekIssuerValidity !== undefined ? { ekIssuerValidity: options.ekIssuerValidity } : {}),
          ...(options.reprovisionSameTpm !== undefined ? { reprovisionSameTpm: options.reprovisionSameTpm === 'on' } : {}),
        };
        const updated = await session.sent(() => session.client.request(admin.tenant.putSettings, { body }), { flags: { aiaHosts: '--aia-hosts' } });
        session.out(updated, () => showSettings(updated));
      }),
    );
}

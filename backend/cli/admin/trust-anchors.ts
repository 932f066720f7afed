// selfdeploy-admin trust-anchors: which TPMs the service trusts — manufacturer CA certificates,
// and EK digests of TPMs without an EK certificate.
import type { Command } from 'commander';
import type { z } from 'zod';

import type { AddTrustAnchorsResultSchema, TrustAnchorListSchema } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { CERTIFICATE_FILE, readFilesOrDirectories } from '../../../protocol/node/input-file.js';
import { table, viewCommand, type AdminActions } from './session.js';

const day = (iso: string | null) => iso?.slice(0, 10) ?? '';
const showAnchors = (items: z.output<typeof TrustAnchorListSchema>['items']) =>
  items.length
    ? table([
        ['ID', 'KIND', 'SUBJECT / LABEL', 'ISSUER', 'VALID', 'KEY', 'DEVICES', 'DIGEST'],
        ...items.map((a) => [a.id, a.kind, a.subject ?? a.label, a.issuer === a.subject ? '(self-signed)' : (a.issuer ?? ''), a.notAfter ? `${day(a.notBefore)} to ${day(a.notAfter)}${Date.parse(a.notAfter) < Date.now() ? ' (expired)' : ''}` : '', a.keyType ?? '', String(a.devices), a.ekDigest ?? '']),
      ])
    : 'No trust anchors.\n';

const showOutcomes = (outcomes: z.output<typeof AddTrustAnchorsResultSchema>['outcomes']) =>
  outcomes.map((o) => `${o.file}: ${o.subject} — ${o.outcome}${o.detail ? ` (${o.detail})` : ''}\n`).join('');

export function trustAnchorsCommands(program: Command, action: AdminActions): void {
  const anchors = program.command('trust-anchors').description('the TPM manufacturer CAs and EK digests the service trusts');
  viewCommand(anchors, action, 'list', 'the trust anchors', admin.tenant.listTrustAnchors, (list) => showAnchors(list.items));
  anchors
    .command('add')
    .description("trust a vendor's CA certificates: PEM (one or more per file) or DER files, or directories of them (*.pem, *.crt, *.cer, *.der); each certificate once, expired ones as the settings say")
    .argument('<FILE|DIR...>')
    .option('--label <LABEL>', 'what to call them (default: each one\'s subject)')
    .action(
      action(async (session, paths: string[], options: { label?: string }) => {
        const files = readFilesOrDirectories(paths, 'certificate file', CERTIFICATE_FILE).map((file) => ({ name: file.name, data: file.bytes.toString('base64') }));
        const added = await session.sent(() => session.client.request(admin.tenant.addTrustAnchors, { body: { files, ...(options.label !== undefined ? { label: options.label } : {}) } }), { flags: { label: '--label', files: 'FILE' } });
        session.out(added, () => `${showOutcomes(added.outcomes)}${added.items.length ? showAnchors(added.items) : 'Nothing new to trust.\n'}`);
      }),
    );
  anchors
    .command('add-ek-digest')
    .description('allow one TPM without an EK certificate, by its EK public digest (selfdeploy tpm info)')
    .argument('<HEX>', 'the SHA-256 EK public digest')
    .requiredOption('--label <LABEL>', 'which TPM it is')
    .action(
      action(async (session, digest: string, options: { label: string }) => {
        const added = await session.sent(() => session.client.request(admin.tenant.addTrustAnchors, { body: { ekDigest: digest, label: options.label } }), { flags: { label: '--label', ekDigest: 'HEX' } });
        session.out(added, () => showAnchors(added.items));
      }),
    );
  anchors
    .command('remove')
    .description('stop trusting a CA certificate or an EK digest')
    .argument('<ID>')
    .action(
      action(async (session, id: string) => {
        await session.client.request(admin.tenant.removeTrustAnchor, { params: { id } });
        session.out({ removed: id }, () => `Removed trust anchor ${id}\n`);
      }),
    );
}

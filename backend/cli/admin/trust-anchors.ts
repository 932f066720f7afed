// selfdeploy-admin trust-anchors: which TPMs the service trusts — manufacturer CA certificates,
// and EK digests of TPMs without an EK certificate.
import type { Command } from 'commander';
import type { z } from 'zod';

import type { TrustAnchorListSchema } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { readInputFile } from '../../../protocol/node/input-file.js';
import { table, viewCommand, type AdminActions } from './session.js';

const showAnchors = (items: z.output<typeof TrustAnchorListSchema>['items']) =>
  items.length ? table([['ID', 'KIND', 'LABEL', 'EXPIRES / DIGEST'], ...items.map((a) => [a.id, a.kind, a.label, a.notAfter ?? a.ekDigest ?? ''])]) : 'No trust anchors.\n';

export function trustAnchorsCommands(program: Command, action: AdminActions): void {
  const anchors = program.command('trust-anchors').description('the TPM manufacturer CAs and EK digests the service trusts');
  viewCommand(anchors, action, 'list', 'the trust anchors', admin.tenant.listTrustAnchors, (list) => showAnchors(list.items));
  anchors
    .command('add')
    .description('trust the CA certificates of a PEM file')
    .argument('<FILE.pem>')
    .option('--label <LABEL>', 'what to call them')
    .action(
      action(async (session, path: string, options: { label?: string }) => {
        const pem = readInputFile(path, 'the PEM file').toString('utf8');
        const added = await session.sent(() => session.client.request(admin.tenant.addTrustAnchors, { body: { pem, ...(options.label !== undefined ? { label: options.label } : {}) } }), { flags: { label: '--label', pem: 'FILE.pem' } });
        session.out(added, () => showAnchors(added.items));
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

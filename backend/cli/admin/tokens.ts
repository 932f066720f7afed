// selfdeploy-admin tokens: who may use the admin API — admin tokens for everything, technician
// tokens to read, import and add devices.
import type { Command } from 'commander';
import type { z } from 'zod';

import { TokenScopeSchema } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { oneOf } from '../../../protocol/node/command-line.js';
import { table, viewCommand, type AdminActions } from './session.js';

export function tokensCommands(program: Command, action: AdminActions): void {
  const tokens = program.command('tokens').description('API tokens for administrators and technicians');
  viewCommand(tokens, action, 'list', 'the tokens (never their secrets)', admin.tenant.listTokens, (list) =>
    table([['ID', 'NAME', 'SCOPE', 'LAST USED', 'REVOKED'], ...list.items.map((t) => [t.id, t.name, t.scope, t.lastUsedAt ?? '-', t.revokedAt ?? '-'])]),
  );
  tokens
    .command('create')
    .description('a new token; its secret is shown only now')
    .argument('<NAME>')
    .requiredOption('--scope <admin|technician>', 'admin: everything; technician: read, import and add devices', oneOf('--scope', TokenScopeSchema.options))
    .action(
      action(async (session, name: string, options: { scope: z.output<typeof TokenScopeSchema> }) => {
        const created = await session.sent(() => session.client.request(admin.tenant.createToken, { body: { name, scope: options.scope } }), { flags: { scope: '--scope' } });
        session.out(created, () => `Token ${created.name} (${created.scope}), shown only now:\n  ${created.token}\n`);
      }),
    );
  tokens
    .command('revoke')
    .description('revoke a token: it stops working at once')
    .argument('<ID>')
    .action(
      action(async (session, id: string) => {
        await session.client.request(admin.tenant.revokeToken, { params: { id } });
        session.out({ revoked: id }, () => `Revoked token ${id}\n`);
      }),
    );
}

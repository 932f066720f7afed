// selfdeploy-admin tokens: who may use the admin API — admin tokens for everything, technician
// tokens to register devices, view, collect logs and delete device records, read-only tokens to
// view and report; technician and read-only tokens may be limited to groups or group tags.
import type { Command } from 'commander';
import type { z } from 'zod';

import { CreateTokenRequestSchema, TOKEN_DEFAULT_DAYS, TokenScopeSchema } from '../../../protocol/api/admin.js';
import { admin } from '../../../protocol/api/endpoints.js';
import { oneOf, wholeNumber } from '../../../protocol/node/command-line.js';
import { table, viewCommand, type AdminActions } from './session.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function tokensCommands(program: Command, action: AdminActions): void {
  const tokens = program.command('tokens').description('API tokens for administrators, technicians and read-only viewers');
  viewCommand(tokens, action, 'list', 'the tokens (never their secrets)', admin.tenant.listTokens, (list) =>
    table([
      ['ID', 'NAME', 'SCOPE', 'LIMITED TO', 'EXPIRES', 'LAST USED', 'REVOKED'],
      ...list.items.map((t) => [
        t.id,
        t.name,
        t.scope,
        [...(t.groups ?? []).map((g) => `group ${g}`), ...(t.groupTags ?? []).map((g) => `tag ${g}`)].join(', ') || '-',
        t.expiresAt ?? 'never',
        t.lastUsedAt ?? '-',
        t.revokedAt ?? '-',
      ]),
    ]),
  );
  tokens
    .command('create')
    .description('a new token; its secret is shown only now')
    .argument('<NAME>')
    .requiredOption('--scope <admin|technician|read-only>', 'admin: everything; technician: register devices, view, collect logs, delete device records; read-only: view and report', oneOf('--scope', TokenScopeSchema.options))
    .option('--expires-in-days <N>', `days until it expires (default ${TOKEN_DEFAULT_DAYS})`, wholeNumber('--expires-in-days', 1, 3650))
    .option('--no-expiry', 'it never expires (prefer an expiry, and rotate)')
    .option('--group <NAME>', 'technician/read-only: only the devices of this group (repeatable)', collect)
    .option('--group-tag <TAG>', 'technician/read-only: only the devices with this group tag (repeatable)', collect)
    .action(
      action(async (session, name: string, options: { scope: z.output<typeof TokenScopeSchema>; expiresInDays?: number; expiry: boolean; group?: string[]; groupTag?: string[] }) => {
        if (!options.expiry && options.expiresInDays !== undefined) throw session.usage('--expires-in-days and --no-expiry go separately');
        const body = {
          name,
          scope: options.scope,
          expiresInDays: options.expiry ? (options.expiresInDays ?? TOKEN_DEFAULT_DAYS) : null,
          ...(options.group ? { groups: options.group } : {}),
          ...(options.groupTag ? { groupTags: options.groupTag } : {}),
        };
        const flags = { name: 'NAME', scope: '--scope', groups: '--group', groupTags: '--group-tag', expiresInDays: '--expires-in-days' };
        session.check(CreateTokenRequestSchema, body, flags);
        const created = await session.sent(() => session.client.request(admin.tenant.createToken, { body }), { flags });
        session.out(created, () => `Token ${created.name} (${created.scope}${created.expiresAt ? `, expires ${created.expiresAt}` : ', never expires'}), shown only now:\n  ${created.token}\n`);
      }),
    );
  tokens
    .command('revoke')
    .description('revoke a token: it stops working at once, on every replica')
    .argument('<ID>')
    .action(
      action(async (session, id: string) => {
        await session.client.request(admin.tenant.revokeToken, { params: { id } });
        session.out({ revoked: id }, () => `Revoked token ${id}\n`);
      }),
    );
}

// selfdeploy-admin profiles, policies, certificates, networks, apps and scripts: documents applied
// from YAML or JSON files and assigned to groups. Every kind lists, shows, applies, deletes, assigns
// and unassigns the same way; profiles also lint; apps and scripts can take their content file.
import { basename } from 'node:path';

import type { Command } from 'commander';
import type { z } from 'zod';

import { ITEM_COLLECTIONS, type CollectionKind } from '../../../protocol/api/admin.js';
import type { Endpoint } from '../../../protocol/api/endpoint.js';
import { documents } from '../../../protocol/api/endpoints.js';
import type { DocumentEndpoints } from '../../../protocol/api/endpoints/documents.js';
import { uploadContent } from './content.js';
import { table, type AdminActions, type AdminSession } from './session.js';

interface Finding {
  severity: string;
  code: string;
  path: string;
  message: string;
}

const lintLines = (lint: readonly Finding[]) => lint.map((f) => `  ${f.severity}: ${f.code} (${f.path}): ${f.message}\n`).join('');

/** A document's file goes to the service as written: the service validates it and names its fields. */
type AsWritten = never;

/** What every kind of document lists. */
interface Listed {
  name: string;
  version: number;
  assignments: { group: string }[];
  updatedAt: string;
}

/** A document as the service answers a save: what it lists, and the lint of a profile. */
interface Saved extends Listed {
  lint?: Finding[];
}

/** What a kind of document is called, and where it is saved. */
interface DocumentKind {
  command: string;
  singular: string;
  /** "a profile", "an app". */
  one: string;
  endpoints: DocumentEndpoints<z.ZodType<Listed>>;
  put: Endpoint & { params: typeof documents.NameParams; success: { schema: z.ZodType<Saved> } };
  /** Whether `apply --content FILE` uploads the item's content (apps, scripts). */
  content: boolean;
}

function kinds(): DocumentKind[] {
  const items = (Object.keys(ITEM_COLLECTIONS) as CollectionKind[]).map((kind): DocumentKind => {
    const singular = kind === 'network' ? 'network connection' : kind;
    return { command: ITEM_COLLECTIONS[kind], singular, one: `${kind === 'app' ? 'an' : 'a'} ${singular}`, endpoints: documents.items[kind], put: documents.items[kind].put, content: kind === 'app' || kind === 'script' };
  });
  return [
    { command: 'profiles', singular: 'profile', one: 'a profile', endpoints: documents.profiles, put: documents.profiles.put, content: false },
    { command: 'policies', singular: 'policy', one: 'a policy', endpoints: documents.policies, put: documents.policies.put, content: false },
    ...items,
  ];
}

/** Saves NAME from the document in `file`; with `content`, that file is uploaded first and the document names it. */
async function save(session: AdminSession, kind: DocumentKind, name: string, file: string, content: string | undefined): Promise<Saved> {
  let body = await session.document(file);
  if (content !== undefined) {
    // The item names its content by what the service says it is, never by a digest typed by hand.
    const uploaded = await uploadContent(session, content, basename(content));
    body = { ...(typeof body === 'object' && body !== null ? body : {}), content: { sha256: uploaded.sha256, size: uploaded.size } };
  }
  return session.sent(() => session.client.request(kind.put, { params: { name }, body: body as AsWritten }), { file });
}

export function documentCommands(program: Command, action: AdminActions): void {
  for (const kind of kinds()) {
    const { endpoints } = kind;
    const group = program.command(kind.command).description(`${kind.singular === 'policy' ? 'policies' : `${kind.singular}s`}: documents applied from YAML or JSON and assigned to groups`);

    group
      .command('list')
      .description(`the ${kind.command} with their versions and assignments`)
      .action(
        action(async (session) => {
          const list = await session.client.request(endpoints.list);
          session.out(list, () =>
            list.items.length ? table([['NAME', 'VERSION', 'ASSIGNED TO', 'UPDATED'], ...list.items.map((d) => [d.name, String(d.version), d.assignments.map((a) => a.group).join(', ') || '-', d.updatedAt])]) : `No ${kind.command}.\n`,
          );
        }),
      );

    group
      .command('show')
      .description(`one ${kind.singular}, with every default filled in`)
      .argument('<NAME>')
      .action(
        action(async (session, name: string) => {
          const document: unknown = await session.client.request(endpoints.get, { params: { name } });
          session.out(document, () => JSON.stringify(document, null, 2) + '\n');
        }),
      );

    const apply = group
      .command('apply')
      .description(`create or update ${kind.one} from YAML or JSON ("-": standard input)`)
      .argument('<NAME>')
      .argument('<FILE>');
    if (kind.content) apply.option('--content <FILE>', `upload this file and make the ${kind.singular} install it (sets its content)`);
    apply.action(
      action(async (session, name: string, file: string, options: { content?: string }) => {
        const saved = await save(session, kind, name, file, options.content);
        session.out(saved, () => `Saved ${kind.singular} ${saved.name}${kind.command === 'profiles' ? '' : `, version ${saved.version}`}\n${lintLines(saved.lint ?? [])}`);
      }),
    );

    if (kind.command === 'profiles') {
      group
        .command('lint')
        .description('validate and lint a profile without saving it, with the policies of --group')
        .argument('<FILE>')
        .option('--group <NAME>', 'lint against the policies assigned to this group')
        .action(
          action(async (session, file: string, options: { group?: string }) => {
            const document = await session.document(file);
            const result = await session.sent(() => session.client.request(documents.profiles.lint, { body: document as AsWritten, query: { group: options.group } }), { file, flags: {} });
            const errors = result.findings.filter((f) => f.severity === 'error').length;
            session.out(result, () => `${file}: ${errors} error(s), ${result.findings.length - errors} warning(s)\n${lintLines(result.findings)}`);
            return errors > 0 ? 1 : 0;
          }),
        );
    }

    group
      .command('assign')
      .description(`assign ${kind.one} to a group (refused when it would break a deployment there)`)
      .argument('<NAME>')
      .requiredOption('--group <NAME>', 'the group')
      .action(
        action(async (session, name: string, options: { group: string }) => {
          const assigned = await session.sent(() => session.client.request(endpoints.assign, { params: { name }, body: { group: options.group } }), { flags: { group: '--group' } });
          session.out(assigned, () => `Assigned ${assigned.name} to ${assigned.group} (${assigned.assignedAt})\n${lintLines(assigned.lint)}`);
        }),
      );

    group
      .command('unassign')
      .description(`remove ${kind.one}'s assignment to a group`)
      .argument('<NAME>')
      .requiredOption('--group <NAME>', 'the group')
      .action(
        action(async (session, name: string, options: { group: string }) => {
          await session.client.request(endpoints.unassign, { params: { name, group: options.group } });
          session.out({ name, group: options.group }, () => `Unassigned ${name} from ${options.group}\n`);
        }),
      );

    group
      .command('delete')
      .description(`delete ${kind.one} that is not assigned`)
      .argument('<NAME>')
      .action(
        action(async (session, name: string) => {
          await session.client.request(endpoints.delete, { params: { name } });
          session.out({ deleted: name }, () => `Deleted ${kind.singular} ${name}\n`);
        }),
      );
  }
}

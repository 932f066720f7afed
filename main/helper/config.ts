// selfdeploy-helper's configuration (/etc/selfdeploy/helper.json, root's): where it listens, who
// may connect, where it changes the system, and the deployment service it asks what content is
// assigned. Running scripts and packages unchecked must be said explicitly (labs only).
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import type { CodedError } from '../../protocol/errors/report.js';
import { parseJsonDocument } from '../../protocol/validation.js';
import { DEFAULT_SOCKET } from './protocol.js';

export const DEFAULT_CONFIG = '/etc/selfdeploy/helper.json';

const absolute = z.string().min(1).max(4096).startsWith('/', 'must be an absolute path');

export const HelperConfigSchema = z
  .object({
    socket: absolute.default(DEFAULT_SOCKET),
    /** The group of the agent's user; its members may use the socket. null: root only. */
    group: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).nullable().default('selfdeploy'),
    root: absolute.default('/'),
    state: absolute.default('/var/lib/selfdeploy-helper'),
    contentDir: absolute.default('/var/lib/selfdeploy/content'),
    service: z.object({ server: z.url({ protocol: /^https$/ }), ca: absolute }).strict().nullable().default(null),
    /** Labs without a service: scripts and packages run when their digest matches, assigned or not. */
    allowUnassignedContent: z.boolean().default(false),
  })
  .strict()
  .refine((config) => config.service !== null || config.allowUnassignedContent, {
    message: 'needs "service" (the deployment service to ask what is assigned), or "allowUnassignedContent": true for a lab',
  });
export type HelperConfig = z.output<typeof HelperConfigSchema>;

export class HelperConfigError extends Error implements CodedError {
  readonly code = 'HELPER_CONFIG_INVALID' as const;
  override name = 'HelperConfigError';
}

export function readHelperConfig(path: string): HelperConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new HelperConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseJsonDocument(text, HelperConfigSchema, path, (message) => new HelperConfigError(message));
}

/** A group's id from the system's own /etc/group. */
export function groupId(name: string, groupFile = '/etc/group'): number {
  const line = readFileSync(groupFile, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  const gid = line ? Number(line.split(':')[2]) : NaN;
  if (!Number.isInteger(gid)) throw new HelperConfigError(`there is no group "${name}" (create it: groupadd --system ${name})`);
  return gid;
}

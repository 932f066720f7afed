// The deploy journal: every step transition and every applied item is recorded durably (write,
// fsync, rename) before it takes effect, so an agent restarted after a power loss resumes where
// it stopped and never applies an item twice. The profile the service gave is kept beside it.
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { DeployProfileResponseSchema, type DeployProfileResponse } from '../../protocol/api/deploy.js';
import { EspContextSchema, EspDeviceSchema, ItemStateSchema, StepIdSchema } from '../../protocol/esp.js';
import { ItemKindSchema } from '../../protocol/items.js';
import type { CodedError } from '../../protocol/errors/report.js';
import { writeFileDurably } from '../storage/durable-file.js';
import { statePath } from '../storage/state-dir.js';

const StepRecordSchema = z.object({
  state: ItemStateSchema,
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  detail: z.string().nullable(),
});
export type StepRecord = z.output<typeof StepRecordSchema>;

const ItemRecordSchema = z.object({
  /** applying: recorded before the provider runs; applied / failed / skipped after. */
  state: z.enum(['applying', 'applied', 'failed', 'skipped']),
  kind: ItemKindSchema,
  name: z.string(),
  step: StepIdSchema,
  at: z.string(),
  detail: z.string().nullable(),
});
export type ItemRecord = z.output<typeof ItemRecordSchema>;

export const JournalSchema = z.object({
  version: z.literal(1),
  /** The service origin; a journal for another service is not resumed. */
  server: z.string(),
  firstStartedAt: z.string(),
  /** How many times an agent started on this journal. */
  runs: z.number().int().min(0),
  checkpoints: z.number().int().min(0),
  steps: z.partialRecord(StepIdSchema, StepRecordSchema),
  device: EspDeviceSchema,
  network: EspContextSchema.shape.network,
  /** Items by id@version. */
  items: z.record(z.string(), ItemRecordSchema),
  continuedPastFailure: z.string().nullable(),
  /** Items whose installer said the device must restart (names). */
  rebootRequired: z.array(z.string()).default([]),
  completedAt: z.string().nullable(),
  /** A critical update installed and the agent restarting for it. */
  update: z.object({ from: z.string(), to: z.string(), at: z.string() }).nullable().default(null),
  /** The distribution's updates applied, and the device restarting for them. */
  osUpdates: z.object({ upgraded: z.array(z.string()), at: z.string() }).nullable().default(null),
  /**
   * When the ESP times out, set when the ESP first starts: an agent that restarts (a crash, a
   * power loss, a restart loop) keeps it; a run that failed clears it, so Try again starts anew.
   */
  espDeadline: z.string().nullable().default(null),
});
export type Journal = z.output<typeof JournalSchema>;

export class JournalError extends Error implements CodedError {
  readonly code = 'JOURNAL_INVALID' as const;
  override name = 'JournalError';
}

export class StateDirError extends Error implements CodedError {
  readonly code = 'STATE_DIR_UNUSABLE' as const;
  override name = 'StateDirError';
}

export function newJournal(server: string, at: string): Journal {
  return {
    version: 1,
    server,
    firstStartedAt: at,
    runs: 0,
    checkpoints: 0,
    steps: {},
    device: { serial: null, manufacturer: null, model: null, hardwareHash: null, deviceId: null, deviceName: null },
    network: { medium: null, interface: null },
    items: {},
    continuedPastFailure: null,
    rebootRequired: [],
    completedAt: null,
    update: null,
    osUpdates: null,
    espDeadline: null,
  };
}

/** Where the journal lives: the state directory on a device, memory in unit tests. */
export interface JournalPort {
  load(): Journal | undefined;
  /** Durably records the journal; returns when it is on disk. */
  save(journal: Journal): void;
  loadProfile(): DeployProfileResponse | undefined;
  saveProfile(profile: DeployProfileResponse): void;
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JournalError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new JournalError(`${path} is damaged: not JSON`);
  }
}

export class FileJournal implements JournalPort {
  /** Called after each durable write with the count of this process's writes (fault injection in tests). */
  onCheckpoint: ((count: number) => void) | undefined;
  private writes = 0;

  constructor(readonly dir: string) {}

  load(): Journal | undefined {
    const value = readJson(statePath(this.dir, 'journal'));
    if (value === undefined) return undefined;
    const parsed = JournalSchema.safeParse(value);
    if (!parsed.success) throw new JournalError(`${statePath(this.dir, 'journal')} is damaged: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  save(journal: Journal): void {
    try {
      writeFileDurably(statePath(this.dir, 'journal'), JSON.stringify(journal, null, 1) + '\n');
    } catch (error) {
      throw new StateDirError(`cannot write the journal in ${this.dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    this.onCheckpoint?.(++this.writes);
  }

  loadProfile(): DeployProfileResponse | undefined {
    const value = readJson(statePath(this.dir, 'profile'));
    if (value === undefined) return undefined;
    const parsed = DeployProfileResponseSchema.safeParse(value);
    if (!parsed.success) throw new JournalError(`${statePath(this.dir, 'profile')} is damaged`);
    return parsed.data;
  }

  saveProfile(profile: DeployProfileResponse): void {
    try {
      writeFileDurably(statePath(this.dir, 'profile'), JSON.stringify(profile) + '\n');
    } catch (error) {
      throw new StateDirError(`cannot write in ${this.dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
}

export class MemoryJournal implements JournalPort {
  journal: Journal | undefined;
  profile: DeployProfileResponse | undefined;

  load(): Journal | undefined {
    return this.journal && structuredClone(this.journal);
  }

  save(journal: Journal): void {
    this.journal = structuredClone(journal);
  }

  loadProfile(): DeployProfileResponse | undefined {
    return this.profile;
  }

  saveProfile(profile: DeployProfileResponse): void {
    this.profile = profile;
  }
}

// What the agent keeps between runs so that it never enrolls twice: the AK and device key as
// TPM-wrapped blobs (useless outside this TPM), the device certificate and the service it
// belongs to. Written atomically (temporary file, fsync, rename) with mode 0600.
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { base64Decode, base64Encode } from '../../protocol/encoding.js';
import { writeFileDurably } from '../storage/durable-file.js';
import { statePath } from '../storage/state-dir.js';
import type { KeyBlob } from '../tpm/port.js';
import { EK_KINDS } from '../tpm/templates.js';

const KeyBlobSchema = z.object({ public: z.string(), private: z.string(), name: z.string(), parentName: z.string() });

export const EnrollmentStateSchema = z.object({
  version: z.literal(1),
  /** The service origin the keys were enrolled with; another service means a fresh enrollment. */
  server: z.string(),
  ekKind: z.enum(EK_KINDS),
  ak: KeyBlobSchema.optional(),
  deviceKey: KeyBlobSchema.optional(),
  deviceId: z.string().optional(),
  certificate: z.string().optional(),
  chain: z.string().optional(),
  deviceName: z.string().nullable().optional(),
  unverifiedHardware: z.boolean().optional(),
  joinedAt: z.string().optional(),
});

export type EnrollmentState = z.output<typeof EnrollmentStateSchema>;
export type StoredKeyBlob = z.output<typeof KeyBlobSchema>;

export class EnrollmentStateError extends Error {
  readonly code = 'ENROLLMENT_STATE_INVALID' as const;
}

export function blobToState(blob: KeyBlob): StoredKeyBlob {
  return { public: base64Encode(blob.public), private: base64Encode(blob.private), name: base64Encode(blob.name), parentName: base64Encode(blob.parentName) };
}

export function blobFromState(stored: StoredKeyBlob): KeyBlob {
  return { public: base64Decode(stored.public), private: base64Decode(stored.private), name: base64Decode(stored.name), parentName: base64Decode(stored.parentName) };
}

/** Where enrollment state lives: the state directory (EnrollmentStore), or memory for load generators. */
export interface EnrollmentStatePort {
  load(): EnrollmentState | undefined;
  save(state: EnrollmentState): void;
}

export class EnrollmentStore implements EnrollmentStatePort {
  constructor(readonly dir: string) {}

  load(): EnrollmentState | undefined {
    let text: string;
    try {
      text = readFileSync(statePath(this.dir, 'enrollment'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new EnrollmentStateError(`cannot read ${statePath(this.dir, 'enrollment')}: ${(error as Error).message}`);
    }
    try {
      return EnrollmentStateSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new EnrollmentStateError(`${statePath(this.dir, 'enrollment')} is damaged: ${(error as Error).message}`);
    }
  }

  save(state: EnrollmentState): void {
    // On disk before it replaces the old state: power loss leaves one or the other.
    writeFileDurably(statePath(this.dir, 'enrollment'), JSON.stringify(EnrollmentStateSchema.parse(state), null, 2) + '\n');
  }
}

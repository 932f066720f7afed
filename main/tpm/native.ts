// Loads the native tpm2-tss addon (native/) and declares its surface: bytes in, bytes out.
// Everything above this file talks to `Tpm` (tpm.ts), never to the addon directly.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

import { addonPath } from '../installation/layout.js';

import { TpmUnavailable } from './errors.js';

export interface NativePrimarySpec {
  hierarchy: 'owner' | 'endorsement';
  persistentHandle?: number;
  /** Marshalled TPM2B_PUBLIC used when the persistent handle is absent or not this kind of key. */
  template: Uint8Array;
  /** The name the primary must have (the parent a key blob was created under). */
  name?: Uint8Array;
}

export interface NativeKeyBlob {
  public: Uint8Array;
  private: Uint8Array;
}

export interface NativePcrRead {
  updateCounter: number;
  selection: Uint8Array;
  digests: Uint8Array;
}

/** One connection to one TPM; calls are queued and run in order on the addon's worker thread. */
export interface NativeTpmContext {
  open(): Promise<void>;
  close(): Promise<void>;
  /** Stop keeping the process alive for this TPM (it stopped answering). */
  abandon(): void;
  getCapability(args: { capability: number; property: number; count: number }): Promise<{ moreData: boolean; data: Uint8Array }>;
  getRandom(args: { size: number }): Promise<Uint8Array>;
  pcrRead(args: { selection: Uint8Array }): Promise<NativePcrRead[]>;
  nvRead(args: { index: number }): Promise<Uint8Array | null>;
  readPublic(args: { handle: number }): Promise<{ public: Uint8Array; name: Uint8Array } | null>;
  primaryPublic(args: { primary: NativePrimarySpec }): Promise<{ public: Uint8Array; name: Uint8Array; persistent: boolean }>;
  createKey(args: { parent: NativePrimarySpec; template: Uint8Array }): Promise<{ public: Uint8Array; private: Uint8Array; parentName: Uint8Array }>;
  loadKey(args: { parent: NativePrimarySpec; key: NativeKeyBlob }): Promise<{ name: Uint8Array }>;
  /** Makes an owner primary persistent at its handle: "already" there, "persisted" now, or "occupied" by another key (nothing changed). */
  persistPrimary(args: { primary: NativePrimarySpec }): Promise<'already' | 'persisted' | 'occupied'>;
  activateCredential(args: {
    parent: NativePrimarySpec;
    key: NativeKeyBlob;
    ek: NativePrimarySpec;
    credentialBlob: Uint8Array;
    secret: Uint8Array;
  }): Promise<Uint8Array>;
  quote(args: {
    parent: NativePrimarySpec;
    key: NativeKeyBlob;
    qualifyingData: Uint8Array;
    pcrSelection: Uint8Array;
  }): Promise<{ attest: Uint8Array; signature: Uint8Array; pcrs: NativePcrRead[] }>;
  certify(args: {
    parent: NativePrimarySpec;
    object: NativeKeyBlob;
    signer: NativeKeyBlob;
    qualifyingData: Uint8Array;
  }): Promise<{ attest: Uint8Array; signature: Uint8Array }>;
  sign(args: { parent: NativePrimarySpec; key: NativeKeyBlob; digest: Uint8Array }): Promise<Uint8Array>;
}

export interface NativeAddon {
  TpmContext: new (tcti: string | null) => NativeTpmContext;
  napiVersion: number;
}

let cached: NativeAddon | undefined;

export function loadNativeAddon(path = addonPath()): NativeAddon {
  if (cached && path === addonPath()) return cached;
  if (!existsSync(path)) {
    throw new TpmUnavailable('addon-missing', `the TPM addon is not built: ${path} does not exist`);
  }
  // The TSS logs every expected miss (an absent NV index, a TCTI it probes) to stderr; failures
  // reach callers as errors with the decoded return code instead. TSS2_LOG=all+debug turns it on.
  process.env['TSS2_LOG'] ??= 'all+none';
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    if (path === addonPath()) cached = addon;
    return addon;
  } catch (error) {
    throw new TpmUnavailable('addon-missing', `the TPM addon at ${path} does not load: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

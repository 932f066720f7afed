// What device setup is to the engine: the OOBE settings, each Device setup item (detect, then
// apply with the engine's help — downloads, a bearer token, a TPM-held client certificate), the
// logs it leaves for "Collect logs", and the end state. files.ts (FileProviders) is the real one.
import type { DeployProfileResponse } from '../../protocol/api/deploy.js';
import type { AssignedItem } from '../../protocol/items.js';
import type { DeploymentProfile } from '../../protocol/profile.js';
import type { Directory, SignInEndState } from '../../protocol/sign-in.js';
import type { OsUpdateResult } from '../target/port.js';

export interface ApplyContext {
  /** Reports progress of a long item (a download): 0..1 and a line for the ESP. */
  progress(fraction: number, detail: string): void;
  /** Downloads content named by the item into the provider's cache; resumable, size and SHA-256 checked. */
  fetchContent(content: { sha256: string; size: number }, onProgress?: (received: number, total: number) => void): Promise<string>;
  /** A current bearer token for the service (the privileged helper checks assignments with it). */
  authorization?(): Promise<string>;
  /** A new key in the TPM, certified by the device key, and the client certificate the service issues for it. */
  clientCertificate?(itemId: string): Promise<IssuedClientCertificate>;
  /** The name the join gave the device (its host name once the end state sets it); null: none. */
  deviceName?: string | null;
}

export interface IssuedClientCertificate {
  certificate: string;
  chain: string;
  /** The key as a TSS2 PRIVATE KEY file (its private part wrapped by the TPM's SRK). */
  keyFile: string;
}

/** What applying an item left to say: a line for the ESP, and whether the device must restart. */
export interface ApplyResult {
  rebootRequired: boolean;
  detail: string | null;
}

/** What the ESP applies: OOBE settings, Device setup items and the end state. */
/** What the end state is configured for: the device's name, the organisation's branding, its primary user. */
export interface EndStateDevice {
  deviceName: string | null;
  branding: DeployProfileResponse['branding'];
  /** The registration's assigned user (null: none; undefined: not asked, as in labs without a service). */
  primaryUser?: string | null;
}

export interface ProvidersPort {
  /** Language, region (formats), keyboard layouts and time zone: the profile's, or chosen on the OOBE pages. */
  applyOobe(settings: { language: string | null; region?: string | null; keyboard: string | null; secondKeyboard?: string | null; timeZone: string | null }): Promise<void>;
  /** Whether the item (this version) is already in place: applied before a crash, or by hand. */
  /** `deviceName`: the name the device gets (ApplyContext's). */
  detect(item: AssignedItem, deviceName?: string | null): Promise<boolean>;
  apply(item: AssignedItem, context: ApplyContext): Promise<ApplyResult>;
  /** What device setup logged on the device for these items (script and installer output, the apply log), for "Collect logs". */
  deviceLogs?(items: readonly AssignedItem[]): Promise<{ path: string; content: Buffer }[]>;
  /** The distribution's updates ("Critical updates"): what was upgraded, and whether the device must restart. */
  applyOsUpdates(request: { mode: 'security' | 'packages'; packages: string[]; timeoutSeconds: number }): Promise<OsUpdateResult>;
  /** Restarts the device for updates that need it, where the system can (systemd); false where it cannot. */
  restartForUpdates(): Promise<boolean>;
  /** The sign-in screen (for the directory's members, the primary user where the profile says), or the kiosk account with auto-logon. */
  configureEndState(endState: DeploymentProfile['endState'], device: EndStateDevice): Promise<void>;
  /**
   * Directory sign-in brought up to date with the device's primary user (a check-in): true when it
   * changed, false when it was already so.
   */
  updateDirectorySignIn(signIn: SignInEndState & { directory: Directory }, primaryUser: string | null): Promise<boolean>;
}

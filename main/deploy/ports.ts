// What the engine drives (docs/architecture.md#the-self-deploy-engine): each port has a real
// implementation for devices and may have a fake for unit tests of one module — never the proof
// that the product works, which runs against the real service, swtpm and files.
import type { DeployProfileResponse } from '../../protocol/api/deploy.js';
import type { AssignedItem } from '../../protocol/items.js';
import type { DeploymentProfile } from '../../protocol/profile.js';
import type { DeviceApi } from '../backend-client/device-api.js';

/** The deployment service as the engine calls it (DeviceApi over HTTPS). */
export type BackendPort = Pick<
  DeviceApi,
  'server' | 'tokenUrl' | 'probe' | 'profile' | 'challenge' | 'respond' | 'join' | 'token' | 'mdmEnroll' | 'assignments' | 'clientCertificate' | 'status' | 'complete' | 'download' | 'diagnostics'
>;

export interface ClockPort {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: ClockPort = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface NetworkStatus {
  medium: 'wired' | 'wireless' | 'none';
  /** The interface carrying the default route. */
  interface: string | null;
}

/** A Wi-Fi network in range, as the OOBE's network page lists it. */
export interface WifiNetwork {
  ssid: string;
  security: 'open' | 'wpa2' | 'wpa3' | 'enterprise';
  /** 0–100. */
  signal: number;
  connected: boolean;
}

export interface NetworkPort {
  /** The medium of the interface that carries the default route, if any. */
  status(): Promise<NetworkStatus>;
  /** Resolves a host name; rejects with the resolver's error code. */
  resolve(host: string): Promise<string[]>;
  /** Connects to Wi-Fi (NetworkManager on devices); the profile's network items use the providers. */
  connectWifi?(ssid: string, psk: string | null): Promise<void>;
  /** The networks in range (the OOBE network page). */
  scanWifi?(): Promise<WifiNetwork[]>;
}

export interface ApplyContext {
  /** Reports progress of a long item (a download): 0..1 and a line for the ESP. */
  progress(fraction: number, detail: string): void;
  /** Downloads content named by the item into the provider's cache; resumable, size and SHA-256 checked. */
  fetchContent(content: { sha256: string; size: number }, onProgress?: (received: number, total: number) => void): Promise<string>;
  /** A current bearer token for the service (the privileged helper checks assignments with it). */
  authorization?(): Promise<string>;
  /** A new key in the TPM, certified by the device key, and the client certificate the service issues for it. */
  clientCertificate?(itemId: string): Promise<IssuedClientCertificate>;
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
export interface ProvidersPort {
  /** Language, region (formats), keyboard layouts and time zone: the profile's, or chosen on the OOBE pages. */
  applyOobe(settings: { language: string | null; region?: string | null; keyboard: string | null; secondKeyboard?: string | null; timeZone: string | null }): Promise<void>;
  /** Whether the item (this version) is already in place: applied before a crash, or by hand. */
  detect(item: AssignedItem): Promise<boolean>;
  apply(item: AssignedItem, context: ApplyContext): Promise<ApplyResult>;
  /** What device setup logged on the device for these items (script and installer output, the apply log), for "Collect logs". */
  deviceLogs?(items: readonly AssignedItem[]): Promise<{ path: string; content: Buffer }[]>;
  /** The sign-in screen, or the kiosk account with auto-logon. */
  configureEndState(endState: DeploymentProfile['endState'], device: { deviceName: string | null; branding: DeployProfileResponse['branding'] }): Promise<void>;
}

// What the engine drives (docs/architecture.md#the-self-deploy-engine): each collaborator is a port
// declared in its own room — the TPM, the hardware identity, the service, enrollment, device
// setup, the journal, the network, updates, the clock — with a real implementation for devices
// and, for unit tests of one step, fakes (testing/fakes.ts). The proof that the product works runs
// against the real service, swtpm and files.
import type { EspFailure } from '../../protocol/esp.js';
import type { OobeChoice, OobePage } from '../../protocol/ipc.js';
import type { BackendPort } from '../backend-client/port.js';
import type { EnrollmentPort } from '../enrollment/port.js';
import type { IdentitySource, TpmIdentity } from '../identity/identity.js';
import type { NetworkPort } from '../network/port.js';
import type { ProvidersPort } from '../providers/port.js';
import type { UpdatesPort } from '../updates/port.js';
import type { ClockPort } from './clock.js';
import type { JournalPort } from './journal.js';

export interface EngineOptions {
  /** The TPM: its manufacturer and EK are part of the hardware hash. */
  tpm: TpmIdentity;
  identity: IdentitySource;
  api: BackendPort;
  enrollment: EnrollmentPort;
  providers: ProvidersPort;
  journal: JournalPort;
  network: NetworkPort;
  /** Where downloaded content is kept until applied (resumable; in the state directory). */
  contentDir: string;
  clock?: ClockPort;
  agent: { version: string; os: { name: string; version: string; kernel: string }; hostname: string };
  /** Wi-Fi to join when no network is up (a technician's choice, as on the OOBE network page). */
  wifi?: { ssid: string; psk: string | null };
  /** Before the profile gives the ESP timeout: how long to wait for network, DNS and the service. */
  preflightWaitMs?: number;
  /** The OOBE pages: ask the person at the device (a UI); without it, the profile's or the image's settings stay. */
  askOobe?: (pages: OobePage[]) => Promise<OobeChoice>;
  /** Critical updates during the OOBE (the service's feed); without it the step is skipped. */
  updates?: UpdatesPort;
  /** How long the updates step waits for the feed before it goes on without (default one minute). */
  updateCheckMs?: number;
  /** A blocking item failed and the profile allows continuing: ask (a technician, a flag). */
  decideContinue?: (failure: EspFailure) => Promise<boolean>;
  log?: (event: string, detail?: Record<string, unknown>) => void;
}

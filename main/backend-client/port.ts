// The deployment service as the agent calls it: each operation of the device API (docs/protocol.md)
// with the answer its endpoint declares. DeviceApi (device-api.ts) is the real one over HTTPS; the
// engine, enrollment and the helper's checks take only the part they call.
import type { AttestChallengeRequest, AttestResponseRequest, JoinRequest } from '../../protocol/api/attest.js';
import type { AnswerOf } from '../../protocol/api/endpoint.js';
import type { device } from '../../protocol/api/endpoints.js';
import type { CheckInRequest, ClientCertificateRequest, MdmEnrollRequest, StatusRequest } from '../../protocol/api/mdm.js';

/** What the download of content needs: where it goes, and what it must be. */
export interface ContentDownload {
  /** Where the bytes go; a partial file from an earlier attempt is resumed with a Range request. */
  file: string;
  size: number;
  sha256: string;
  onProgress?: (received: number, total: number) => void;
}

/** The health endpoint, asked once: reachability, round trip and the service's clock. */
export interface Probe {
  status: number;
  date: string | undefined;
  roundTripMs: number;
}

export interface BackendPort {
  /** The service's origin. */
  readonly server: URL;
  /** The `aud` of client assertions: this service's token endpoint. */
  readonly tokenUrl: string;
  probe(): Promise<Probe>;
  profile(hardwareHash: string): Promise<AnswerOf<typeof device.profile>>;
  challenge(request: AttestChallengeRequest): Promise<AnswerOf<typeof device.attestChallenge>>;
  respond(request: AttestResponseRequest): Promise<AnswerOf<typeof device.attestResponse>>;
  join(request: JoinRequest): Promise<AnswerOf<typeof device.join>>;
  /** An access token for an assertion `assertion` signs anew for each attempt (single-use jti). */
  token(assertion: () => Promise<string>): Promise<AnswerOf<typeof device.token>>;
  mdmEnroll(accessToken: string, request: MdmEnrollRequest): Promise<AnswerOf<typeof device.mdmEnroll>>;
  checkIn(accessToken: string, request: CheckInRequest): Promise<AnswerOf<typeof device.checkIn>>;
  assignments(accessToken: string): Promise<AnswerOf<typeof device.mdmAssignments>>;
  clientCertificate(accessToken: string, itemId: string, request: ClientCertificateRequest): Promise<AnswerOf<typeof device.clientCertificate>>;
  status(accessToken: string, request: StatusRequest): Promise<AnswerOf<typeof device.status>>;
  complete(accessToken: string, endState: 'sign-in' | 'kiosk', continuedPastFailure: string | null): Promise<AnswerOf<typeof device.complete>>;
  diagnostics(accessToken: string, bundle: Uint8Array): Promise<AnswerOf<typeof device.diagnostics>>;
  /** Downloads content by digest into `options.file`, resuming a partial file; size and SHA-256 checked. */
  download(accessToken: string, options: ContentDownload): Promise<void>;
}

/** What attestation, join and sign-in call. */
export type EnrollmentApi = Pick<BackendPort, 'server' | 'tokenUrl' | 'challenge' | 'respond' | 'join' | 'token'>;

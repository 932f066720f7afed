// The device API as the agent calls it: each operation of docs/protocol.md with its schemas,
// over the shared HTTPS client (service CA only, timeouts, retries with backoff and jitter).
import {
  AttestChallengeResponseSchema,
  AttestResponseResponseSchema,
  JoinResponseSchema,
  TokenResponseSchema,
  type AttestChallengeRequest,
  type AttestResponseRequest,
  type JoinRequest,
} from '../../protocol/api/attest.js';
import { DeployProfileResponseSchema } from '../../protocol/api/deploy.js';
import {
  AssignmentsResponseSchema,
  ClientCertificateResponseSchema,
  DeployCompleteResponseSchema,
  DiagnosticsResponseSchema,
  MdmEnrollResponseSchema,
  StatusResponseSchema,
  type ClientCertificateRequest,
  type MdmEnrollRequest,
  type StatusRequest,
} from '../../protocol/api/mdm.js';
import { ServiceClient, type DownloadOptions, type ServiceClientOptions } from '../../protocol/node/https-client.js';
import { DEVICE_RETRY } from '../../protocol/retry.js';

export class DeviceApi {
  private readonly client: ServiceClient;

  constructor(options: Omit<ServiceClientOptions, 'retry'> & { retry?: ServiceClientOptions['retry'] }) {
    this.client = new ServiceClient({ retry: DEVICE_RETRY, ...options });
  }

  get server(): URL {
    return this.client.server;
  }

  /** The HTTPS client itself (the update feed, which is not part of the device API, uses it too). */
  get http(): ServiceClient {
    return this.client;
  }

  /** The `aud` of client assertions: this service's token endpoint. */
  get tokenUrl(): string {
    return new URL('/v1/token', this.client.server).href;
  }

  close(): void {
    this.client.close();
  }

  /** One GET of /v1/health without retries: reachability, round trip and the service's clock. */
  probe() {
    return this.client.probe('/v1/health');
  }

  profile(hardwareHash: string) {
    return this.client.call('POST', '/v1/deploy/profile', { schema: DeployProfileResponseSchema, json: { hardwareHash } });
  }

  challenge(request: AttestChallengeRequest) {
    return this.client.call('POST', '/v1/attest/challenge', { schema: AttestChallengeResponseSchema, json: request });
  }

  respond(request: AttestResponseRequest) {
    return this.client.call('POST', '/v1/attest/response', { schema: AttestResponseResponseSchema, json: request });
  }

  join(request: JoinRequest) {
    return this.client.call('POST', '/v1/join', { schema: JoinResponseSchema, json: request });
  }

  /**
   * A device access token for a client assertion that `assertion` signs — a new one for every
   * attempt: an assertion is single-use (its jti), so a retry after an answer was lost must not
   * send the one the service may already have accepted.
   */
  token(assertion: () => Promise<string>) {
    return this.client.call('POST', '/v1/token', {
      schema: TokenResponseSchema,
      form: async () => ({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(),
      }),
    });
  }

  // ---- management, with the device's access token ----

  private bearer(accessToken: string) {
    return { authorization: `Bearer ${accessToken}` };
  }

  mdmEnroll(accessToken: string, request: MdmEnrollRequest) {
    return this.client.call('POST', '/v1/mdm/enroll', { schema: MdmEnrollResponseSchema, json: request, headers: this.bearer(accessToken) });
  }

  assignments(accessToken: string) {
    return this.client.call('GET', '/v1/mdm/assignments', { schema: AssignmentsResponseSchema, headers: this.bearer(accessToken) });
  }

  clientCertificate(accessToken: string, itemId: string, request: ClientCertificateRequest) {
    return this.client.call('POST', `/v1/mdm/certificates/${encodeURIComponent(itemId)}`, { schema: ClientCertificateResponseSchema, json: request, headers: this.bearer(accessToken) });
  }

  status(accessToken: string, request: StatusRequest) {
    return this.client.call('POST', '/v1/mdm/status', { schema: StatusResponseSchema, json: request, headers: this.bearer(accessToken) });
  }

  complete(accessToken: string, endState: 'sign-in' | 'kiosk', continuedPastFailure: string | null) {
    return this.client.call('POST', '/v1/deploy/complete', { schema: DeployCompleteResponseSchema, json: { endState, continuedPastFailure }, headers: this.bearer(accessToken) });
  }

  diagnostics(accessToken: string, bundle: Uint8Array) {
    return this.client.call('POST', '/v1/diagnostics', { schema: DiagnosticsResponseSchema, bytes: bundle, contentType: 'application/gzip', headers: this.bearer(accessToken) });
  }

  /** Downloads content by digest into `options.file`, resuming a partial file; size and SHA-256 checked. */
  download(accessToken: string, options: DownloadOptions) {
    return this.client.download(`/v1/content/${options.sha256}`, options, this.bearer(accessToken));
  }
}

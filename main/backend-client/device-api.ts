// The device API as the agent calls it: each endpoint of protocol/api/endpoints/device.ts over the
// shared HTTPS client (service CA only, timeouts, the retry policy of protocol/retry.ts), with the
// device's access token where the endpoint needs one.
import type { AttestChallengeRequest, AttestResponseRequest, EkCheckRequest, JoinRequest } from '../../protocol/api/attest.js';
import { endpointPath } from '../../protocol/api/endpoint.js';
import { device } from '../../protocol/api/endpoints.js';
import type { CheckInRequest, ClientCertificateRequest, MdmEnrollRequest, StatusRequest } from '../../protocol/api/mdm.js';
import { ServiceClient, type ServiceClientOptions } from '../../protocol/node/https-client.js';
import { DEVICE_RETRY } from '../../protocol/retry.js';
import type { BackendPort, ContentDownload } from './port.js';

export class DeviceApi implements BackendPort {
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
    return new URL(endpointPath(device.token), this.client.server).href;
  }

  close(): void {
    this.client.close();
  }

  /** One GET of the health endpoint without retries: reachability, round trip and the service's clock. */
  probe() {
    return this.client.probe(device.health);
  }

  profile(hardwareHash: string) {
    return this.client.request(device.profile, { body: { hardwareHash } });
  }

  challenge(request: AttestChallengeRequest) {
    return this.client.request(device.attestChallenge, { body: request });
  }

  /** Would this TPM be trusted? (selfdeploy tpm check: registers and changes nothing) */
  checkEk(request: EkCheckRequest) {
    return this.client.request(device.ekCheck, { body: request });
  }

  respond(request: AttestResponseRequest) {
    return this.client.request(device.attestResponse, { body: request });
  }

  join(request: JoinRequest) {
    return this.client.request(device.join, { body: request });
  }

  /**
   * A device access token for a client assertion that `assertion` signs — a new one for every
   * attempt: an assertion is single-use (its jti), so a retry after an answer was lost must not
   * send the one the service may already have accepted.
   */
  token(assertion: () => Promise<string>) {
    return this.client.request(device.token, {
      body: async () => ({
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
    return this.client.request(device.mdmEnroll, { body: request, headers: this.bearer(accessToken) });
  }

  checkIn(accessToken: string, request: CheckInRequest) {
    return this.client.request(device.checkIn, { body: request, headers: this.bearer(accessToken) });
  }

  assignments(accessToken: string) {
    return this.client.request(device.mdmAssignments, { headers: this.bearer(accessToken) });
  }

  clientCertificate(accessToken: string, itemId: string, request: ClientCertificateRequest) {
    return this.client.request(device.clientCertificate, { params: { itemId }, body: request, headers: this.bearer(accessToken) });
  }

  status(accessToken: string, request: StatusRequest) {
    return this.client.request(device.status, { body: request, headers: this.bearer(accessToken) });
  }

  complete(accessToken: string, endState: 'sign-in' | 'kiosk', continuedPastFailure: string | null) {
    return this.client.request(device.complete, { body: { endState, continuedPastFailure }, headers: this.bearer(accessToken) });
  }

  diagnostics(accessToken: string, bundle: Uint8Array) {
    return this.client.request(device.diagnostics, { body: bundle, headers: this.bearer(accessToken) });
  }

  /** Downloads content by digest into `options.file`, resuming a partial file; size and SHA-256 checked. */
  download(accessToken: string, options: ContentDownload) {
    return this.client.download(device.content, { ...options, params: { sha256: options.sha256 }, headers: this.bearer(accessToken) });
  }
}

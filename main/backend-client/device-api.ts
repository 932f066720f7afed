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
import { DEVICE_RETRY, ServiceClient, type ServiceClientOptions } from '../../protocol/node/https-client.js';

export class DeviceApi {
  private readonly client: ServiceClient;

  constructor(options: Omit<ServiceClientOptions, 'retry'> & { retry?: ServiceClientOptions['retry'] }) {
    this.client = new ServiceClient({ retry: DEVICE_RETRY, ...options });
  }

  get server(): URL {
    return this.client.server;
  }

  /** The `aud` of client assertions: this service's token endpoint. */
  get tokenUrl(): string {
    return new URL('/v1/token', this.client.server).href;
  }

  close(): void {
    this.client.close();
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

  token(clientAssertion: string) {
    return this.client.call('POST', '/v1/token', {
      schema: TokenResponseSchema,
      form: {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: clientAssertion,
      },
    });
  }
}

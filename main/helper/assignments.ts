// Which content this device was assigned: the helper asks the deployment service itself (its own
// configured address and CA, with the agent's bearer token) before it runs a script or installs a
// package as root, so a compromised agent cannot make it run anything the service did not assign.
import type { AssignmentsResponse } from '../../protocol/api/mdm.js';
import { HelperError } from './errors.js';

export interface ContentAuthority {
  /** Resolves when `sha256` is the content of an app or script assigned to the device; throws CONTENT_NOT_ASSIGNED otherwise. */
  check(sha256: string, token: string | undefined): Promise<void>;
}

/** The service's assignments (GET /v1/mdm/assignments), cached briefly per token. */
export class ServiceAssignments implements ContentAuthority {
  private readonly cache = new Map<string, { at: number; digests: Set<string> }>();

  constructor(
    private readonly api: { assignments(token: string): Promise<AssignmentsResponse> },
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async check(sha256: string, token: string | undefined): Promise<void> {
    if (!token) throw new HelperError('CONTENT_NOT_ASSIGNED', 'the request carries no token to ask the service what is assigned');
    let entry = this.cache.get(token);
    if (!entry || this.now() - entry.at > this.ttlMs || !entry.digests.has(sha256)) {
      let response: AssignmentsResponse;
      try {
        response = await this.api.assignments(token);
      } catch (error) {
        throw new HelperError('CONTENT_NOT_ASSIGNED', `the service could not be asked what is assigned: ${(error as Error).message}`);
      }
      const digests = new Set<string>();
      for (const item of response.items) if (item.kind === 'app' || item.kind === 'script') digests.add(item.payload.content.sha256);
      entry = { at: this.now(), digests };
      this.cache.clear(); // one device, one current token
      this.cache.set(token, entry);
    }
    if (!entry.digests.has(sha256)) throw new HelperError('CONTENT_NOT_ASSIGNED', `content ${sha256} is not assigned to this device`);
  }
}

// Which items this device was assigned: the helper asks the deployment service itself (its own
// configured address and CA, with the agent's bearer token) before it changes anything for an item
// — the item's kind and names decide the places it may change, and a script or package must be
// the item's own content — so a compromised agent cannot make it change anything, or run anything,
// the service did not assign.
import type { AssignmentsResponse } from '../../protocol/api/mdm.js';
import { itemKey, type AssignedItem } from '../../protocol/items.js';
import { HelperError } from './errors.js';

export interface ItemAuthority {
  /** The item assigned to the device under `key` (id@version); throws CONTENT_NOT_ASSIGNED otherwise. */
  item(key: string, token: string | undefined): Promise<AssignedItem>;
}

/** The service's assignments (GET /v1/mdm/assignments), cached briefly per token. */
export class ServiceAssignments implements ItemAuthority {
  private readonly cache = new Map<string, { at: number; items: Map<string, AssignedItem> }>();

  constructor(
    private readonly api: { assignments(token: string): Promise<AssignmentsResponse> },
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async item(key: string, token: string | undefined): Promise<AssignedItem> {
    if (!token) throw new HelperError('CONTENT_NOT_ASSIGNED', `the request for ${key} carries no token to ask the service what is assigned`);
    let entry = this.cache.get(token);
    if (!entry || this.now() - entry.at > this.ttlMs || !entry.items.has(key)) {
      let response: AssignmentsResponse;
      try {
        response = await this.api.assignments(token);
      } catch (error) {
        throw new HelperError('CONTENT_NOT_ASSIGNED', `the service could not be asked what is assigned: ${(error as Error).message}`);
      }
      entry = { at: this.now(), items: new Map(response.items.map((item) => [itemKey(item), item])) };
      this.cache.clear(); // one device, one current token
      this.cache.set(token, entry);
    }
    const item = entry.items.get(key);
    if (!item) throw new HelperError('CONTENT_NOT_ASSIGNED', `item ${key} is not assigned to this device`);
    return item;
  }
}

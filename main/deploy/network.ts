// The device's network as the engine's network step sees it: the medium of the interface that
// carries the default route (systeminformation), and name resolution (the system resolver).
import { lookup } from 'node:dns/promises';

import si from 'systeminformation';

import type { NetworkPort, NetworkStatus } from './ports.js';

export class SystemNetwork implements NetworkPort {
  async status(): Promise<NetworkStatus> {
    const name = await si.networkInterfaceDefault();
    if (!name) return { medium: 'none', interface: null };
    const list = await si.networkInterfaces();
    const found = (Array.isArray(list) ? list : [list]).find((n) => n.iface === name);
    if (!found || found.operstate === 'down') return { medium: 'none', interface: null };
    return { medium: found.type === 'wireless' || /^wl/.test(name) ? 'wireless' : 'wired', interface: name };
  }

  async resolve(host: string): Promise<string[]> {
    const addresses = await lookup(host, { all: true });
    return addresses.map((a) => a.address);
  }
}

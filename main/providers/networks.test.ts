import { createPrivateKey, createPublicKey } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { assigned, scratchTarget } from './testing/scratch.js';

const wireguard = (version: number, endpoint: string) =>
  assigned({ kind: 'network', name: 'office-vpn', version, payload: { type: 'wireguard', address: '10.8.0.7/32', peerPublicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=', endpoint, allowedIps: ['10.0.0.0/8'] } });

describe('network profiles', () => {
  it('make a WireGuard key pair on the device, keep it for later versions, and show only its public key', async () => {
    const t = scratchTarget();
    const first = await t.providers.apply(wireguard(1, 'vpn.fabrikam.example:51820'), t.context);
    const keyfile = 'etc/NetworkManager/system-connections/selfdeploy-office-vpn.nmconnection';
    const privateKey = /^private-key=(.+)$/m.exec(t.read(keyfile))![1]!;
    expect(t.stat(keyfile).mode & 0o777).toBe(0o600);
    // The public key the detail shows is the one of the private key in the file (RFC 8410 DER).
    const der = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), Buffer.from(privateKey, 'base64')]);
    const publicKey = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
    expect(first.detail).toBe(`WireGuard public key ${publicKey}`);
    expect(first.detail).not.toContain(privateKey);
    expect(t.read(keyfile)).toContain('[wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=]\nendpoint=vpn.fabrikam.example:51820\nallowed-ips=10.0.0.0/8;\n');

    const second = await t.providers.apply(wireguard(2, 'vpn2.fabrikam.example:51820'), t.context);
    expect(second.detail).toBe(first.detail);
    expect(t.read(keyfile)).toContain(`private-key=${privateKey}\n`);
    expect(await t.providers.detect(wireguard(2, 'vpn2.fabrikam.example:51820'))).toBe(true);
  });

  it('escape what a keyfile would read as syntax in an SSID', async () => {
    const t = scratchTarget();
    await t.providers.apply(assigned({ kind: 'network', name: 'odd', payload: { type: 'wifi', ssid: ' lead\\back\nline', security: 'open' } }), t.context);
    expect(t.read('etc/NetworkManager/system-connections/selfdeploy-odd.nmconnection')).toContain('ssid=\\slead\\\\back\\nline\n');
  });
});

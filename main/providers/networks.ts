// Network profiles as NetworkManager keyfiles (/etc/NetworkManager/system-connections, mode 0600:
// NetworkManager ignores keyfiles others can read): Wi-Fi (open, WPA2-PSK, WPA3-SAE, EAP-TLS),
// wired 802.1X (EAP-TLS with a device client certificate whose key is in the TPM) and WireGuard. A WireGuard key pair is made on the device and kept across versions;
// only its public key leaves the device (in the item's detail for the administrator).
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

import type { ItemBody } from '../../protocol/items.js';
import { clientCertificatePaths, trustedRootPath } from './certificates.js';
import { ItemError, safe, textOf, type Plan } from './placed.js';
import { placePath } from '../target/places.js';
import type { TargetPort } from '../target/port.js';

/** Escapes a value for a NetworkManager keyfile (GLib key file syntax). */
function keyfileValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t').replace(/^ /, '\\s');
}

export function keyfilePath(name: string): string {
  return placePath('networkKeyfile', { name: safe(name, 'network') });
}

// X25519 keys as raw 32 bytes (WireGuard's base64 form) ↔ PKCS#8/SPKI DER (RFC 8410).
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function wireguardPublicKey(privateKey: string): string {
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, Buffer.from(privateKey, 'base64')]), format: 'der', type: 'pkcs8' });
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}

function newWireguardKey(): string {
  const { privateKey } = generateKeyPairSync('x25519');
  return privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64');
}

/**
 * The [802-1x] section for EAP-TLS with a client certificate whose key is in the TPM and the CA
 * the server must chain to. The key is the TSS2 key file as DER: wpa_supplicant (2.10, Debian 13)
 * hands a PEM "TSS2 PRIVATE KEY" to the OpenSSL engine "tpm2" (openssl_tpm2_engine), which Debian
 * does not package, while the same key as DER goes through OpenSSL 3's decoders, where the
 * tpm2-openssl provider loads it (the deb activates it for wpa_supplicant.service).
 */
async function eapTls(target: TargetPort, name: string, eap: { identity: string; clientCertificate: string; caCertificate: string; serverDomain?: string | undefined }): Promise<string[]> {
  const client = clientCertificatePaths(eap.clientCertificate);
  const ca = trustedRootPath(eap.caCertificate);
  for (const [path, what] of [[client.certificate, `the client certificate "${eap.clientCertificate}"`], [client.keyDer, `the key of "${eap.clientCertificate}"`], [ca, `the CA certificate "${eap.caCertificate}"`]] as const) {
    if ((await target.stat(path))?.type !== 'file') throw new ItemError('ITEM_FAILED', `network "${name}" needs ${what} (${path}), which is not on the device: assign that certificate item to the same group`);
  }
  const lines = ['', '[802-1x]', 'eap=tls;', `identity=${keyfileValue(eap.identity)}`, `ca-cert=${ca}`, `client-cert=${client.certificate}`, `private-key=${client.keyDer}`, 'private-key-password-flags=4'];
  if (eap.serverDomain) lines.push(`domain-suffix-match=${eap.serverDomain}`);
  return lines;
}

export interface NetworkPlan extends Plan {
  /** What the administrator needs to know (the WireGuard public key). */
  detail: string | null;
}

export async function networkPlan(target: TargetPort, item: { name: string; payload: ItemBody<'network'> }): Promise<NetworkPlan> {
  const n = item.payload;
  const path = keyfilePath(item.name);
  const lines = ['[connection]', `id=${keyfileValue(item.name)}`];
  let detail: string | null = null;
  if (n.type === 'wifi') {
    lines.push('type=wifi', `autoconnect=${n.autoConnect}`, '', '[wifi]', 'mode=infrastructure', `ssid=${keyfileValue(n.ssid)}`, `hidden=${n.hidden}`);
    if (n.security !== 'open') {
      lines.push('', '[wifi-security]', `key-mgmt=${n.security === 'wpa3-sae' ? 'sae' : n.security === 'wpa2-eap-tls' ? 'wpa-eap' : 'wpa-psk'}`);
      if (n.psk) lines.push(`psk=${keyfileValue(n.psk)}`);
    }
    if (n.eap) lines.push(...(await eapTls(target, item.name, n.eap)));
    lines.push('', '[ipv4]', 'method=auto', '', '[ipv6]', 'method=auto');
  } else if (n.type === 'wired-8021x') {
    lines.push('type=ethernet', ...(await eapTls(target, item.name, n)), '', '[ipv4]', 'method=auto', '', '[ipv6]', 'method=auto');
  } else {
    // The key made for an earlier version stays: the peer knows its public key.
    const existing = (await textOf(target, path))?.match(/^private-key=([A-Za-z0-9+/]{43}=)$/m)?.[1];
    const privateKey = existing ?? newWireguardKey();
    detail = `WireGuard public key ${wireguardPublicKey(privateKey)}`;
    lines.push('type=wireguard', `interface-name=wg-${safe(item.name, 'network').slice(0, 12)}`, '', '[wireguard]', `private-key=${privateKey}`, '', `[wireguard-peer.${n.peerPublicKey}]`, `endpoint=${keyfileValue(n.endpoint)}`, `allowed-ips=${n.allowedIps.join(';')};`, '', '[ipv4]', `address1=${n.address}`, 'method=manual', '', '[ipv6]', 'method=disabled');
  }
  // Holds keys: readable by root only, as NetworkManager requires.
  return { files: [{ path, content: lines.join('\n') + '\n', mode: 0o600 }], commands: [{ argv: ['nmcli', 'connection', 'reload'], inverse: ['nmcli', 'connection', 'reload'] }], detail };
}

import { describe, expect, it } from 'vitest';

import { assigned, scratchTarget } from './testing/scratch.js';

describe('certificates', () => {
  it('need the device’s TPM and the service for a device client certificate, and say so', async () => {
    const t = scratchTarget();
    const item = assigned({ kind: 'certificate', name: 'device-network', payload: { type: 'device-client' } });
    expect(await t.providers.detect(item)).toBe(false);
    await expect(t.providers.apply(item, t.context)).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining("needs the device's TPM") });
  });

  it('take a damaged client certificate or key file as not in place, so that it is made again', async () => {
    const t = scratchTarget({ 'etc/selfdeploy/certificates/wired.crt': 'not a certificate', 'etc/selfdeploy/certificates/wired.tss2.pem': '-----BEGIN TSS2 PRIVATE KEY-----\nAAAA\n-----END TSS2 PRIVATE KEY-----\n' });
    expect(await t.providers.detect(assigned({ kind: 'certificate', name: 'wired', payload: { type: 'device-client' } }))).toBe(false);
  });

  it('refuse an 802.1X network whose client certificate is not on the device, writing nothing', async () => {
    const t = scratchTarget();
    const before = t.tree();
    const wired = assigned({ kind: 'network', name: 'wired', payload: { type: 'wired-8021x', identity: 'kiosk', clientCertificate: 'device-network', caCertificate: 'fabrikam-root' } });
    await expect(t.providers.apply(wired, t.context)).rejects.toMatchObject({ code: 'ITEM_FAILED', message: expect.stringContaining('needs the client certificate "device-network"') });
    expect(t.tree()).toEqual(before);
  });

  it('refuse WPA2-Enterprise Wi-Fi without its EAP settings, in the schema', () => {
    expect(() => assigned({ kind: 'network', name: 'corp', payload: { type: 'wifi', ssid: 'Corp', security: 'wpa2-eap-tls' } })).toThrow(/eap/);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { decodeHardwareHash } from '../../protocol/hardware-hash.js';
import { FileIdentitySource, IdentityError, type TpmIdentity, internalDiskSerials, meaningful, meaningfulUuid, physicalMacs, readDeviceIdentity, type IdentitySource } from './identity.js';

const ek = { digest: new Uint8Array(32).fill(0xab) };
const tpm: TpmIdentity = { manufacturer: () => Promise.resolve('IFX'), primaryEk: () => Promise.resolve({ ek }) };
const source = (identity: Partial<Awaited<ReturnType<IdentitySource['read']>>>): IdentitySource => ({
  description: 'the test firmware',
  read: () => Promise.resolve({ serial: 'PF3ABC12', manufacturer: 'LENOVO', model: '21HD', smbiosUuid: null, macs: [], diskSerials: [], ...identity }),
});

describe('hardware identity', () => {
  it('treats firmware placeholders as missing', () => {
    for (const value of ['', '  ', '-', 'To Be Filled By O.E.M.', 'Default string', 'System Serial Number', '0000000000', 'FFFFFFFF', 'None', 'N/A']) expect(meaningful(value), value).toBeNull();
    expect(meaningful(' PF3ABC12 ')).toBe('PF3ABC12');
    expect(meaningful('0F1234')).toBe('0F1234');
  });

  it('keeps a real SMBIOS UUID and drops all-zero and all-one ones', () => {
    expect(meaningfulUuid('4C4C4544-0031-3510-8052-B4C04F4B4E32')).toBe('4c4c4544-0031-3510-8052-b4c04f4b4e32');
    expect(meaningfulUuid('00000000-0000-0000-0000-000000000000')).toBeNull();
    expect(meaningfulUuid('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF')).toBeNull();
    expect(meaningfulUuid('')).toBeNull();
  });

  it('keeps the MACs of physical interfaces only', () => {
    const nic = (iface: string, mac: string, extra: Partial<{ internal: boolean; virtual: boolean; type: string }> = {}) => ({ iface, mac, internal: false, virtual: false, type: 'wired', ...extra });
    expect(
      physicalMacs([
        nic('lo', '00:00:00:00:00:00', { internal: true, type: 'virtual' }),
        nic('enp3s0', '3C:52:82:AA:BB:CC'),
        nic('wlp2s0', '9c:b6:d0:11:22:33', { type: 'wireless' }),
        nic('docker0', '02:42:ac:11:00:01'),
        nic('br-1234', '00:16:3e:00:00:01'),
        nic('veth9', '00:16:3e:00:00:02'),
        nic('virbr0', '52:54:00:00:00:03'),
        nic('eth1', '02:fc:00:00:00:01'), // locally administered: randomised or made up
        nic('tun0', '00:00:00:00:00:00', { virtual: true }),
      ]),
    ).toEqual(['3c:52:82:aa:bb:cc', '9c:b6:d0:11:22:33']);
  });

  it('keeps internal disks with a serial and leaves out USB ones', () => {
    expect(
      internalDiskSerials([
        { serialNum: 'S4EWNX0R123456', interfaceType: 'NVMe', type: 'NVMe' },
        { serialNum: '4C530001230215104523', interfaceType: 'USB', type: 'HD' },
        { serialNum: '', interfaceType: 'SATA', type: 'SSD' },
      ]),
    ).toEqual(['S4EWNX0R123456']);
  });

  it('combines the platform and the TPM into a canonical hash', async () => {
    const device = await readDeviceIdentity(source({ macs: ['3C:52:82:AA:BB:CC'] }), tpm);
    expect(decodeHardwareHash(device.hardwareHash)).toEqual(device.identity);
    expect(device.identity).toMatchObject({ serial: 'PF3ABC12', tpmManufacturer: 'IFX', ekDigest: 'ab'.repeat(32), macs: ['3c:52:82:aa:bb:cc'] });
  });

  it('refuses an identity without serial number or manufacturer, naming where it came from', async () => {
    await expect(readDeviceIdentity(source({ serial: null }), tpm)).rejects.toThrow(new IdentityError('the test firmware reports no serial number'));
    await expect(readDeviceIdentity(source({ serial: null, manufacturer: null }), tpm)).rejects.toThrow('no serial number and no manufacturer');
  });

  it('reads an identity file, and says what is wrong with a bad one — as the file, never as the firmware', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-identity-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ serial: 'VM-1', manufacturer: 'QEMU' }));
    expect(await new FileIdentitySource(good).read()).toMatchObject({ serial: 'VM-1', manufacturer: 'QEMU', model: '', macs: [] });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ serial: '' }));
    await expect(new FileIdentitySource(bad).read()).rejects.toMatchObject({ code: 'INPUT_FILE_INVALID', message: expect.stringContaining('manufacturer') });
    await expect(new FileIdentitySource(join(dir, 'missing.json')).read()).rejects.toMatchObject({ code: 'INPUT_FILE_UNREADABLE', message: expect.stringContaining('ENOENT') });
    writeFileSync(join(dir, 'torn.json'), '{"serial": "VM-1"');
    await expect(new FileIdentitySource(join(dir, 'torn.json')).read()).rejects.toMatchObject({ code: 'INPUT_FILE_INVALID', message: expect.stringContaining('not JSON') });
  });
});

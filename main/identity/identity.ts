// The device's hardware identity (docs/protocol.md#hardware-hash): serial, manufacturer, model,
// SMBIOS UUID, physical NIC MACs and disk serials from the firmware and the kernel (through
// systeminformation), or from a file for labs and VMs whose firmware has none; plus the TPM's
// manufacturer and EK digest. Placeholder values firmware vendors leave ("To Be Filled By
// O.E.M.", "-") count as missing: a hash made from them would collide across devices.
import si from 'systeminformation';
import { z } from 'zod';

import { toHex } from '../../protocol/encoding.js';
import { HardwareHashError, canonicalIdentity, encodeHardwareHash, type HardwareIdentity } from '../../protocol/hardware-hash.js';
import type { CodedError } from '../../protocol/errors/report.js';
import { InputFileError, readInputFile } from '../../protocol/node/input-file.js';
import type { EndorsementKey } from '../tpm/port.js';
import { virtualTpmReason, type TpmFacts } from '../../protocol/tpm/virtual.js';

export class IdentityError extends Error implements CodedError {
  readonly code = 'IDENTITY_INCOMPLETE' as const;
  override name = 'IdentityError';
}

/** What the firmware and kernel say, before the TPM part. */
export interface PlatformIdentity {
  serial: string | null;
  manufacturer: string | null;
  model: string;
  smbiosUuid: string | null;
  macs: string[];
  diskSerials: string[];
  /** The hypervisor when the system is a virtual machine ("KVM", "Hyper-V" …), else null. */
  virtualMachine?: string | null;
}

export interface IdentitySource {
  /** Where the identity comes from, for messages ("firmware (SMBIOS)", "file /etc/…"). */
  readonly description: string;
  read(): Promise<PlatformIdentity>;
}

const PLACEHOLDERS = new Set(
  [
    '',
    '-',
    'none',
    'n/a',
    'na',
    'null',
    'unknown',
    'default string',
    'to be filled by o.e.m.',
    'to be filled by oem',
    'system serial number',
    'system manufacturer',
    'system product name',
    'not specified',
    'not applicable',
    'oem',
    'o.e.m.',
    '0',
    '00000000',
    '0123456789',
    '123456789',
    'chassis serial number',
    'base board serial number',
  ].map((v) => v.toLowerCase()),
);

/** The value, or null when it is empty or a known placeholder. */
export function meaningful(value: string | undefined | null): string | null {
  const trimmed = (value ?? '').trim();
  // All zeros or all Fs: what blank EEPROMs read as.
  if (PLACEHOLDERS.has(trimmed.toLowerCase()) || /^[0\s.-]+$/.test(trimmed) || /^[f\s-]+$/i.test(trimmed)) return null;
  return trimmed;
}

/** The SMBIOS UUID, or null when the firmware has none (all zeros or all ones). */
export function meaningfulUuid(value: string | undefined | null): string | null {
  const uuid = (value ?? '').trim().toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid)) return null;
  if (/^[0-]+$/.test(uuid) || /^[f-]+$/.test(uuid)) return null;
  return uuid;
}

const VIRTUAL_INTERFACE = /^(lo|docker|br-|bridge|veth|virbr|vnet|vmnet|vboxnet|tun|tap|wg|zt|tailscale|bond|team|dummy|cni|flannel|cali|kube|lxc|lxd|podman|macvlan|ipvlan|vxlan|gre|sit|ip6tnl)/i;

export interface NetworkInterfaceInfo {
  iface: string;
  mac: string;
  internal: boolean;
  virtual: boolean;
  type: string;
}

/**
 * MACs of physical interfaces: not loopback, virtual, bridge or tunnel; a real, globally
 * administered address (locally administered ones are randomised or made up by software).
 */
export function physicalMacs(interfaces: readonly NetworkInterfaceInfo[]): string[] {
  return interfaces
    .filter((n) => !n.internal && !n.virtual && (n.type === 'wired' || n.type === 'wireless') && !VIRTUAL_INTERFACE.test(n.iface))
    .map((n) => n.mac.trim().toLowerCase())
    .filter((mac) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) && mac !== '00:00:00:00:00:00' && (parseInt(mac.slice(0, 2), 16) & 0x02) === 0);
}

export interface DiskInfo {
  serialNum: string;
  interfaceType: string;
  type: string;
}

/** Serials of internal disks (USB sticks come and go). */
export function internalDiskSerials(disks: readonly DiskInfo[]): string[] {
  return disks
    .filter((d) => !/usb/i.test(d.interfaceType) && !/usb/i.test(d.type))
    .map((d) => meaningful(d.serialNum))
    .filter((s): s is string => s !== null);
}

/** The identity from the firmware (SMBIOS) and the kernel, through systeminformation. */
export class SystemIdentitySource implements IdentitySource {
  readonly description = 'the firmware (SMBIOS)';

  async read(): Promise<PlatformIdentity> {
    const [system, baseboard, interfaces, disks] = await Promise.all([si.system(), si.baseboard(), si.networkInterfaces(), si.diskLayout()]);
    const list = Array.isArray(interfaces) ? interfaces : [interfaces];
    return {
      serial: meaningful(system.serial),
      manufacturer: meaningful(system.manufacturer) ?? meaningful(baseboard.manufacturer),
      model: meaningful(system.model) ?? meaningful(baseboard.model) ?? '',
      smbiosUuid: meaningfulUuid(system.uuid),
      macs: physicalMacs(list),
      diskSerials: internalDiskSerials(disks),
      virtualMachine: system.virtual ? (meaningful(system.virtualHost) ?? 'a hypervisor') : null,
    };
  }
}

const IdentityFileSchema = z.object({
  serial: z.string().min(1).max(64),
  manufacturer: z.string().min(1).max(128),
  model: z.string().max(128).default(''),
  smbiosUuid: z.string().nullable().default(null),
  macs: z.array(z.string()).max(32).default([]),
  diskSerials: z.array(z.string()).max(32).default([]),
  /** The hypervisor, when the device is a virtual machine (its TPM is then virtual). */
  virtualMachine: z.string().min(1).max(64).nullable().default(null),
});

/**
 * The identity from a JSON file — for VMs, containers and labs whose firmware reports no serial:
 * `{"serial", "manufacturer", "model"?, "smbiosUuid"?, "macs"?, "diskSerials"?, "virtualMachine"?}`.
 */
export class FileIdentitySource implements IdentitySource {
  readonly description: string;

  constructor(private readonly path: string) {
    this.description = `the file ${path}`;
  }

  read(): Promise<PlatformIdentity> {
    // The file is the technician's input: a missing or malformed one is said as such, never as a
    // firmware without a serial number.
    let value: unknown;
    try {
      value = JSON.parse(readInputFile(this.path, 'the identity file (--identity)').toString('utf8'));
    } catch (error) {
      if (error instanceof InputFileError) return Promise.reject(error);
      return Promise.reject(new InputFileError('INPUT_FILE_INVALID', `the identity file ${this.path} is not JSON: ${(error as Error).message}`));
    }
    const parsed = IdentityFileSchema.safeParse(value);
    if (!parsed.success) {
      return Promise.reject(new InputFileError('INPUT_FILE_INVALID', `the identity file ${this.path} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`));
    }
    return Promise.resolve(parsed.data);
  }
}

export interface DeviceIdentity {
  identity: HardwareIdentity;
  hardwareHash: string;
}

/** What the identity needs of the TPM: its manufacturer and the digest of the EK in use. */
export interface TpmIdentity {
  manufacturer(): Promise<string>;
  primaryEk(): Promise<{ ek: Pick<EndorsementKey, 'digest'> }>;
}

/**
 * What the agent reports of its TPM at attestation: its manufacturer and vendor strings, and why
 * it is virtual (protocol/tpm/virtual.ts: by its own words, or because the system is a VM), or null.
 */
export async function tpmReport(tpm: { info(): Promise<TpmFacts> }, source: IdentitySource): Promise<{ manufacturer: string; vendor: string; virtual: string | null }> {
  const [info, platform] = await Promise.all([tpm.info(), source.read()]);
  return { manufacturer: info.manufacturer, vendor: info.vendor, virtual: virtualTpmReason(info, platform.virtualMachine ?? null) };
}

/** The whole identity and its hash: the platform's part and the TPM's (manufacturer, EK digest). */
export async function readDeviceIdentity(source: IdentitySource, tpm: TpmIdentity): Promise<DeviceIdentity> {
  const platform = await source.read();
  const missing = [!platform.serial && 'serial number', !platform.manufacturer && 'manufacturer'].filter(Boolean);
  if (missing.length) throw new IdentityError(`${source.description} reports no ${missing.join(' and no ')}`);
  const [manufacturer, { ek }] = await Promise.all([tpm.manufacturer(), tpm.primaryEk()]);
  const input = {
    serial: platform.serial!,
    manufacturer: platform.manufacturer!,
    model: platform.model,
    smbiosUuid: platform.smbiosUuid,
    macs: platform.macs,
    diskSerials: platform.diskSerials,
    tpmManufacturer: manufacturer || null,
    ekDigest: toHex(ek.digest),
  };
  try {
    const identity = canonicalIdentity(input);
    return { identity, hardwareHash: encodeHardwareHash(identity) };
  } catch (error) {
    if (error instanceof HardwareHashError) throw new IdentityError(`${source.description} gives an identity that cannot be hashed: ${error.message}`);
    throw error;
  }
}

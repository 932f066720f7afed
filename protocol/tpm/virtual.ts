// Whether a TPM is virtual: emulated in software (swtpm behind QEMU and libvirt, the IBM
// simulator), or a hypervisor's (Hyper-V and Azure, VMware, Google Cloud, AWS NitroTPM …). By its
// own words where they say so — TPM_PT_MANUFACTURER and the vendor strings — and otherwise by
// where it runs: a TPM that a virtual machine sees is the hypervisor's (a physical TPM passed
// through to a VM is rare, and is then the VM's anyway). The service refuses virtual TPMs unless
// the tenant allows them (a lab).

/** What the TPM says of itself (TpmInfo) and whether the system is a virtual machine (its hypervisor, or null). */
export interface TpmFacts {
  manufacturer: string;
  manufacturerId: number;
  vendor: string;
}

/** The virtual TPMs known by what they say of themselves: TCG manufacturer ID and vendor string. */
export const KNOWN_VIRTUAL_TPMS: readonly { name: string; matches: (tpm: TpmFacts) => boolean }[] = [
  // swtpm (libtpms): manufacturer "IBM" (0x49424D00), vendor strings "SW   TPM".
  { name: 'swtpm (a software TPM: QEMU, libvirt, labs)', matches: (t) => t.manufacturerId === 0x49424d00 && /^SW\s*TPM$/i.test(t.vendor.trim()) },
  // The IBM TPM 2.0 simulator (ibmswtpm2, mssim): manufacturer "IBM " (0x49424D20).
  { name: 'the IBM TPM simulator', matches: (t) => t.manufacturerId === 0x49424d20 },
  { name: 'a virtual TPM (its vendor string says so)', matches: (t) => /\bv(irtual)?\s*TPM\b/i.test(t.vendor) },
];

/** Why this TPM is virtual ("swtpm …", "a TPM of a KVM virtual machine"), or null for a physical one. */
export function virtualTpmReason(tpm: TpmFacts, virtualMachine: string | null): string | null {
  const known = KNOWN_VIRTUAL_TPMS.find((v) => v.matches(tpm));
  if (known) return known.name;
  return virtualMachine === null ? null : `a TPM of a virtual machine (${virtualMachine})`;
}

// Which TPMs are virtual: by what they say of themselves, or because the system is a VM.
import { describe, expect, it } from 'vitest';

import { virtualTpmReason } from './virtual.js';

const id = (text: string) => [...text.padEnd(4, '\0')].reduce((n, c) => (n << 8) | c.charCodeAt(0), 0) >>> 0;

describe('virtual TPMs', () => {
  it('knows swtpm and the IBM simulator by their words, wherever they run', () => {
    expect(virtualTpmReason({ manufacturer: 'IBM', manufacturerId: id('IBM'), vendor: 'SW   TPM' }, null)).toMatch(/^swtpm/);
    expect(virtualTpmReason({ manufacturer: 'IBM', manufacturerId: id('IBM '), vendor: 'SW TPM' }, null)).toBe('the IBM TPM simulator');
    expect(virtualTpmReason({ manufacturer: 'GOOG', manufacturerId: id('GOOG'), vendor: 'vTPM' }, null)).toMatch(/vendor string/);
  });

  it('takes any TPM a virtual machine sees for the hypervisor’s, and a physical chip on hardware for physical', () => {
    expect(virtualTpmReason({ manufacturer: 'MSFT', manufacturerId: id('MSFT'), vendor: 'Microsoft' }, 'Hyper-V')).toBe('a TPM of a virtual machine (Hyper-V)');
    for (const tpm of [
      { manufacturer: 'IFX', manufacturerId: id('IFX'), vendor: 'SLB9670' },
      { manufacturer: 'INTC', manufacturerId: id('INTC'), vendor: 'Intel' },
      { manufacturer: 'MSFT', manufacturerId: id('MSFT'), vendor: 'Pluton' },
      // IBM's manufacturer ID without swtpm's vendor string: not taken for swtpm.
      { manufacturer: 'IBM', manufacturerId: id('IBM'), vendor: 'IBM' },
    ]) {
      expect(virtualTpmReason(tpm, null), tpm.vendor).toBeNull();
    }
  });
});

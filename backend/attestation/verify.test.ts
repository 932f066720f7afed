// EK chains as the service verifies them on every challenge: signatures between certificates it
// keeps parsed (anchors, intermediates) are checked once and remembered — a root's own, an
// intermediate's by its anchor — while the TPM's own certificate is checked every time, and a
// forged intermediate is refused however often the genuine one was seen.
import { X509Certificate } from 'node:crypto';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { YEAR_MS, derOf, labCa, labEkCertificate } from '../../lab/ek-pki.js';
import { SoftTpm } from '../../lab/soft-tpm.js';
import { ServiceError } from '../errors.js';
import { createCa } from '../tenant/pki.js';
import { verifyEkCertificate } from './verify.js';

afterEach(() => vi.restoreAllMocks());

describe('verifyEkCertificate', () => {
  it('checks the signatures between kept certificates once, the EK certificate every time, and refuses a forged intermediate', async () => {
    const now = Date.now();
    const root = await labCa('Kept Root', new Date(now - YEAR_MS), new Date(now + 10 * YEAR_MS));
    const intermediate = await labCa('Kept Intermediate', new Date(now - YEAR_MS), new Date(now + 5 * YEAR_MS), root);
    const { ek } = await (await SoftTpm.create(await createCa('unused'))).primaryEk();
    const leaf = derOf(await labEkCertificate(ek.area, intermediate, new Date(now - 1000), new Date(now + YEAR_MS)));
    const anchors = [root.certificate.toString('pem')];
    const sent = [derOf(intermediate.certificate)];

    const first = verifyEkCertificate(leaf, ek.area, anchors, new Date(), 'now', sent);
    expect(first).toHaveLength(1); // through the root

    const checks = vi.spyOn(X509Certificate.prototype, 'verify');
    expect(verifyEkCertificate(leaf, ek.area, anchors, new Date(), 'now', sent)).toEqual(first);
    // Only the EK certificate by the intermediate: the intermediate by the root, and the root by
    // itself, were remembered from the first time.
    expect(checks).toHaveBeenCalledTimes(1);

    // Another intermediate with the same name and another key: its signature is checked, not
    // taken from the genuine one's, and the chain through it does not hold.
    const forged = await labCa('Kept Intermediate', new Date(now - YEAR_MS), new Date(now + 5 * YEAR_MS), await labCa('Kept Root', new Date(now - YEAR_MS), new Date(now + 10 * YEAR_MS)));
    let refusal: unknown;
    try {
      verifyEkCertificate(leaf, ek.area, anchors, new Date(), 'now', [derOf(forged.certificate)]);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ServiceError);
    expect((refusal as ServiceError).code).toBe('EK_CERTIFICATE_UNTRUSTED');
  });
});

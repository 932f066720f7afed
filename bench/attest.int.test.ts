// The attestation benchmark's path works: simulated devices run the agent's enrollment code
// against a real service process, concurrently and repeatedly, without a failure.
import { describe, expect, it } from 'vitest';

import { runAttestBench } from './attest.js';

describe('bench:attest', () => {
  it('enrolls every simulated device, again and again, against a selfdeploy-server process', async () => {
    const [row] = await runAttestBench({ stores: ['sqlite'], devices: 4, concurrency: [4], rounds: 2, warmup: 4 });
    expect(row).toMatchObject({ store: 'sqlite', enrollments: 8, failures: 0, warmupEnrollments: 4 });
    expect(row!.serviceCpuMsPerEnrollment).toBeGreaterThan(0);
    // Beside it, the crypto floor of the same run, and what a core does at that cost.
    expect(row!.cryptoFloorMs).toBeGreaterThan(0);
    expect(row!.cryptoFloorMs).toBeLessThan(row!.serviceCpuMsPerEnrollment);
    expect(row!.enrollmentsPerMinutePerCore).toBeCloseTo(60_000 / row!.serviceCpuMsPerEnrollment, 5);
    expect(row!.p99Ms).toBeGreaterThanOrEqual(row!.p50Ms);
    expect(row!.healthPerMinute).toBeGreaterThan(0);
  });
});

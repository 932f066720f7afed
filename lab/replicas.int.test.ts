// Replicas behind a load balancer, with real parts: three service processes on one PostgreSQL
// database behind Debian's HAProxy, swtpm devices self-deploying through it with the real agent,
// and one replica SIGKILLed mid-run and started again. Every device completes, none enrolls twice,
// and every replica took its share of the requests.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { describe, expect, inject, it } from 'vitest';

import { admin } from '../protocol/api/endpoints.js';
import { ServiceClient } from '../protocol/node/https-client.js';
import { answeredIn, runFleet } from './fleet.js';
import { createDatabase } from './postgres.js';

describe('three replicas behind HAProxy', () => {
  it('enrolls every device once while a replica is killed mid-run and comes back', async () => {
    const db = await createDatabase(inject('postgresAdminUrl'), `replicas_${randomBytes(4).toString('hex')}`);
    const lines: string[] = [];
    let backInRotation = 0;
    const report = await runFleet({
      devices: 6,
      db,
      replicas: { count: 3, kill: { afterAnswered: 10, downMs: 1000 } },
      log: (line) => lines.push(line),
      // The agents may be done before it is back: ask the balancer until the restarted replica answers.
      inspect: async ({ server, caFile, adminToken, replicaLogs }) => {
        const client = new ServiceClient({ server, ca: readFileSync(caFile, 'utf8'), headers: { authorization: `Bearer ${adminToken}` }, timeoutMs: 10_000 });
        const answered = () => answeredIn(replicaLogs.at(-1)!);
        try {
          for (let i = 0; i < 60 && answered() === 0; i++) {
            await client.request(admin.devices.list, { query: { limit: 1 } });
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        } finally {
          client.close();
        }
        backInRotation = answered();
      },
    });
    expect(report.failed).toEqual([]);
    expect(report.succeeded).toBe(6);
    expect(report.consistency.mismatches).toEqual([]);
    expect(report.consistency.certificatesIssued).toBe(6); // one each: nobody enrolled twice
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^killed replica3 \(SIGKILL\) after \d+ requests of the agents$/), expect.stringMatching(/^replica3 is back on port \d+$/)]));
    // Each replica served the agents, the killed one before it died and again after it came back.
    expect(report.replicas!.map((r) => r.name)).toEqual(['replica1', 'replica2', 'replica3', 'replica3 (restarted)']);
    for (const replica of report.replicas!.slice(0, 3)) expect(replica.answered, replica.name).toBeGreaterThan(0);
    expect(report.replicas![2]!.answered).toBeGreaterThanOrEqual(10);
    // Back: the balancer sends it requests again.
    expect(backInRotation).toBeGreaterThan(0);
  });
});

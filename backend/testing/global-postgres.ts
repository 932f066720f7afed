// vitest global setup of the integration suite: one private PostgreSQL server for the whole run;
// each test file creates its own database in it.
import type { TestProject } from 'vitest/node';

import { startPostgres } from '../../lab/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('postgresAdminUrl', server.adminUrl);
  return () => server.stop();
}

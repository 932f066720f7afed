// The agent's version: the package's, read once from package.json beside the build.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../tpm/native.js';

export function agentVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

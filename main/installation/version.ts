// The agent's version: the package's, read from package.json at the package root.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { INSTALLED, packageRoot } from './layout.js';

export function agentVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), INSTALLED.manifest), 'utf8')) as { version: string }).version;
}

// The service's version: the selfdeploy package's, found by walking up from this module
// (source tree and dist/ alike). The agent has its own copy of this walk in main/tpm/native.ts;
// the layering rule keeps the service from importing the agent.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function serviceVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
    if (name === 'selfdeploy' && version) return version;
  }
  return 'unknown';
}

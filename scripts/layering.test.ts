// The layering rule holds for the repository, and the checker catches each kind of breach.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { checkCycles, checkEndpointLiterals, checkLayers, importsOf } from './layering.js';

const root = join(import.meta.dirname, '..');
const fixture = mkdtempSync(join(tmpdir(), 'selfdeploy-layering-'));

const trees: string[] = [];

afterAll(() => {
  for (const dir of [fixture, ...trees]) rmSync(dir, { recursive: true, force: true });
});

function write(path: string, text: string) {
  mkdirSync(dirname(join(fixture, path)), { recursive: true });
  writeFileSync(join(fixture, path), text);
}

/** A fresh tree of source files for one test (removed after the suite). */
function tree() {
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-layering-tree-'));
  trees.push(dir);
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  return { dir, put };
}

describe('layering', () => {
  it('holds for this repository', () => {
    expect(checkLayers(root)).toEqual([]);
  });

  it('sees static, type-only, re-exported, dynamic and required imports', () => {
    const text = `import a from 'a'; import type { B } from 'b'; export * from './c.js';
      const d = await import('d'); const e = require('e'); import f = require('f');`;
    expect(importsOf(text).sort()).toEqual(['./c.js', 'a', 'b', 'd', 'e', 'f']);
  });

  it('catches each breach of the rule', () => {
    write('main/deploy/engine.ts', "import { app } from 'electron';");
    write('main/tpm/lazy.ts', "export const load = () => import('electron/main');");
    write('main/host/electron/window.ts', "import { BrowserWindow } from 'electron';");
    write('main/host/electron/window.test.ts', "vi.mock('electron'); import { BrowserWindow } from 'electron';");
    write('main/deploy/engine.test.ts', "import { app } from 'electron';");
    write('renderer/esp.tsx', "import { readFileSync } from 'node:fs'; import fs from 'fs';");
    write('renderer/esp-engine.tsx', "import { Tpm } from '../main/tpm/tpm.js'; import { x } from '../protocol/ipc.js'; import { s } from '../protocol/node/tpm-crypto.js';");
    write('protocol/node/tpm-crypto.ts', "import { createHash } from 'node:crypto'; import { p } from '../tpm/public.js'; import x from 'express';");
    write('protocol/uses-node.ts', "import { sha256 } from './node/tpm-crypto.js';");
    write('protocol/wire.ts', "import { z } from 'zod'; import { createHash } from 'node:crypto'; import lodash from 'lodash';");
    write('protocol/leak.ts', "import { Tpm } from '../main/tpm/tpm.js';");
    write('main/backend-client/client.ts', "import { routes } from '../../backend/routes.js';");
    write('backend/routes.ts', "import { Tpm } from '../main/tpm/tpm.js'; import { z } from '../protocol/wire.js';");
    write('main/tpm/tpm.int.test.ts', "import { SwtpmLab } from '../../lab/swtpm.js';");
    write('backend/testing/fixture.ts', "import { startPostgres } from '../../lab/postgres.js';");

    const found = checkLayers(fixture).map((v) => `${v.file} ${v.specifier}`);
    expect(found.sort()).toEqual(
      [
        'main/deploy/engine.ts electron',
        'main/tpm/lazy.ts electron/main',
        'main/deploy/engine.test.ts electron',
        'renderer/esp.tsx node:fs',
        'renderer/esp.tsx fs',
        'renderer/esp-engine.tsx ../main/tpm/tpm.js',
        'renderer/esp-engine.tsx ../protocol/node/tpm-crypto.js',
        'protocol/node/tpm-crypto.ts express',
        'protocol/uses-node.ts ./node/tpm-crypto.js',
        'protocol/wire.ts node:crypto',
        'protocol/wire.ts lodash',
        'protocol/leak.ts ../main/tpm/tpm.js',
        'main/backend-client/client.ts ../../backend/routes.js',
        'backend/routes.ts ../main/tpm/tpm.js',
      ].sort(),
    );
  });

  it("keeps the agent's rooms in their layers: upward imports and rooms in no layer are breaches", () => {
    const { dir, put } = tree();
    put('main/deploy/engine.ts', "import { Tpm } from '../tpm/tpm.js'; import { openAgent } from '../agent/agent.js';");
    put('main/tpm/tpm.ts', "import type { DeployEngine } from '../deploy/engine.js';");
    put('main/agent/agent.ts', "import { DeployEngine } from '../deploy/engine.js';");
    put('main/gadgets/thing.ts', "import { Tpm } from '../tpm/tpm.js';");
    put('main/deploy/steps/step.ts', "import { x } from '../engine.js'; import { Target } from '../../target/target.js';");
    put('main/deploy/testing/fakes.ts', "import { openAgent } from '../../agent/agent.js';");
    const found = checkLayers(dir).filter((v) => !v.rule.startsWith('import cycle')).map((v) => `${v.file} ${v.specifier}`);
    expect(found.sort()).toEqual(['main/deploy/engine.ts ../agent/agent.js', 'main/gadgets/thing.ts ../tpm/tpm.js', 'main/tpm/tpm.ts ../deploy/engine.js'].sort());
  });

  it('finds import cycles between files, type-only ones too, and between the rooms of the service', () => {
    const { dir, put } = tree();
    put('main/tpm/port.ts', "import type { KeyBlob } from './tpm.js';");
    put('main/tpm/tpm.ts', "import type { TpmPort } from './port.js';");
    put('main/tpm/tpm.test.ts', "import { Tpm } from './tpm.js'; import type { X } from './tpm.test.js';");
    put('backend/http/app.ts', "import { Store } from '../store/store.js';");
    put('backend/store/store.ts', "import { ServiceError } from '../http/problems.js';");
    put('backend/http/problems.ts', 'export class ServiceError {}');
    const found = checkCycles(dir).map((v) => `${v.rule}: ${v.specifier}`);
    expect(found.sort()).toEqual(['import cycle between files: main/tpm/port.ts → main/tpm/tpm.ts', 'import cycle between the rooms of the service: backend/http → backend/store']);
  });

  it("finds the service's paths written outside the endpoint declarations — in strings and templates, not comments or tests", () => {
    const { dir, put } = tree();
    const path = ['', 'v1', 'admin', 'devices'].join('/');
    put('main/cli/list.ts', `// GET ${path}\nconst url = '${path}';\nconst one = (id: string) => \`${path}/\${id}\`;`);
    put('backend/http/routes/devices.ts', `/** ${path} */ export const x = 1;`);
    put('protocol/api/endpoints/admin.ts', `export const list = { path: '${path}' };`);
    put('main/cli/list.test.ts', `const url = '${path}';`);
    // Another program's API (Prometheus's /api/v1/…) is not the service's; a full URL of the service is.
    put('lab/scraper.ts', `const query = '/api${path}'; const full = 'https://deploy.example${path}';`);
    const found = checkEndpointLiterals(dir).map((v) => `${v.file} ${v.specifier}`);
    expect(found.sort()).toEqual([`lab/scraper.ts 'https://deploy.example${path}'`, `main/cli/list.ts '${path}'`, `main/cli/list.ts \`${path}/\${`].sort());
  });
});

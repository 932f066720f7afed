// The layering rule holds for the repository, and the checker catches each kind of breach.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { checkLayers, importsOf } from './layering.js';

const root = join(import.meta.dirname, '..');
const fixture = mkdtempSync(join(tmpdir(), 'selfdeploy-layering-'));

afterAll(() => rmSync(fixture, { recursive: true, force: true }));

function write(path: string, text: string) {
  mkdirSync(dirname(join(fixture, path)), { recursive: true });
  writeFileSync(join(fixture, path), text);
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
});

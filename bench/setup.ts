// `npm run bench:setup`: what the privileged helper costs. The same Device setup items (a config
// file, Chromium policies, a trusted root, a Wi-Fi profile, a tar app, a script) applied into a
// fresh scratch root, once in-process (Target) and once through selfdeploy-helper over its UNIX
// socket (HelperTarget → HelperServer: request parsing, allow-list, resolved-path and ownership
// checks, its own change log), in the same run. Both then undo; undo is timed too.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { AssignedItemSchema, type AssignedItem } from '../protocol/items.js';
import type { ApplyContext } from '../main/providers/port.js';
import { HelperTarget } from '../main/helper/client.js';
import { HelperServer } from '../main/helper/server.js';
import { ChangeLog } from '../main/target/changes.js';
import { FileProviders } from '../main/providers/files.js';
import type { TargetPort } from '../main/target/port.js';
import { Target } from '../main/target/target.js';

export interface SetupBench {
  runs: number;
  items: number;
  inProcess: { applyMs: number; undoMs: number };
  helper: { applyMs: number; undoMs: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function runSetupBench(options: { runs?: number; log?: (line: string) => void } = {}): Promise<SetupBench> {
  const runs = options.runs ?? 10;
  const dir = mkdtempSync(join(tmpdir(), 'selfdeploy-bench-setup-'));
  try {
    const content = join(dir, 'content');
    mkdirSync(content);
    const store = (bytes: Buffer) => {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      writeFileSync(join(content, sha256), bytes);
      return { sha256, size: bytes.length };
    };
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'bin'), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(join(tree, 'bin', `tool-${i}`), `#!/bin/sh\necho ${i}\n`, { mode: 0o755 });
    execFileSync('tar', ['-cf', join(dir, 'app.tar'), '-C', tree, '.']);
    const ca = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=Bench Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    let serial = 0;
    const item = (input: Record<string, unknown>): AssignedItem => AssignedItemSchema.parse({ id: `00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`, version: 1, blocking: true, ...input });
    const items = [
      item({ kind: 'policy', name: 'player', payload: { kind: 'config-file', path: '/etc/opt/signage/player.ini', format: 'ini', settings: { display: { rotate: 90, brightness: 80 } } } }),
      item({ kind: 'policy', name: 'browser', payload: { kind: 'chromium', policies: { HomepageLocation: 'https://example.invalid/', URLBlocklist: ['*'] } } }),
      item({ kind: 'certificate', name: 'root', payload: { type: 'trusted-root', pem: ca } }),
      item({ kind: 'network', name: 'lobby', payload: { type: 'wifi', ssid: 'Lobby', security: 'wpa2-psk', psk: 'bench-passphrase' } }),
      item({ kind: 'app', name: 'tools', payload: { package: 'tools', version: '1', installer: 'tar', content: store(readFileSync(join(dir, 'app.tar'))) } }),
      item({ kind: 'script', name: 'hello', payload: { interpreter: 'sh', content: store(Buffer.from('echo hello\n')), timeoutSeconds: 30 } }),
    ];
    const context: ApplyContext = {
      progress: () => undefined,
      fetchContent: (c) => Promise.resolve(join(content, c.sha256)),
    };

    const socket = join(dir, 'run', 'helper.sock');
    const server = new HelperServer({ socket, root: join(dir, 'helper-root'), state: join(dir, 'helper-state'), group: null, contentDir: content, authority: null, version: 'bench' });
    await server.start();
    const client = await HelperTarget.connect(socket);
    const measure = async (target: () => TargetPort, name: string) => {
      const apply: number[] = [];
      const undo: number[] = [];
      for (let run = 0; run <= runs; run++) {
        const t = target();
        const providers = new FileProviders(t);
        const started = performance.now();
        for (const each of items) await providers.apply(each, context);
        const applied = performance.now();
        const report = await t.undoAll();
        if (report.left.length) throw new Error(`${name}: undo left ${report.left.join('; ')}`);
        if (run > 0) {
          apply.push(applied - started);
          undo.push(performance.now() - applied);
        }
      }
      options.log?.(`${name}: apply ${median(apply).toFixed(1)} ms, undo ${median(undo).toFixed(1)} ms`);
      return { applyMs: median(apply), undoMs: median(undo) };
    };
    try {
      let round = 0;
      const inProcess = await measure(() => new Target(join(dir, `local-${round++}`), new ChangeLog(join(dir, `local-state-${round}`))), 'in-process');
      const helper = await measure(() => client, 'through selfdeploy-helper');
      return { runs, items: items.length, inProcess, helper };
    } finally {
      client.close();
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatSetupBench(bench: SetupBench): string {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  return [
    `Median of ${bench.runs} runs (after a warm-up) applying ${bench.items} Device setup items into a scratch root, then undoing them.`,
    '',
    '| Executor | Apply ms | Undo ms |',
    '|---|---:|---:|',
    `| in-process Target (baseline) | ${bench.inProcess.applyMs.toFixed(1)} | ${bench.inProcess.undoMs.toFixed(1)} |`,
    `| through selfdeploy-helper (UNIX socket) | ${bench.helper.applyMs.toFixed(1)} | ${bench.helper.undoMs.toFixed(1)} |`,
    '',
    `Helper / in-process: apply **${ratio(bench.helper.applyMs, bench.inProcess.applyMs)}**, undo **${ratio(bench.helper.undoMs, bench.inProcess.undoMs)}**.`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const runs = Number(process.env['BENCH_ITERATIONS'] ?? 10);
  process.stdout.write(`Device setup benchmark: ${runs} runs\n`);
  const bench = await runSetupBench({ runs, log: (line) => process.stderr.write(`  ${line}\n`) });
  process.stdout.write(`${formatSetupBench(bench)}\n`);
}

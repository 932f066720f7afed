// `npm run bench:tpm`: each TPM operation the self-deploy sequence needs, through the agent's
// addon and as the raw tpm2-tools commands that do the same on the same swtpm, measured in one
// run. The ratio (addon / tpm2-tools) is the figure to watch; absolute times vary by machine.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { toHex } from '../protocol/encoding.js';
import { TpmAlg } from '../protocol/tpm/constants.js';
import { SwtpmLab } from '../lab/swtpm.js';
import { parseTpm2bPublic } from '../protocol/tpm/public.js';
import { tpmName } from '../protocol/node/tpm-crypto.js';
import type { KeyBlob } from '../main/tpm/port.js';
import { Tpm } from '../main/tpm/tpm.js';

const exec = promisify(execFile);

export interface TpmBenchRow {
  operation: string;
  addonMs: number;
  toolsMs: number;
  ratio: number;
  tools: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timeIt(iterations: number, run: () => Promise<unknown>): Promise<number> {
  await run(); // warm-up: first connection, page cache, lazy symbols
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

interface Operation {
  name: string;
  addon: (tpm: Tpm) => Promise<unknown>;
  /** tpm2-tools command lines (run in order, in the work directory). */
  tools: string[][];
}

export async function runTpmBench(options: { iterations?: number; log?: (line: string) => void } = {}): Promise<TpmBenchRow[]> {
  const iterations = options.iterations ?? 15;
  const log = options.log ?? (() => undefined);
  const lab = await SwtpmLab.create();
  const work = mkdtempSync(join(tmpdir(), 'selfdeploy-bench-'));
  try {
    const swtpm = await lab.startTpm();
    const env = { ...process.env, TPM2TOOLS_TCTI: swtpm.tcti };
    const tool = async (argv: string[]) => exec(argv[0]!, argv.slice(1), { cwd: work, env });
    const nonce = new Uint8Array(32).fill(0x5a);
    const digest = createHash('sha256').update('bench').digest();
    const pcrs = [{ hashAlg: TpmAlg.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }];

    // Keys both sides work with, made once.
    let tpm = await Tpm.open({ tcti: swtpm.tcti });
    const ak: KeyBlob = await tpm.createAk();
    const deviceKey: KeyBlob = await tpm.createDeviceKey();
    const ekKind = (await tpm.primaryEk()).ek.kind;
    const ekHandle = ekKind === 'ecc-p384' ? '0x81010016' : '0x81010001';
    const ek = await tpm.ekPublic(ekKind);
    await tpm.close();
    writeFileSync(join(work, 'digest.bin'), digest);
    writeFileSync(join(work, 'ek.pub'), ek.public);
    writeFileSync(join(work, 'secret.bin'), new Uint8Array(32).fill(3));
    // Without a resource manager (swtpm), every tpm2-tools command leaves what it loaded in the
    // TPM's three transient slots: each command that loads is followed by a flush, as a script
    // driving tpm2-tools against swtpm must do.
    const flush = ['tpm2_flushcontext', '-t'];
    const flushed = (commands: string[][]) => commands.flatMap((c) => [c, flush]);
    const akAttributes = 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign';
    for (const argv of flushed([
      ['tpm2_createprimary', '-C', 'o', '-G', 'ecc', '-c', 'srk.ctx', '-Q'],
      ['tpm2_create', '-C', 'srk.ctx', '-G', 'ecc:ecdsa-sha256:null', '-a', akAttributes, '-u', 'ak.pub', '-r', 'ak.priv', '-Q'],
      ['tpm2_create', '-C', 'srk.ctx', '-G', 'ecc:ecdsa-sha256', '-a', 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign', '-u', 'dk.pub', '-r', 'dk.priv', '-Q'],
    ])) {
      await tool(argv);
    }
    await tool(['tpm2_makecredential', '-T', 'none', '-u', 'ek.pub', '-s', 'secret.bin', '-n', toHex(tpmName(parseTpm2bPublic(readFileSync(join(work, 'ak.pub'))))), '-o', 'cred.out']);
    // The addon activates a credential made for its own AK (same EK, same sizes).
    await exec('tpm2_makecredential', ['-T', 'none', '-u', 'ek.pub', '-s', 'secret.bin', '-n', toHex(ak.name), '-o', 'cred-addon.out'], { cwd: work });
    const credential = readFileSync(join(work, 'cred-addon.out')).subarray(8);
    const idSize = credential.readUInt16BE(0);
    const credentialBlob = credential.subarray(0, 2 + idSize);
    const secret = credential.subarray(2 + idSize);

    const loadSrk = ['tpm2_createprimary', '-C', 'o', '-G', 'ecc', '-c', 'srk.ctx', '-Q'];
    const operations: Operation[] = [
      { name: 'GetRandom (32 bytes)', addon: (t) => t.getRandom(32), tools: [['tpm2_getrandom', '32', '-o', 'random.bin']] },
      {
        name: 'TPM info (fixed properties + PCR banks)',
        addon: (t) => t.info(),
        tools: [['tpm2_getcap', 'properties-fixed'], ['tpm2_getcap', 'pcrs']],
      },
      {
        name: 'EK certificates (NV read)',
        addon: (t) => t.ekCertificates(),
        tools: [['tpm2_nvread', '0x01c00016', '-o', 'ek-ecc.der'], ['tpm2_nvread', '0x01c00002', '-o', 'ek-rsa.der']],
      },
      { name: `EK public (${ekKind}, persistent)`, addon: (t) => t.ekPublic(ekKind), tools: [['tpm2_readpublic', '-c', ekHandle, '-o', 'ek-read.pub']] },
      {
        name: 'Create AK (ECC P-256 under the SRK)',
        addon: (t) => t.createAk(),
        tools: flushed([loadSrk, ['tpm2_create', '-C', 'srk.ctx', '-G', 'ecc:ecdsa-sha256:null', '-a', akAttributes, '-u', 'ak2.pub', '-r', 'ak2.priv', '-Q']]),
      },
      {
        name: `ActivateCredential (${ekKind} EK)`,
        addon: (t) => t.activateCredential({ ak, ek: ekKind, credentialBlob, secret }),
        tools: flushed([
          loadSrk,
          ['tpm2_load', '-C', 'srk.ctx', '-u', 'ak.pub', '-r', 'ak.priv', '-c', 'ak.ctx', '-Q'],
          ['tpm2_activatecredential', '-c', 'ak.ctx', '-C', ekHandle, '-i', 'cred.out', '-o', 'recovered.bin'],
        ]),
      },
      {
        name: 'Quote (8 SHA-256 PCRs) + PCR values',
        addon: (t) => t.quote({ ak, qualifyingData: nonce, pcrs }),
        tools: flushed([
          loadSrk,
          ['tpm2_load', '-C', 'srk.ctx', '-u', 'ak.pub', '-r', 'ak.priv', '-c', 'ak.ctx', '-Q'],
          ['tpm2_quote', '-c', 'ak.ctx', '-l', 'sha256:0,1,2,3,4,5,6,7', '-q', toHex(nonce), '-m', 'q.msg', '-s', 'q.sig', '-o', 'q.pcrs', '-g', 'sha256'],
        ]),
      },
      {
        name: 'Certify device key with AK',
        addon: (t) => t.certify({ key: deviceKey, ak, qualifyingData: nonce }),
        tools: flushed([
          loadSrk,
          ['tpm2_load', '-C', 'srk.ctx', '-u', 'dk.pub', '-r', 'dk.priv', '-c', 'dk.ctx', '-Q'],
          ['tpm2_load', '-C', 'srk.ctx', '-u', 'ak.pub', '-r', 'ak.priv', '-c', 'ak.ctx', '-Q'],
          ['tpm2_certify', '-c', 'dk.ctx', '-C', 'ak.ctx', '-g', 'sha256', '-o', 'c.attest', '-s', 'c.sig'],
        ]),
      },
      {
        name: 'Sign a digest with the device key',
        addon: (t) => t.sign({ key: deviceKey, digest }),
        tools: flushed([
          loadSrk,
          ['tpm2_load', '-C', 'srk.ctx', '-u', 'dk.pub', '-r', 'dk.priv', '-c', 'dk.ctx', '-Q'],
          ['tpm2_sign', '-c', 'dk.ctx', '-g', 'sha256', '-d', '-o', 'sig.bin', 'digest.bin'],
        ]),
      },
    ];

    // One phase each: swtpm serves one client at a time, so the addon's connection is closed
    // before the tools run.
    const addonMs = new Map<string, number>();
    tpm = await Tpm.open({ tcti: swtpm.tcti });
    for (const op of operations) {
      addonMs.set(op.name, await timeIt(iterations, () => op.addon(tpm)));
      log(`addon       ${op.name}`);
    }
    await tpm.close();
    const rows: TpmBenchRow[] = [];
    for (const op of operations) {
      const toolsMs = await timeIt(iterations, async () => {
        for (const argv of op.tools) await tool(argv);
      });
      log(`tpm2-tools  ${op.name}`);
      const ms = addonMs.get(op.name)!;
      rows.push({ operation: op.name, addonMs: ms, toolsMs, ratio: ms / toolsMs, tools: op.tools.map((t) => t[0]).filter((t) => t !== 'tpm2_flushcontext').join(' + ') + (op.tools.some((t) => t[0] === 'tpm2_flushcontext') ? ' (+ flushes)' : '') });
    }
    return rows;
  } finally {
    await lab.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatTpmBench(rows: TpmBenchRow[]): string {
  const header = '| Operation | addon (median ms) | tpm2-tools (median ms) | ratio addon/tools | tpm2-tools commands |';
  const lines = [header, '|---|---:|---:|---:|---|'];
  for (const r of rows) {
    lines.push(`| ${r.operation} | ${r.addonMs.toFixed(2)} | ${r.toolsMs.toFixed(2)} | ${r.ratio.toFixed(3)} | ${r.tools} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const iterations = Number(process.env['BENCH_ITERATIONS'] ?? 15);
  process.stdout.write(`TPM benchmark: swtpm, ${iterations} iterations after one warm-up, medians\n`);
  const rows = await runTpmBench({ iterations, log: (line) => process.stderr.write(`  ${line}\n`) });
  process.stdout.write(`${formatTpmBench(rows)}\n`);
  const results = join(import.meta.dirname, '..', '..', 'bench', 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'tpm-latest.json'), JSON.stringify({ measuredAt: new Date().toISOString(), iterations, rows }, null, 2) + '\n');
}

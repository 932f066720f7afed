// A stand-in Electron folder for packaging where no Electron binary can be had: a shell "binary"
// that carries Electron's fuse wire (sentinel, version 1, length 8, Electron's default states), so
// electron-builder flips the fuses in it as in the real one, and the files it copies beside it.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Electron's own defaults, in fuse order: run-as-node on, cookie encryption off, NODE_OPTIONS on, inspect on, asar integrity off, only-asar off, V8 snapshot off, file:// privileges on. */
export const ELECTRON_DEFAULT_WIRE = '10110001';

/** Makes the stand-in in `dir` (created); returns it, for ELECTRON_DIST. */
export function makeStandInElectron(dir: string): string {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  writeFileSync(join(dir, 'electron'), Buffer.concat([Buffer.from(`#!/bin/sh\n# a stand-in Electron binary with its fuse wire: ${FUSE_SENTINEL}`), Buffer.from([1, 8]), Buffer.from(`${ELECTRON_DEFAULT_WIRE}\nexit 0\n`)]));
  chmodSync(join(dir, 'electron'), 0o755);
  writeFileSync(join(dir, 'chrome-sandbox'), 'stand-in');
  writeFileSync(join(dir, 'LICENSE'), 'stand-in');
  return dir;
}

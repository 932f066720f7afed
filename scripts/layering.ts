// The layering rule of docs/architecture.md, checked on every import (static, dynamic, require)
// of every TypeScript file: the engine and everything but the Electron host never load
// electron; the renderer never reaches Node or the agent's internals; the shared protocol
// imports nothing but its schema library; agent and service never import each other.
import { builtinModules } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

import ts from 'typescript';

export interface Violation {
  file: string;
  specifier: string;
  rule: string;
}

type Layer = 'protocol' | 'protocol-node' | 'main' | 'electron-host' | 'renderer' | 'backend' | 'tools' | 'other';

const SKIP = new Set(['node_modules', 'dist', 'build', '.git', '.lab', '.test-results']);
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export function layerOf(path: string): Layer {
  const p = path.split(sep).join('/');
  if (p.startsWith('protocol/node/')) return 'protocol-node';
  if (p.startsWith('protocol/')) return 'protocol';
  if (p.startsWith('main/host/electron/')) return 'electron-host';
  if (p.startsWith('main/')) return 'main';
  if (p.startsWith('renderer/')) return 'renderer';
  if (p.startsWith('backend/')) return 'backend';
  if (p.startsWith('lab/') || p.startsWith('bench/') || p.startsWith('scripts/') || p.startsWith('e2e/')) return 'tools';
  return 'other';
}

/** Tests and their support code (testing/ folders) may reach across layers: the lab, fixtures. */
const isTest = (path: string) => /\.test\.tsx?$/.test(path) || path.split(sep).includes('testing');

function sourceFiles(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(root, path));
    else if (/\.(c|m)?tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(relative(root, path));
  }
  return files;
}

export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

function checkImport(file: string, specifier: string): string | undefined {
  const from = layerOf(file);
  const test = isTest(file);
  const bare = !specifier.startsWith('.');
  const packageName = bare ? specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/') : '';
  const target = bare ? undefined : layerOf(relative('.', join(dirname(file), specifier)));

  if (packageName === 'electron' && from !== 'electron-host') {
    return 'only main/host/electron may load electron';
  }
  if (test) return undefined; // tests may use the lab, Node and fixtures of any layer
  switch (from) {
    case 'protocol':
      if (bare && packageName !== 'zod') return 'the protocol imports only its schema library (zod)';
      if (!bare && target !== 'protocol') return 'the protocol imports only protocol/ (not protocol/node/)';
      return undefined;
    case 'protocol-node':
      // commander: the command-line harness every program shares (protocol/node/command-line.ts).
      if (bare && packageName !== 'zod' && packageName !== 'commander' && !NODE_BUILTINS.has(specifier)) return 'protocol/node imports only zod, commander and Node built-ins';
      if (!bare && target !== 'protocol' && target !== 'protocol-node') return 'protocol/node imports only protocol/';
      return undefined;
    case 'renderer':
      if (NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(packageName)) return 'the renderer cannot import Node';
      if (!bare && target !== 'renderer' && target !== 'protocol') return 'the renderer imports only renderer/ and protocol/ (not protocol/node/)';
      return undefined;
    case 'main':
    case 'electron-host':
      if (!bare && (target === 'backend' || target === 'renderer' || target === 'tools')) {
        return 'the agent imports only main/ and protocol/';
      }
      return undefined;
    case 'backend':
      if (!bare && target !== 'backend' && target !== 'protocol' && target !== 'protocol-node') return 'the service imports only backend/ and protocol/';
      return undefined;
    default:
      return undefined;
  }
}

export function checkLayers(root: string): Violation[] {
  const violations: Violation[] = [];
  for (const file of sourceFiles(resolve(root))) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const specifier of importsOf(text)) {
      const rule = checkImport(file, specifier);
      if (rule) violations.push({ file, specifier, rule });
    }
  }
  return violations;
}

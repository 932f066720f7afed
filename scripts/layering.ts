// The layering rule of docs/architecture.md, checked on every import (static, dynamic, require)
// of every TypeScript file: the engine and everything but the Electron host never load
// electron; the renderer never reaches Node or the agent's internals; the shared protocol
// imports nothing but its schema library; agent and service never import each other. Inside the
// agent, each room (main/X) imports only rooms of a lower layer (MAIN_LAYERS: command lines and
// hosts on top, the engine in the middle, storage, TPM, target and ports at the bottom); no file
// imports itself round a cycle, and no room of the service either; and the service's paths are
// written only where the endpoints are declared (protocol/api/endpoints/).
import { builtinModules } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

import ts from 'typescript';

/**
 * The agent's rooms, bottom first: a room imports only rooms of the layers below its own. A new
 * folder under main/ must be placed here.
 */
export const MAIN_LAYERS: readonly (readonly string[])[] = [
  // where things are kept, what the installed program is
  ['storage', 'installation'],
  // the device's parts, each with its port: the TPM, the target of device setup, the network, the service
  ['tpm', 'target', 'network', 'backend-client'],
  // capabilities over the parts: identity, enrollment, device setup, the privileged helper, updates,
  // the shared device's sweep of members' homes
  ['identity', 'enrollment', 'providers', 'helper', 'updates', 'shared-device'],
  // the engine: the self-deploy sequence
  ['deploy'],
  // the composition root
  ['agent'],
  // the hosts: Electron, the dev host, the kiosk browser
  ['host'],
  // the command lines
  ['cli'],
];

function mainLayer(room: string): number {
  return MAIN_LAYERS.findIndex((rooms) => rooms.includes(room));
}

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
  if (p.startsWith('lab/') || p.startsWith('bench/') || p.startsWith('fuzz/') || p.startsWith('scripts/') || p.startsWith('e2e/')) return 'tools';
  return 'other';
}

/** The room of a file: main/deploy/steps/x.ts → deploy; backend/http/routes/x.ts → http. */
function roomOf(path: string): string {
  const parts = path.split(sep);
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/\.[cm]?tsx?$/, '');
}

/** Tests and their support code (testing/ folders) may reach across layers: the lab, fixtures. */
const isTest = (path: string) => /\.(test|spec)\.tsx?$/.test(path) || path.split(sep).includes('testing');

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
    case 'electron-host': {
      if (!bare && (target === 'backend' || target === 'renderer' || target === 'tools')) {
        return 'the agent imports only main/ and protocol/';
      }
      if (bare || (target !== 'main' && target !== 'electron-host')) return undefined;
      const from = roomOf(file);
      const to = roomOf(relative('.', join(dirname(file), specifier)));
      if (from === to) return undefined;
      if (mainLayer(from) < 0) return `main/${from} is in no layer: place it in MAIN_LAYERS (scripts/layering.ts)`;
      if (mainLayer(to) < 0) return `main/${to} is in no layer: place it in MAIN_LAYERS (scripts/layering.ts)`;
      if (mainLayer(to) >= mainLayer(from)) return `main/${from} (layer ${mainLayer(from)}) may import only rooms of lower layers, not main/${to} (layer ${mainLayer(to)})`;
      return undefined;
    }
    case 'backend':
      if (!bare && target !== 'backend' && target !== 'protocol' && target !== 'protocol-node') return 'the service imports only backend/ and protocol/';
      return undefined;
    default:
      return undefined;
  }
}

/** The relative imports of `file` that name another source file, as paths from the root. */
function localImports(root: string, file: string, text: string): { specifier: string; target: string }[] {
  return importsOf(text)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => ({ specifier, target: relative(root, resolve(root, dirname(file), specifier)).replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts') }));
}

/** Strongly connected components of more than one node (Tarjan): the cycles of a graph. */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

/** Import cycles between files (type-only imports too), and between the rooms of the service. */
export function checkCycles(root: string): Violation[] {
  const files = new Map<string, readonly string[]>();
  const backendRooms = new Map<string, Set<string>>();
  for (const file of sourceFiles(resolve(root)).filter((f) => !isTest(f))) {
    const targets = localImports(root, file, readFileSync(join(root, file), 'utf8')).map((i) => i.target);
    files.set(file, targets);
    if (layerOf(file) === 'backend') {
      const rooms = backendRooms.get(roomOf(file)) ?? new Set<string>();
      for (const target of targets) if (layerOf(target) === 'backend' && roomOf(target) !== roomOf(file)) rooms.add(roomOf(target));
      backendRooms.set(roomOf(file), rooms);
    }
  }
  const violations = cyclesOf(files).map((cycle) => ({ file: cycle[0]!, specifier: cycle.join(' → '), rule: 'import cycle between files' }));
  const rooms = new Map([...backendRooms].map(([room, to]) => [room, [...to]]));
  for (const cycle of cyclesOf(rooms)) violations.push({ file: `backend/${cycle[0]}`, specifier: cycle.map((r) => `backend/${r}`).join(' → '), rule: 'import cycle between the rooms of the service' });
  return violations;
}

/** The service's path prefix (spelt in parts so that this checker does not find itself). */
// A service path in a string: /v1/… — but not another program's /api/v1/… (Prometheus's HTTP API).
const SERVICE_PATH = new RegExp(`(?<!/api)${['', 'v1', ''].join('/')}`);

/** Where the service's paths may be written: the endpoint declarations (and tests and docs, not checked here). */
const ENDPOINTS_HOME = ['protocol', 'api', 'endpoints'].join(sep);

/** String and template literals holding a path of the service outside the endpoint declarations. */
export function checkEndpointLiterals(root: string): Violation[] {
  const violations: Violation[] = [];
  for (const file of sourceFiles(resolve(root))) {
    if (isTest(file) || file.startsWith(ENDPOINTS_HOME) || layerOf(file) === 'other') continue;
    const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, false, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
    const visit = (node: ts.Node): void => {
      if ((ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) && SERVICE_PATH.test(node.text)) {
        violations.push({ file, specifier: node.getText(source), rule: "the service's paths are declared once, in protocol/api/endpoints/" });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return violations;
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
  return [...violations, ...checkCycles(root), ...checkEndpointLiterals(root)];
}

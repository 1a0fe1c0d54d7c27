import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Layers import downwards (style.md §1.10, issue 15 "Structure"): the router's sources form no
 * import circle, type-only imports included, because a circle of types is still two modules that
 * cannot be understood (or moved) one without the other. The lowest layers know nothing of realms
 * and authentication, and the cluster enters through one seam: only router/server.ts reaches
 * router/cluster/, and only router/cluster/ reaches the NATS client.
 */

const ROOT = new URL('../../../', import.meta.url);
const SOURCE_FOLDERS = ['router', 'realms', 'auth'];

/** How a module is reached: `import type` cannot run it, `import()` runs it only when called. */
type ImportKind = 'type' | 'value' | 'dynamic';
interface Edge { from: string; to: string; kind: ImportKind }

function sourceFiles(folder: string): string[] {
  const entries = readdirSync(fileURLToPath(new URL(folder, ROOT)), { recursive: true, encoding: 'utf8' });
  return entries.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts')).map((path) => posix.join(folder, path)).sort();
}

function isTypeOnly(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) return node.isTypeOnly;
  const clause = node.importClause;
  if (!clause) return false; // `import './x.js'` runs the module
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  // `import { type A, type B } from` is erased as well; a default or namespace import is not.
  return !clause.name && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

/** Every module a file names: static imports and re-exports, `import()` calls and `import('x').T` types. */
function importsOf(path: string): { specifier: string; kind: ImportKind }[] {
  const text = readFileSync(fileURLToPath(new URL(path, ROOT)), 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: { specifier: string; kind: ImportKind }[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, kind: isTypeOnly(node) ? 'type' : 'value' });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) found.push({ specifier: argument.text, kind: 'dynamic' });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, kind: 'type' });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** A relative specifier becomes the source path it names (`../x.js` → `realms/x.ts`); a package keeps its name. */
function resolve(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
}

const FILES = SOURCE_FOLDERS.flatMap(sourceFiles);
const EDGES: Edge[] = FILES.flatMap((from) => importsOf(from).map(({ specifier, kind }) => ({ from, to: resolve(from, specifier), kind })));
const inCluster = (path: string) => path.startsWith('router/cluster/');

/**
 * The layers, lowest first: a module may import its own layer and the ones below. A member is a
 * folder (ending in `/`) or a file; the longest member that names a module decides its layer, so
 * a file can sit above its folder (the HTTP bridge hands requests to a realm; realm-auth builds a
 * realm's authenticators on its dealer). A module in no layer fails the test until it is placed.
 */
const LAYERS: readonly { name: string; members: readonly string[] }[] = [
  {
    name: 'protocol and basics',
    members: [
      'router/protocol/', 'router/maybe-async.ts', 'router/timeouts.ts', 'router/limits.ts', 'router/log.ts', 'router/rate-limit.ts',
      'router/config.ts', 'router/config-file.ts', 'router/config-problems.ts', 'router/ops/metrics.ts',
    ],
  },
  { name: 'serializers and URI matching', members: ['router/serializer/', 'router/matching/'] },
  { name: 'transports', members: ['router/transport/'] },
  { name: 'authentication methods and credentials', members: ['auth/'] },
  { name: 'session', members: ['router/session.ts'] },
  {
    name: 'routing',
    members: ['router/authorization.ts', 'router/peer.ts', 'router/internal-caller.ts', 'router/broker.ts', 'router/dealer.ts'],
  },
  { name: 'realms', members: ['realms/', 'auth/realm-auth.ts'] },
  {
    name: 'server, cluster and entry points',
    members: [
      'router/server.ts', 'router/cli.ts', 'router/index.ts', 'router/inprocess.ts', 'router/http-client.ts', 'router/ops/',
      'router/transport/http-bridge.ts', 'router/transport/attach.ts', 'router/transport/socket-listener.ts', 'router/cluster/',
    ],
  },
];

/** The index of a module's layer in LAYERS, or -1 when no layer names it. */
function layerOf(path: string): number {
  let best = { layer: -1, length: 0 };
  LAYERS.forEach(({ members }, layer) => {
    for (const member of members) {
      const names = member.endsWith('/') ? path.startsWith(member) : path === member;
      if (names && member.length > best.length) best = { layer, length: member.length };
    }
  });
  return best.layer;
}

/** The modules that lie on a circle together: strongly connected components of more than one module (Tarjan). */
function circularGroups(files: readonly string[], edges: readonly Edge[]): string[][] {
  const next = new Map(files.map((f) => [f, [] as string[]]));
  for (const { from, to } of edges) if (next.has(to)) next.get(from)!.push(to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file)!) {
      if (!index.has(to)) {
        connect(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file)!, index.get(to)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    if (group.length > 1 || next.get(file)!.includes(file)) groups.push(group.sort());
  };
  for (const file of files) if (!index.has(file)) connect(file);
  return groups;
}

/** The shortest circle through `start` inside its group, as `a.ts → b.ts → a.ts`. */
function shortestCircle(start: string, members: ReadonlySet<string>, edges: readonly Edge[]): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const { from, to } of edges) {
      if (from !== file || !members.has(to)) continue;
      if (to === start) {
        const path = [file];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return [...path, start];
      }
      if (to !== start && !cameFrom.has(to)) {
        cameFrom.set(to, file);
        queue.push(to);
      }
    }
  }
  return [start];
}

/** Circles that together pass through every module of the group, to print. */
function circlesCovering(group: readonly string[], edges: readonly Edge[]): string[] {
  const members = new Set(group);
  const shown = new Set<string>();
  const circles: string[] = [];
  for (const file of group) {
    if (shown.has(file)) continue;
    const circle = shortestCircle(file, members, edges);
    circle.forEach((f) => shown.add(f));
    circles.push(circle.join(' → '));
  }
  return circles;
}

describe('layering: imports point downwards', () => {
  it('finds the sources and their imports (the check below is not vacuous)', () => {
    expect(FILES).to.include.members(['router/session.ts', 'realms/realm.ts', 'auth/authenticator.ts', 'router/cluster/index.ts']);
    expect(EDGES.filter((e) => e.kind === 'type').length, 'type-only imports are counted').to.be.greaterThan(20);
  });

  it('no import circle, type-only imports included', () => {
    const circles = circularGroups(FILES, EDGES).flatMap((group) => circlesCovering(group, EDGES));
    expect(circles, `import circles:\n  ${circles.join('\n  ')}\n`).to.deep.equal([]);
  });

  it('every module imports only its own layer and the layers below', () => {
    const unplaced = FILES.filter((file) => layerOf(file) < 0);
    expect(unplaced, 'modules to place in LAYERS').to.deep.equal([]);
    const upward = EDGES.filter((e) => FILES.includes(e.to) && layerOf(e.to) > layerOf(e.from))
      .map((e) => `${e.from} (${LAYERS[layerOf(e.from)]!.name}) → ${e.to} (${LAYERS[layerOf(e.to)]!.name})`);
    expect(upward, `imports pointing upwards:\n  ${upward.join('\n  ')}\n`).to.deep.equal([]);
  });

  it('protocol, serializer and matching import nothing from realms/ or auth/', () => {
    const lowest = /^router\/(protocol|serializer|matching)\//;
    const upward = EDGES.filter((e) => lowest.test(e.from) && /^(realms|auth)\//.test(e.to)).map((e) => `${e.from} → ${e.to}`);
    expect(upward).to.deep.equal([]);
  });

  it('only router/cluster/ imports the NATS client (value or type)', () => {
    const outside = EDGES.filter((e) => (e.to === 'nats' || e.to.startsWith('nats/')) && !inCluster(e.from)).map((e) => `${e.from} (${e.kind})`);
    expect(outside).to.deep.equal([]);
  });

  it('router/cluster/ is reached only from router/server.ts, by a type import and the dynamic import', () => {
    const entries = EDGES.filter((e) => inCluster(e.to) && !inCluster(e.from)).map((e) => `${e.from} (${e.kind})`);
    expect([...new Set(entries)].sort()).to.deep.equal(['router/server.ts (dynamic)', 'router/server.ts (type)']);
  });
});

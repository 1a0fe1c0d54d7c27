#!/usr/bin/env node
/**
 * `npm start` runs this before the router: it rebuilds the router (tsconfig.build.json, incremental)
 * only when a router source or build setting is newer than the last build, so a restart costs a few
 * stat() calls instead of a TypeScript compile. Plain JavaScript so it needs no build itself.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = join(root, 'dist', '.router-build-stamp');
const SOURCE_DIRS = ['router', 'realms', 'auth'];
const SETTINGS = ['tsconfig.base.json', 'tsconfig.build.json', 'package.json'];

function newestMtime(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return path.endsWith('.ts') || path.endsWith('.json') ? stat.mtimeMs : 0;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

// A missing entry point (dist/ deleted by hand) counts as never built.
const built = statSync(join(root, 'dist', 'router', 'cli.js'), { throwIfNoEntry: false }) !== undefined;
const builtAt = built ? statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0 : 0;
const sourcesAt = Math.max(...[...SOURCE_DIRS, ...SETTINGS].map((p) => newestMtime(join(root, p))));
if (sourcesAt > builtAt) {
  process.stderr.write('switchyard: router sources changed since the last build; compiling the router\n');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}

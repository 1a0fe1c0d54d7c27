import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signalGroup, spawnWithTimeout, waitForOutput } from '../helpers/spawn.js';

/** The project root, from dist/test/integration. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STAMP = join(ROOT, 'dist', '.router-build-stamp');
const BUILD_IF_STALE = join(ROOT, 'scripts', 'build-if-stale.mjs');
const REBUILD_NOTICE = /router sources changed since the last build/;

function buildIfStale(): Promise<{ code: number | null; stderr: string }> {
  return spawnWithTimeout(process.execPath, [BUILD_IF_STALE], { cwd: ROOT, timeoutMs: 120_000 }).exit;
}

describe('npm start: starts from the compiled router, compiles only what changed', function () {
  // A real compile may run here (the first case), on a machine shared with other tests.
  this.timeout(150_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-start-'));
    expect((await buildIfStale()).code).to.equal(0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles when the last build is older than a router source, and records the build', async () => {
    utimesSync(STAMP, new Date(0), new Date(0));
    const result = await buildIfStale();
    expect(result.code).to.equal(0);
    expect(result.stderr).to.match(REBUILD_NOTICE);
    expect(statSync(STAMP).mtimeMs).to.be.greaterThan(Date.now() - 120_000);
  });

  it('does not compile when nothing changed', async () => {
    const result = await buildIfStale();
    expect(result.code).to.equal(0);
    expect(result.stderr).not.to.match(REBUILD_NOTICE);
  });

  it('`npm start -- --config FILE` listens without compiling, and stops on SIGTERM', async () => {
    const config = join(dir, 'start.config.json');
    writeFileSync(config, JSON.stringify({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }],
      realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: [] }], auth: { anonymous: { role: 'anonymous' } } }],
    }));
    const started = Date.now();
    const npm = spawnWithTimeout('npm', ['start', '--', '--config', config], { cwd: ROOT, timeoutMs: 60_000 });
    try {
      await waitForOutput(npm, /"event":"listening","url":"ws:\/\/127\.0\.0\.1:\d+\/ws"/, 50_000);
      // Reported, not asserted: wall-clock time on a shared machine is not a test result.
      console.log(`      npm start listened after ${Date.now() - started} ms`);
      expect(npm.output().stderr).not.to.match(REBUILD_NOTICE);
    } finally {
      signalGroup(npm, 'SIGTERM');
    }
    const exit = await npm.exit;
    expect(exit.stderr).to.include('"event":"stopped"');
  });
});

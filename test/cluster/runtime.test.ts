import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startClusterNode, startTestCluster, TEST_DEAD_AFTER_MS, type TestCluster } from '../helpers/cluster.js';
import { expandEnv, warnIfUnprotected } from '../../router/cluster/index.js';
import { createLogger } from '../../router/log.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { signalGroup, spawnWithTimeout, waitForOutput } from '../helpers/spawn.js';
import { waitFor } from '../helpers/wait.js';
import { connectAutobahn } from '../helpers/autobahn.js';
import { within } from '../helpers/promises.js';
import { launchChromium, skipWithoutChromium } from '../helpers/chromium.js';

const CLI = fileURLToPath(new URL('../../router/cli.js', import.meta.url));
const SERVER = fileURLToPath(new URL('../../router/server.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../router/config.js', import.meta.url));

/** Whether a router (with `config`) that has listened had loaded the NATS client, asked of a fresh process. */
function loadsNats(config: object): Promise<boolean> {
  const script = `
    import { createRequire } from 'node:module';
    const { createRouter } = await import(${JSON.stringify(SERVER)});
    const { validateConfig } = await import(${JSON.stringify(CONFIG)});
    const router = createRouter(validateConfig(${JSON.stringify(config)}));
    await router.listen();
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify(Object.keys(cache).some((path) => path.includes('/node_modules/nats/'))));
    await router.close();`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as boolean);
    });
  });
}

describe('cluster runtime: joining, status, CLI flags (against nats-server)', function () {
  this.timeout(60_000);
  let nats: NatsServer;
  let cluster: TestCluster | undefined;
  let dir: string;

  before(async function () {
    skipWithoutNats(this);
    nats = await startNats();
    dir = mkdtempSync(join(tmpdir(), 'switchyard-cluster-cli-'));
  });
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });
  after(async () => {
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('two nodes see each other in their status; one that stops is gone from the other at once', async () => {
    cluster = await startTestCluster(2, {}, nats);
    const [a, b] = cluster.nodes;
    await waitFor(() => a!.router.cluster!.status().peers.some((p) => p.node === 'b' && p.alive), { timeoutMs: 3000, what: 'b alive at a' });
    const peer = a!.router.cluster!.status().peers.find((p) => p.node === 'b')!;
    expect(peer).to.include({ configMatches: true, alive: true });
    expect(a!.router.cluster!.status()).to.include({ node: 'a', nats: 'connected' });
    await b!.stop();
    await waitFor(() => a!.router.cluster!.status().peers.every((p) => !p.alive), { timeoutMs: TEST_DEAD_AFTER_MS / 2, what: 'b gone at a (goodbye, not the timeout)' });
    expect(a!.logs.some((line) => line.event === 'cluster.node_down' && line.reason === 'bye')).to.equal(true);
  });

  it('/status.json has the cluster section; /readyz is 503 while NATS is down and 200 again after', async () => {
    const own = await startNats();
    const port = Number(new URL(own.url).port);
    try {
      cluster = await startTestCluster(2, { ops: { host: '127.0.0.1', port: 0 } }, own);
      const a = cluster.nodes[0]!;
      const ops = `http://127.0.0.1:${a.router.opsAddress!.port}`;
      const get = (path: string) => fetch(`${ops}${path}`, { signal: AbortSignal.timeout(3000) });
      await waitFor(() => a.router.cluster!.status().peers.some((p) => p.alive), { timeoutMs: 3000, what: 'b alive at a' });
      const status = (await (await get('/status.json')).json()) as { cluster: { node: string; nats: string; peers: { node: string; configMatches: boolean }[] } };
      expect(status.cluster).to.deep.include({ node: 'a', nats: 'connected' });
      expect(status.cluster.peers.map((p) => [p.node, p.configMatches])).to.deep.equal([['b', true]]);
      expect((await get('/readyz')).status).to.equal(200);
      await own.stop(false);
      await waitFor(() => !a.router.cluster!.connected, { timeoutMs: 5000, what: 'a notices NATS is gone' });
      expect((await get('/readyz')).status).to.equal(503);
      const restarted = await startNats({ port, storeDir: own.storeDir });
      try {
        await waitFor(() => a.router.cluster!.connected, { timeoutMs: 10_000, what: 'a reconnected' });
        expect((await get('/readyz')).status).to.equal(200);
      } finally {
        await cluster.stop();
        cluster = undefined;
        await restarted.stop();
      }
    } finally {
      await own.stop();
    }
  });

  it('/metrics counts cross-node events, peers and the NATS connection', async () => {
    cluster = await startTestCluster(2, {
      ops: { host: '127.0.0.1', port: 0 },
      realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: [{ uri: 'com.', match: 'prefix', allow: { publish: true, subscribe: true } }] }], auth: { anonymous: { role: 'anonymous' } } }],
    }, nats);
    const [a, b] = cluster.nodes;
    await waitFor(() => b!.router.cluster!.status().peers.some((p) => p.alive), { timeoutMs: 3000, what: 'a alive at b' });
    const subscriber = await connectAutobahn(b!.url);
    const publisher = await connectAutobahn(a!.url);
    try {
      const got: unknown[] = [];
      await within(subscriber.session.subscribe('com.tick', (args: unknown[]) => got.push(args[0])), 'subscribe');
      for (let i = 0; i < 3; i++) await within(publisher.session.publish('com.tick', [i], {}, { acknowledge: true }), 'publish');
      await waitFor(() => got.length === 3, { what: 'three events at b' });
    } finally {
      await subscriber.close();
      await publisher.close();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${b!.router.opsAddress!.port}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
    expect(metrics).to.match(/^switchyard_cluster_messages_in_total\{kind="event"\} 3$/m);
    expect(metrics).to.match(/^switchyard_cluster_nats_connected 1$/m);
    expect(metrics).to.match(/^switchyard_cluster_peers\{state="alive"\} 1$/m);
  });

  it('the /status page shows this node, the NATS connection and the peers (headless Chromium)', async function () {
    skipWithoutChromium(this);
    cluster = await startTestCluster(2, { ops: { host: '127.0.0.1', port: 0 } }, nats);
    const a = cluster.nodes[0]!;
    await waitFor(() => a.router.cluster!.status().peers.some((p) => p.alive), { timeoutMs: 3000, what: 'b alive at a' });
    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      await page.goto(`${a.router.opsAddress!.url}/status`, { timeout: 15_000 });
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 });
      expect(await page.textContent('#cluster-node')).to.equal('a');
      expect(await page.textContent('#cluster-nats')).to.equal('connected');
      const peers = await page.$$eval('#cluster-peers tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
      expect(peers.map((p) => [p[0], p[1], p[4]])).to.deep.equal([['b', 'alive', 'same']]);
    } finally {
      await chromium.close();
    }
  });

  it('a node whose roles differ from a peer\'s says so', async () => {
    cluster = await startTestCluster(1, {}, nats);
    const other = await startClusterNode(nats.url, 'z', { realms: [{ name: 'realm1', roles: [{ name: 'extra', permissions: [] }] }] });
    try {
      await waitFor(() => other.logs.some((line) => line.event === 'cluster.config_differs' && line.peer === 'a'), { timeoutMs: 3000, what: 'config_differs at z' });
    } finally {
      await other.stop();
    }
  });

  it('credentials come from ${NAME} in the environment; a remote NATS URL without them is warned about', () => {
    expect(expandEnv('${NATS_USER}-x', { NATS_USER: 'sy' })).to.equal('sy-x');
    expect(() => expandEnv('${MISSING_VAR}', {})).to.throw(/MISSING_VAR/);
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ write: (line) => lines.push(JSON.parse(line)) });
    const base = { node: 'a', prefix: 'sy', heartbeatMs: 1000, deadAfterMs: 3000, metaTimeoutMs: 250, connectTimeoutMs: 1000, registryStorage: 'memory' as const, replicas: 1, preferLocal: false, strictConfig: false };
    warnIfUnprotected({ ...base, nats: 'nats://127.0.0.1:4222' }, logger);
    warnIfUnprotected({ ...base, nats: 'nats://nats.internal:4222', auth: { user: 'u', pass: 'p' } }, logger);
    expect(lines).to.deep.equal([]);
    warnIfUnprotected({ ...base, nats: ['nats://127.0.0.1:4222', 'tls://nats.internal:4222'] }, logger);
    expect(lines.map((line) => line.event)).to.deep.equal(['cluster.nats_unauthenticated']);
  });

  it('without a cluster section the NATS client is never loaded; with one it is', async () => {
    const realms = [{ name: 'realm1' }];
    const listeners = [{ type: 'websocket', host: '127.0.0.1', port: 0 }];
    expect(await loadsNats({ listeners, realms })).to.equal(false);
    expect(await loadsNats({ listeners, realms, cluster: { nats: nats.url, node: 'probe', connectTimeoutMs: 3000 } })).to.equal(true);
  });

  it('the CLI joins with --cluster-nats and --node, and logs cluster.joined before it listens', async () => {
    const config = join(dir, 'node.json');
    writeFileSync(config, JSON.stringify({ listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }], realms: [{ name: 'realm1' }] }));
    const cli = spawnWithTimeout(process.execPath, [CLI, '--config', config, '--cluster-nats', nats.url, '--node', 'cli1'], { timeoutMs: 30_000 });
    try {
      await waitForOutput(cli, /"event":"listening"/, 20_000);
      const stderr = cli.output().stderr;
      expect(stderr.indexOf('"event":"cluster.joined"')).to.be.within(0, stderr.indexOf('"event":"listening"'));
      expect(stderr).to.include('"node":"cli1"');
    } finally {
      signalGroup(cli, 'SIGTERM');
    }
    expect((await cli.exit).code).to.equal(0);
  });

  it('the CLI refuses to start, with no port open, when NATS cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const config = join(dir, 'unreachable.json');
    writeFileSync(config, JSON.stringify({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }], realms: [{ name: 'realm1' }],
      cluster: { nats: `nats://127.0.0.1:${port}`, node: 'x', connectTimeoutMs: 500 },
    }));
    const exit = await spawnWithTimeout(process.execPath, [CLI, '--config', config], { timeoutMs: 20_000 }).exit;
    expect(exit.code).to.equal(1);
    expect(exit.stderr).to.match(/failed to start: cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ within 500 ms/);
    expect(exit.stderr).not.to.include('"event":"listening"');
  });
});

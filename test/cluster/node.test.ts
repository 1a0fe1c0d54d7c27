import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterNode, ClusterStartError, type ClusterNodeOptions } from '../../router/cluster/node.js';
import type { MembershipChange } from '../../router/cluster/membership.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { waitFor } from '../helpers/wait.js';
import { rejection } from '../helpers/promises.js';

const HEARTBEAT_MS = 100;
const DEAD_AFTER_MS = 400;

function options(url: string, node: string, more: Partial<ClusterNodeOptions> = {}): ClusterNodeOptions {
  return {
    servers: url, node, prefix: 'sy', heartbeatMs: HEARTBEAT_MS, deadAfterMs: DEAD_AFTER_MS, connectTimeoutMs: 3000,
    maxMessageBytes: 1024 * 1024 - 8192, configDigest: 'digest', registryStorage: 'memory', replicas: 1, ...more,
  };
}

/** start() must refuse: a node that starts anyway is stopped and the test fails. */
async function refusal(promise: Promise<ClusterNode>): Promise<ClusterStartError> {
  const error = await rejection(promise.then(async (node) => (await node.stop(), node)), 15_000, 'a refused start');
  expect(error).to.be.instanceOf(ClusterStartError);
  return error as ClusterStartError;
}

describe('cluster node: start-up checks, heartbeats and membership (against nats-server)', function () {
  this.timeout(30_000);
  let server: NatsServer;
  const nodes: ClusterNode[] = [];
  const start = async (opts: ClusterNodeOptions) => {
    const node = await ClusterNode.start(opts);
    nodes.push(node);
    return node;
  };

  before(async function () {
    skipWithoutNats(this);
    server = await startNats();
  });
  afterEach(async () => {
    await Promise.allSettled(nodes.splice(0).map((node) => node.stop()));
  });
  after(async () => server?.stop());

  it('two nodes see each other come up; a goodbye is seen at once', async () => {
    const a = await start(options(server.url, 'a'));
    const seen: MembershipChange[] = [];
    a.onChange((change) => seen.push(change));
    const b = await start(options(server.url, 'b'));
    await waitFor(() => seen.some((c) => c.kind === 'up' && c.node === 'b'), { timeoutMs: 3000, what: 'b up at a' });
    await waitFor(() => b.membership.isAlive('a'), { timeoutMs: 3000, what: 'a alive at b' });
    await b.stop();
    // "bye", not "silent": the goodbye beat ended it, not the dead-after timer.
    await waitFor(() => seen.some((c) => c.kind === 'down' && c.node === 'b' && c.reason === 'bye'), { timeoutMs: 3000, what: 'b down (bye)' });
  });

  it('a node that vanishes without a goodbye is declared dead after deadAfterMs of silence', async () => {
    const a = await start(options(server.url, 'a'));
    const b = await ClusterNode.start(options(server.url, 'b'));
    await waitFor(() => a.membership.isAlive('b'), { timeoutMs: 3000, what: 'b alive' });
    const down = new Promise<MembershipChange>((resolve) => a.onChange((c) => c.kind === 'down' && resolve(c)));
    await b.crash();
    expect(await down).to.include({ kind: 'down', node: 'b', reason: 'silent' });
  });

  it('refuses a node id that a running node has; takes it over once that node is gone', async () => {
    await start(options(server.url, 'dup'));
    const error = await refusal(ClusterNode.start(options(server.url, 'dup')));
    expect(error.message).to.match(/node id "dup" is already in use/);
    await nodes.pop()!.crash();
    const again = await start(options(server.url, 'dup'));
    expect(again.node).to.equal('dup');
  });

  it('refuses a NATS server without JetStream', async () => {
    const plain = await startNats({ jetstream: false });
    try {
      expect((await refusal(ClusterNode.start(options(plain.url, 'a')))).message).to.match(/no JetStream/);
    } finally {
      await plain.stop();
    }
  });

  it('refuses a NATS max_payload too small for maxMessageBytes plus the envelope, naming both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-nats-conf-'));
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, 'max_payload: 65536\n');
    const small = await startNats({ args: ['-c', conf], maxPayload: false });
    try {
      const error = await refusal(ClusterNode.start(options(small.url, 'a', { maxMessageBytes: 65536 })));
      expect(error.message).to.match(/NATS max_payload is 65536 bytes, below limits\.maxMessageBytes \(65536\)/);
    } finally {
      await small.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses after a bounded wait when NATS is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const started = Date.now();
    const error = await refusal(ClusterNode.start(options(`nats://127.0.0.1:${port}`, 'a', { connectTimeoutMs: 800 })));
    expect(error.message).to.match(/cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ within 800 ms/);
    expect(Date.now() - started).to.be.below(10_000);
  });
});

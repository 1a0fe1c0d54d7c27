// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { startClusterNode, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { expectError, within } from '../helpers/promises.js';
import { ALLOW_ALL, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * The cluster after NATS comes back (router/cluster/index.ts `recover`, rpc-link.ts "recovery"):
 * a NATS restart that lost the memory buckets, and one node cut off long enough for its peers to
 * purge it. Each node re-creates the buckets, reads the registry again and re-asserts its own
 * callees from its dealer; cross-node calls and events work again, exactly once, with the
 * registration ids the callees were given, and nothing of a callee or node that went meanwhile.
 */

/** The bound: cross-node routing is back within 3 s of NATS being back. */
const RECOVERY_MS = 3000;
/** How long NATS stays away in the restart test: several times deadAfterMs (600 ms in tests). */
const OUTAGE_MS = 5000;

const REALM = {
  name: 'realm1',
  roles: [{ name: 'anonymous', permissions: [...ALLOW_ALL, { uri: 'wamp.registration.', match: 'prefix', allow: { call: true } }] }],
  auth: { anonymous: { role: 'anonymous' } },
};

/**
 * A TCP relay between one node and NATS, so that one node alone can be cut off: `cut()` drops its
 * connections and refuses new ones (the NATS client keeps retrying), `restore()` lets them through.
 */
class Relay {
  private readonly sockets = new Set<Socket>();
  private refusing = false;

  private constructor(private readonly server: Server, readonly url: string) {}

  static async to(natsUrl: string): Promise<Relay> {
    const target = new URL(natsUrl);
    const server = createServer();
    const relay = await new Promise<Relay>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        resolve(new Relay(server, `nats://127.0.0.1:${port}`));
      });
    });
    server.on('connection', (client) => relay.accept(client, target));
    return relay;
  }

  cut(): void {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket, target: URL): void {
    if (this.refusing) return void client.destroy();
    const upstream = tcpConnect(Number(target.port), target.hostname);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      this.sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}

describe('cluster recovery: NATS restarts and nodes cut off (autobahn-js, against nats-server)', function () {
  this.timeout(40_000);
  let clients: AbClient[] = [];

  before(function () {
    skipWithoutNats(this);
  });
  afterEach(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    clients = [];
  });

  async function connect(on: TestRouter): Promise<AbClient> {
    const client = await connectAutobahn(on.url, 'json');
    clients.push(client);
    return client;
  }

  /** Calls until the answer is `expected` (errors are expected while the cluster recovers). */
  async function answersWithin(client: AbClient, procedure: string, expected: unknown, what: string): Promise<void> {
    const deadline = Date.now() + RECOVERY_MS;
    let last: unknown;
    for (;;) {
      try {
        last = await within(client.session.call(procedure), what, 1000);
        if (last === expected) return;
      } catch (error) {
        last = (error as { error?: string })?.error ?? error;
      }
      if (Date.now() > deadline) throw new Error(`${what}: no answer ${JSON.stringify(expected)} within ${RECOVERY_MS} ms (last: ${String(last)})`);
      await sleep(50);
    }
  }

  /** Publishes on a probe topic until `listener` hears it: events cross between these nodes again. */
  async function eventsCrossWithin(publisher: AbClient, listener: AbClient, what: string): Promise<void> {
    let heard = false;
    const subscription = await within(listener.session.subscribe('com.rec.probe', () => (heard = true)), 'subscribe probe');
    const deadline = Date.now() + RECOVERY_MS;
    while (!heard) {
      if (Date.now() > deadline) throw new Error(`${what}: no event within ${RECOVERY_MS} ms`);
      await within(publisher.session.publish('com.rec.probe', [], {}, { acknowledge: true }), 'publish probe');
      await sleep(50);
    }
    await within(listener.session.unsubscribe(subscription), 'unsubscribe probe');
  }

  /** Retries an assertion until it holds or RECOVERY_MS pass (then its last failure is thrown). */
  async function eventually(assertion: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + RECOVERY_MS;
    for (;;) {
      try {
        return await assertion();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(50);
      }
    }
  }

  /** `wamp.registration.list` of a node as URI → id (exact registrations). */
  async function registrations(client: AbClient): Promise<Record<string, number>> {
    const { exact } = await within<{ exact: number[] }>(client.session.call('wamp.registration.list'), 'registration.list');
    const byUri: Record<string, number> = {};
    for (const id of exact) byUri[(await within<{ uri: string }>(client.session.call('wamp.registration.get', [id]), 'registration.get')).uri] = id;
    return byUri;
  }

  /** Subscribes `listener` to `topic`, collecting each event's first argument. */
  async function collect(listener: AbClient, topic: string): Promise<unknown[]> {
    const heard: unknown[] = [];
    await within(listener.session.subscribe(topic, (args: unknown[]) => heard.push(args[0])), `subscribe ${topic}`);
    return heard;
  }

  /**
   * Each publisher sends `count` numbered events and then its `end` marker, acknowledged, in order;
   * once every listener has both markers (per-publisher order: all earlier events are in), each
   * must have exactly what `expected` says, nothing twice and nothing replayed from the outage.
   */
  async function exchange(publishers: [AbClient, string][], count: number, heard: [unknown[], unknown[]][]): Promise<void> {
    for (const [publisher, name] of publishers) {
      for (let i = 0; i < count; i++) await within(publisher.session.publish('com.rec.topic', [`${name}${i}`], {}, { acknowledge: true }), 'publish');
      await within(publisher.session.publish('com.rec.topic', [`${name}-end`], {}, { acknowledge: true }), 'publish end');
    }
    for (const [got] of heard) {
      await waitFor(() => publishers.every(([, name]) => got.includes(`${name}-end`)), { timeoutMs: 3000, what: 'both end markers' });
    }
    for (const [got, expected] of heard) expect([...got].sort()).to.deep.equal([...expected].sort());
  }

  const numbered = (name: string, count: number) => [...Array.from({ length: count }, (_, i) => `${name}${i}`), `${name}-end`];

  it('NATS restarted on an empty store: buckets re-created, callees re-asserted under their ids, routing back, nothing stale', async () => {
    const first = await startNats();
    let nats: NatsServer = first;
    let cluster: TestCluster | undefined;
    try {
      cluster = await startTestCluster(3, { realms: [REALM] }, first);
      const [a, b, c] = cluster.nodes as [TestRouter, TestRouter, TestRouter];
      await waitFor(() => cluster!.nodes.every((n) => n.router.cluster!.status().peers.filter((p) => p.alive).length === 2), { what: 'three nodes see each other' });
      const [workerA, workerB, workerC, listenA, listenB] = await Promise.all([connect(a), connect(b), connect(c), connect(a), connect(b)]);
      const ids = {
        'com.rec.on_a': (await within(workerA.session.register('com.rec.on_a', () => 'a'), 'register on_a')).id,
        'com.rec.on_b': (await within(workerB.session.register('com.rec.on_b', () => 'b'), 'register on_b')).id,
        'com.rec.shared': (await within(workerA.session.register('com.rec.shared', () => 'shared', { invoke: 'roundrobin' }), 'register shared')).id,
      };
      await within(workerB.session.register('com.rec.shared', () => 'shared', { invoke: 'roundrobin' }), 'register shared on b');
      const gone = await within(workerB.session.register('com.rec.gone', () => 'gone'), 'register gone');
      await within(workerC.session.register('com.rec.on_c', () => 'c'), 'register on_c');
      const heardA = await collect(listenA, 'com.rec.topic');
      const heardB = await collect(listenB, 'com.rec.topic');
      await answersWithin(workerA, 'com.rec.on_c', 'c', 'a calls c before the outage');
      await answersWithin(workerB, 'com.rec.on_a', 'a', 'b calls a before the outage');
      await waitFor(() => a.router.realms.get('realm1')!.dealer.lookupRegistration('com.rec.shared', 'exact')?.callees.length === 2, { what: 'a sees both shared callees' });

      await first.stop(false);
      const stoppedAt = Date.now();
      await waitFor(() => !a.router.cluster!.connected && !b.router.cluster!.connected, { timeoutMs: 5000, what: 'a and b see NATS gone' });
      // Meanwhile: a callee leaves, a node dies, and local publications cannot cross.
      await within(workerB.session.unregister(gone), 'unregister gone while NATS is down');
      await c.router.cluster!.node.crash();
      await c.stop();
      for (let i = 0; i < 3; i++) await within(workerA.session.publish('com.rec.topic', ['during'], {}, { acknowledge: true }), 'publish while down');
      await waitFor(() => a.router.cluster!.status().peers.every((p) => !p.alive), { timeoutMs: 5000, what: 'a declares its peers dead' });
      await sleep(Math.max(0, stoppedAt + OUTAGE_MS - Date.now()));

      nats = await first.restart();
      await answersWithin(workerA, 'com.rec.on_b', 'b', 'a calls b after the restart');
      await answersWithin(workerB, 'com.rec.on_a', 'a', 'b calls a after the restart');
      await eventsCrossWithin(workerA, listenB, 'a to b');
      await eventsCrossWithin(workerB, listenA, 'b to a');
      // The views were read again: what left meanwhile is gone from every list, the ids are kept.
      for (const worker of [workerA, workerB]) await eventually(async () => void expect(await registrations(worker)).to.deep.equal(ids));
      // A node started now knows only what the others re-asserted into the new bucket.
      const d = await startClusterNode(nats.url, 'd', { realms: [REALM] });
      cluster.nodes.push(d);
      const workerD = await connect(d);
      await answersWithin(workerD, 'com.rec.on_a', 'a', 'd calls a');
      await answersWithin(workerD, 'com.rec.on_b', 'b', 'd calls b');
      for (const worker of [workerA, workerB, workerD]) {
        await eventually(async () => {
          expect(await registrations(worker)).to.deep.equal(ids);
          expect(await within(worker.session.call('wamp.registration.count_callees', [ids['com.rec.shared']]), 'count_callees')).to.equal(2);
        });
      }
      for (const node of [a, b, d]) expect(node.router.cluster!.status().registrations, 'registrations in the view').to.equal(3);
      // The retain bucket is back and followed again: a retained event crosses to a fresh subscriber.
      await within(workerA.session.publish('com.rec.kept', ['kept'], {}, { retain: true, acknowledge: true }), 'retained publish');
      await eventually(async () => {
        const retained: unknown[] = [];
        const subscription = await within(listenB.session.subscribe('com.rec.kept', (args: unknown[]) => retained.push(args[0]), { get_retained: true }), 'subscribe retained');
        try {
          await waitFor(() => retained.length > 0, { timeoutMs: 200, what: 'the retained event on b' });
        } finally {
          await within(listenB.session.unsubscribe(subscription), 'unsubscribe retained');
        }
      });
      await expectError(workerA.session.call('com.rec.on_c'), 'wamp.error.no_such_procedure', 'the dead node\'s callee');
      await expectError(workerD.session.call('com.rec.gone'), 'wamp.error.no_such_procedure', 'the callee that left during the outage');
      await exchange([[workerA, 'a'], [workerB, 'b']], 10, [
        [heardA, [...numbered('a', 10), ...numbered('b', 10), 'during', 'during', 'during']],
        [heardB, [...numbered('a', 10), ...numbered('b', 10)]],
      ]);
    } finally {
      await Promise.allSettled(clients.map((client) => client.close()));
      await cluster?.stop();
      await nats.stop();
      await first.stop();
    }
  });

  it('a node cut off until its peers purged it comes back: re-asserted, routed to again; a `single` URI taken meanwhile stays with the taker', async () => {
    const nats = await startNats();
    const relay = await Relay.to(nats.url);
    const nodes: TestRouter[] = [];
    try {
      const a = await startClusterNode(relay.url, 'a', { realms: [REALM] });
      nodes.push(a);
      const b = await startClusterNode(nats.url, 'b', { realms: [REALM] });
      nodes.push(b);
      await waitFor(() => [a, b].every((n) => n.router.cluster!.status().peers.some((p) => p.alive)), { what: 'a and b see each other' });
      const [workerA, workerB, listenA, listenB] = await Promise.all([connect(a), connect(b), connect(a), connect(b)]);
      const onA = await within(workerA.session.register('com.rec.on_a', () => 'a'), 'register on_a');
      const onB = await within(workerB.session.register('com.rec.on_b', () => 'b'), 'register on_b');
      const contested = await within(workerA.session.register('com.rec.contested', () => 'a'), 'register contested on a');
      const heardA = await collect(listenA, 'com.rec.topic');
      const heardB = await collect(listenB, 'com.rec.topic');
      await answersWithin(workerB, 'com.rec.on_a', 'a', 'b calls a before the cut');

      relay.cut();
      await waitFor(() => b.router.cluster!.view.keysWithNode('a').length === 0, { timeoutMs: 5000, what: 'b purges a\'s entries' });
      const taken = await within(workerB.session.register('com.rec.contested', () => 'b'), 'b takes the purged single URI');
      await expectError(workerA.session.register('com.rec.new', () => 0), 'wamp.error.network_failure', 'a new claim while cut off');
      relay.restore();

      await answersWithin(workerB, 'com.rec.on_a', 'a', 'b calls a after the cut');
      await answersWithin(workerA, 'com.rec.on_b', 'b', 'a calls b after the cut');
      // The URI went to b while a's claim was purged: a revokes its own callee (autobahn announces
      // registration_revocation) and routes the URI to b like every other node.
      expect(await within(contested.on_unregister, 'a\'s contested registration revoked', RECOVERY_MS)).to.be.a('string');
      await answersWithin(workerA, 'com.rec.contested', 'b', 'a calls the contested URI');
      expect(await within(workerB.session.call('com.rec.contested'), 'b calls the contested URI')).to.equal('b');
      await eventsCrossWithin(workerA, listenB, 'a to b');
      await eventsCrossWithin(workerB, listenA, 'b to a');
      const expected = { 'com.rec.on_a': onA.id, 'com.rec.on_b': onB.id, 'com.rec.contested': taken.id };
      for (const worker of [workerA, workerB]) expect(await registrations(worker)).to.deep.equal(expected);
      await exchange([[workerA, 'a'], [workerB, 'b']], 10, [
        [heardA, [...numbered('a', 10), ...numbered('b', 10)]],
        [heardB, [...numbered('a', 10), ...numbered('b', 10)]],
      ]);
    } finally {
      relay.restore();
      await Promise.allSettled(clients.map((client) => client.close()));
      await Promise.allSettled(nodes.map((node) => node.stop()));
      await relay.close();
      await nats.stop();
    }
  });

  it('a call racing an UNREGISTER (the caller\'s node still lists the callee) never reaches the callee', async () => {
    const nats = await startNats();
    let cluster: TestCluster | undefined;
    try {
      cluster = await startTestCluster(2, { realms: [REALM] }, nats);
      const [a, b] = cluster.nodes as [TestRouter, TestRouter];
      const [caller, callee] = await Promise.all([connect(a), connect(b)]);
      let late = 0;
      let raced = 0;
      for (let i = 0; i < 30; i++) {
        const uri = `com.rec.race${i}`;
        let unregistered = false;
        const registration = await within(callee.session.register(uri, () => (unregistered ? late++ : 'ok')), 'register');
        await waitFor(() => (a.router.realms.get('realm1')!.dealer.lookupRegistration(uri, 'exact')?.callees.length ?? 0) === 1, { what: 'a lists the callee' });
        await within(callee.session.unregister(registration), 'unregister');
        unregistered = true;
        // UNREGISTERED comes before the registry leave reaches a: a usually still routes to b.
        if (a.router.realms.get('realm1')!.dealer.lookupRegistration(uri, 'exact') !== undefined) raced++;
        await expectError(caller.session.call(uri), 'wamp.error.no_such_procedure', 'call after UNREGISTERED');
      }
      expect(late, 'invocations after UNREGISTERED').to.equal(0);
      expect(raced, 'calls that raced the registry leave').to.be.greaterThan(0);
    } finally {
      await Promise.allSettled(clients.map((client) => client.close()));
      await cluster?.stop();
      await nats.stop();
    }
  });
});

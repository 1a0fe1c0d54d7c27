// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { OpenClients, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { startClusterNode, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { within } from '../helpers/promises.js';
import type { TestRouter } from '../helpers/router.js';
import { waitFor } from '../helpers/wait.js';

/** The cluster's two policy switches: `preferLocal` (callee choice) and `strictConfig` (start-up). */

describe('cluster options preferLocal and strictConfig (against nats-server)', function () {
  this.timeout(30_000);
  let nats: NatsServer;
  const clients = new OpenClients();
  const extraNodes: TestRouter[] = [];

  before(async function () {
    skipWithoutNats(this);
    nats = await startNats();
  });
  afterEach(async () => {
    await clients.closeAll();
    await Promise.allSettled(extraNodes.splice(0).map((n) => n.stop()));
  });
  after(async () => {
    await nats?.stop();
  });

  const connect = (on: TestRouter): Promise<AbClient> => clients.connect(on.url);

  describe('preferLocal', () => {
    let cluster: TestCluster;
    before(async function () {
      if (!nats) this.skip();
      cluster = await startTestCluster(2, { cluster: { prefix: 'pl', preferLocal: true } }, nats);
    });
    after(async () => cluster?.stop());

    /** Registers `uri` (roundrobin) on node i with a callee answering its node's name. */
    async function calleeOn(i: number, uri: string, invoke: string): Promise<AbClient> {
      const callee = await connect(cluster.nodes[i]!);
      await within(callee.session.register(uri, () => 'ab'[i], { invoke }), `register on node ${i}`);
      return callee;
    }
    const callees = (i: number, uri: string) => cluster.nodes[i]!.router.realms.get('realm1')!.dealer.lookupRegistration(uri, 'exact')?.callees.length ?? 0;
    const answers = async (caller: AbClient, uri: string, n: number) => {
      const got: string[] = [];
      for (let i = 0; i < n; i++) got.push(await within(caller.session.call(uri) as Promise<string>, `call ${i}`));
      return got;
    };

    for (const invoke of ['roundrobin', 'random']) {
      it(`${invoke}: a call stays on the caller's node while it has a callee, and crosses when it has none`, async () => {
        const uri = `com.pl.${invoke}`;
        const local = await calleeOn(0, uri, invoke);
        await calleeOn(1, uri, invoke);
        await waitFor(() => callees(0, uri) === 2, { timeoutMs: 3000, what: 'node a sees both callees' });
        const caller = await connect(cluster.nodes[0]!);
        expect(new Set(await answers(caller, uri, 12))).to.deep.equal(new Set(['a']));
        // Without preferLocal the same registration spreads over both nodes (the cursor alternates).
        const dealer = cluster.nodes[0]!.router.realms.get('realm1')!.dealer;
        dealer.preferLocal = false;
        try {
          expect(new Set(await answers(caller, uri, 24))).to.deep.equal(new Set(['a', 'b']));
        } finally {
          dealer.preferLocal = true;
        }
        await local.close();
        await waitFor(() => callees(0, uri) === 1, { timeoutMs: 3000, what: 'the local callee gone' });
        expect(new Set(await answers(caller, uri, 4))).to.deep.equal(new Set(['b']));
      });
    }

    it('every log line of a node names it, also the lines that are not about the cluster', async () => {
      const client = await connect(cluster.nodes[1]!);
      const logs = cluster.nodes[1]!.logs;
      await waitFor(() => logs.some((line) => line.event === 'session.joined' && line.session === client.session.id), { timeoutMs: 3000, what: 'session.joined at b' });
      const nodes = new Set(logs.map((line) => line.node));
      expect([...nodes]).to.deep.equal(['b']);
    });

    it('first and last keep the one cluster-wide order', async () => {
      const uri = 'com.pl.last';
      await calleeOn(1, uri, 'last');
      await waitFor(() => callees(0, uri) === 1, { timeoutMs: 3000, what: 'node a sees the callee on b' });
      await calleeOn(0, uri, 'last');
      await waitFor(() => callees(0, uri) === 2 && callees(1, uri) === 2, { timeoutMs: 3000, what: 'both nodes see both callees' });
      // The last callee registered is the one on node a: a caller on node b is sent to it.
      const caller = await connect(cluster.nodes[1]!);
      expect(await answers(caller, uri, 3)).to.deep.equal(['a', 'a', 'a']);
    });
  });

  describe('strictConfig', () => {
    const node = async (id: string, overrides: Record<string, unknown>) => {
      const started = await startClusterNode(nats.url, id, { ...overrides, cluster: { prefix: 'sc', ...(overrides.cluster as object) } });
      extraNodes.push(started);
      return started;
    };
    before(function () {
      if (!nats) this.skip();
    });

    it('refuses to start, naming the peer, while a live node has other limits; starts beside one with the same', async () => {
      const a = await node('a', { limits: { maxPendingCallsPerSession: 100 } });
      const error = await node('b', { limits: { maxPendingCallsPerSession: 200 }, cluster: { strictConfig: true } }).then(() => undefined, (e: Error) => e);
      expect(error?.message).to.match(/strictConfig: the realms, roles, users or limits of node\(s\) a differ/);
      // The refused node left: a never sees it alive for long, and the id is free for a proper start.
      const b = await node('b', { limits: { maxPendingCallsPerSession: 100 }, cluster: { strictConfig: true } });
      await waitFor(() => a.router.cluster!.status().peers.some((p) => p.node === 'b' && p.alive), { timeoutMs: 3000, what: 'a sees b' });
      expect(b.router.cluster!.status().peers.map((p) => [p.node, p.configMatches])).to.deep.equal([['a', true]]);
    });
  });
});

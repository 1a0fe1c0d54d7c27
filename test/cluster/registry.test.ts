import { expect } from 'chai';
import { connect, StorageType, type KV, type NatsConnection } from 'nats';
import { claimKey, RegistryFollower, RegistryStore, RegistryView, type ClusterCallee } from '../../router/cluster/registry.js';
import { WampError } from '../../router/protocol/errors.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { waitFor } from '../helpers/wait.js';
import { rejection } from '../helpers/promises.js';

const errorOf = async (promise: Promise<unknown>): Promise<WampError> => {
  const error = await rejection(promise, 10_000, 'a refused registry change');
  expect(error).to.be.instanceOf(WampError);
  return error as WampError;
};

const callee = (node: string, session: number, incarnation = `${node}-1`): ClusterCallee => ({ node, incarnation, session, concurrency: 0, discloseCaller: false });

describe('cluster registry (KV claims, against nats-server)', function () {
  this.timeout(30_000);
  let server: NatsServer;
  let connections: NatsConnection[] = [];
  let bucket = 0;
  /** Nodes whose callees count as dead. */
  let dead: Set<string>;
  const isLive = (c: ClusterCallee) => !dead.has(c.node);

  /** A fresh bucket seen through `n` separate connections, as n nodes would. */
  async function kvs(n: number): Promise<KV[]> {
    const name = `reg_test_${++bucket}`;
    const out: KV[] = [];
    for (let i = 0; i < n; i++) {
      const nc = await connect({ servers: server.url });
      connections.push(nc);
      out.push(await nc.jetstream().views.kv(name, { history: 1, storage: StorageType.Memory }));
    }
    return out;
  }

  before(async function () {
    skipWithoutNats(this);
    server = await startNats();
  });
  beforeEach(() => {
    dead = new Set();
  });
  afterEach(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    connections = [];
  });
  after(async () => server?.stop());

  it('keys encode realm, match and components; empty components are "="', () => {
    expect(claimKey('realm1', 'com.example.add', 'exact')).to.equal('c.realm1.x.com.example.add');
    expect(claimKey('realm.1', 'com..add', 'wildcard')).to.equal('c.realm=2E1.w.com.=.add');
    expect(claimKey('realm1', '', 'prefix')).to.equal('c.realm1.p.=');
    expect(claimKey('realm1', 'a.b.', 'prefix')).to.equal('c.realm1.p.a.b.=');
  });

  it('the first REGISTER creates, a compatible one joins in order, incompatible ones are refused', async () => {
    const [kv] = await kvs(1);
    const store = new RegistryStore(kv!, isLive);
    const first = await store.join('realm1', 'com.add', 'exact', 'roundrobin', callee('a', 1));
    expect(first.created).to.equal(true);
    const second = await store.join('realm1', 'com.add', 'exact', 'roundrobin', callee('b', 2));
    expect(second.created).to.equal(false);
    expect(second.claim.regId).to.equal(first.claim.regId);
    expect(second.claim.callees.map((c) => c.node)).to.deep.equal(['a', 'b']);
    expect((await errorOf(store.join('realm1', 'com.add', 'exact', 'first', callee('c', 3)))).uri).to.equal('wamp.error.procedure_exists_with_different_invocation_policy');
    await store.join('realm1', 'com.single', 'exact', 'single', callee('a', 1));
    expect((await errorOf(store.join('realm1', 'com.single', 'exact', 'single', callee('b', 2)))).uri).to.equal('wamp.error.procedure_already_exists');
  });

  it('the last callee leaving deletes the registration; a new one gets a new id', async () => {
    const [kv] = await kvs(1);
    const store = new RegistryStore(kv!, isLive);
    const { claim } = await store.join('realm1', 'com.add', 'exact', 'single', callee('a', 1));
    const left = await store.leave('realm1', 'com.add', 'exact', 'a', 1);
    expect(left?.after).to.equal(undefined);
    expect(await store.leave('realm1', 'com.add', 'exact', 'a', 1)).to.equal(undefined);
    const again = await store.join('realm1', 'com.add', 'exact', 'single', callee('b', 2));
    expect(again.created).to.equal(true);
    expect(again.claim.regId).not.to.equal(claim.regId);
  });

  it('a registration whose callees all died is taken over, even by "single"', async () => {
    const [kv] = await kvs(1);
    const store = new RegistryStore(kv!, isLive);
    await store.join('realm1', 'com.add', 'exact', 'single', callee('b', 1));
    dead.add('b');
    const taken = await store.join('realm1', 'com.add', 'exact', 'single', callee('a', 2));
    expect(taken.created).to.equal(true);
    expect(taken.claim.callees.map((c) => c.node)).to.deep.equal(['a']);
  });

  it('50 races of two nodes for one "single" URI: exactly one wins each time', async () => {
    const [kvA, kvB] = await kvs(2);
    const a = new RegistryStore(kvA!, isLive);
    const b = new RegistryStore(kvB!, isLive);
    for (let i = 0; i < 50; i++) {
      const results = await Promise.allSettled([
        a.join('realm1', `com.race${i}`, 'exact', 'single', callee('a', i)),
        b.join('realm1', `com.race${i}`, 'exact', 'single', callee('b', i)),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(won, `race ${i}`).to.have.length(1);
      expect((lost[0]!.reason as WampError).uri).to.equal('wamp.error.procedure_already_exists');
    }
  });

  it('concurrent joins to one shared URI from three nodes all land, none lost to a CAS race', async () => {
    const stores = (await kvs(3)).map((kv) => new RegistryStore(kv, isLive));
    await Promise.all(stores.flatMap((store, n) => [0, 1, 2, 3].map((s) => store.join('realm1', 'com.shared', 'exact', 'roundrobin', callee(`n${n}`, s)))));
    const entry = await connections[0]!.jetstream().views.kv(`reg_test_${bucket}`).then((kv) => kv.get(claimKey('realm1', 'com.shared', 'exact')));
    expect(entry!.json<{ callees: unknown[] }>().callees).to.have.length(12);
  });

  it('a watched view routes by precedence to registrations with live callees, and follows deletes', async () => {
    const [kv, watcherKv] = await kvs(2);
    const store = new RegistryStore(kv!, isLive);
    const view = new RegistryView(isLive);
    let initialized = false;
    const watch = await watcherKv!.watch({ initializedFn: () => (initialized = true) });
    (async () => {
      for await (const entry of watch) view.apply(entry);
    })().catch(() => undefined);
    await waitFor(() => initialized, { what: 'KV watch initialized' });

    await store.join('realm1', 'com.app.', 'prefix', 'single', callee('c', 3));
    await store.join('realm1', 'com..add', 'wildcard', 'single', callee('w', 4));
    await store.join('realm1', 'com.app.add', 'exact', 'first', callee('e', 5));
    await waitFor(() => view.size === 3, { what: 'three registrations in the view' });
    expect(view.route('realm1', 'com.app.add')?.callees[0]!.node).to.equal('e');
    expect(view.route('realm1', 'com.app.sub')?.callees[0]!.node).to.equal('c');
    expect(view.route('realm1', 'com.x.add')?.callees[0]!.node).to.equal('w');
    expect(view.route('realm2', 'com.app.add')).to.equal(undefined);

    // A dead node's registration is skipped at once, before any cleanup runs.
    dead.add('e');
    expect(view.route('realm1', 'com.app.add')?.callees[0]!.node).to.equal('c');
    dead.clear();
    await store.leave('realm1', 'com.app.add', 'exact', 'e', 5);
    await waitFor(() => view.size === 2, { what: 'the delete in the view' });
    expect(view.keysWithNode('w')).to.deep.equal([claimKey('realm1', 'com..add', 'wildcard')]);
    watch.stop();
  });

  describe('after an outage', () => {
    const registration = (regId: number, invoke: 'single' | 'roundrobin' = 'single') =>
      ({ regId, realm: 'realm1', uri: 'com.add', match: 'exact' as const, invoke, created: '2026-01-01T00:00:00.000Z' });

    it('re-asserting puts a node\'s callees back under their id: re-created, joined, or left alone when listed', async () => {
      const [kv] = await kvs(1);
      const store = new RegistryStore(kv!, isLive);
      const key = claimKey('realm1', 'com.add', 'exact');
      expect(await store.reassert(registration(77, 'roundrobin'), [callee('a', 1)])).to.equal('kept');
      expect((await kv!.get(key))!.json<{ regId: number }>().regId).to.equal(77);
      // Another node's callee stays, even one not (yet) heard alive again: the sweep decides that.
      dead.add('b');
      expect(await store.reassert(registration(77, 'roundrobin'), [callee('b', 2)])).to.equal('kept');
      dead.clear();
      const revision = (await kv!.get(key))!.revision;
      expect(await store.reassert(registration(77, 'roundrobin'), [callee('a', 1)])).to.equal('kept');
      expect((await kv!.get(key))!.revision, 'no write when already listed').to.equal(revision);
      // A new incarnation's entry replaces the old one of the same session.
      expect(await store.reassert(registration(77, 'roundrobin'), [callee('a', 1, 'a-2')])).to.equal('kept');
      const listed = (await kv!.get(key))!.json<{ callees: ClusterCallee[] }>().callees;
      expect(listed.map((c) => `${c.node}/${c.session}/${c.incarnation}`)).to.deep.equal(['b/2/b-1', 'a/1/a-2']);
    });

    it('re-asserting loses to another id holding the URI with another node\'s callee, and takes over one of its own old entries', async () => {
      const [kv] = await kvs(1);
      const store = new RegistryStore(kv!, isLive);
      const { claim } = await store.join('realm1', 'com.add', 'exact', 'single', callee('b', 2));
      expect(await store.reassert(registration(77), [callee('a', 1)])).to.equal('lost');
      await store.leave('realm1', 'com.add', 'exact', 'b', 2);
      await store.join('realm1', 'com.add', 'exact', 'single', callee('a', 9, 'a-0'));
      expect(await store.reassert(registration(77), [callee('a', 1)])).to.equal('kept');
      const now = (await kv!.get(claimKey('realm1', 'com.add', 'exact')))!.json<{ regId: number; callees: ClusterCallee[] }>();
      expect(now.regId).to.equal(77).and.not.equal(claim.regId);
      expect(now.callees.map((c) => c.session)).to.deep.equal([1]);
    });

    it('the follower reads the table again after the bucket was lost, dropping what is no longer there', async () => {
      const [kv, watcherKv] = await kvs(2);
      const store = new RegistryStore(kv!, isLive);
      const view = new RegistryView(isLive);
      const changed: string[] = [];
      const follower = new RegistryFollower(watcherKv!, view, (key) => changed.push(key), (error) => { throw error; });
      await store.join('realm1', 'com.gone', 'exact', 'single', callee('a', 1));
      await store.join('realm1', 'com.kept', 'exact', 'single', callee('a', 2));
      await follower.start();
      expect(view.size).to.equal(2);
      // What a NATS restart does to a memory bucket: gone, then re-created empty by a node.
      const nc = connections[0]!;
      await (await nc.jetstreamManager()).streams.delete(`KV_reg_test_${bucket}`);
      const recreated = await nc.jetstream().views.kv(`reg_test_${bucket}`, { history: 1, storage: StorageType.Memory });
      await new RegistryStore(recreated, isLive).reassert({ regId: 5, realm: 'realm1', uri: 'com.kept', match: 'exact', invoke: 'single', created: '' }, [callee('a', 2)]);
      changed.length = 0;
      await follower.start();
      expect(view.size).to.equal(1);
      expect(view.get('realm1', 'com.kept', 'exact')?.regId).to.equal(5);
      expect(changed).to.include.members([claimKey('realm1', 'com.gone', 'exact'), claimKey('realm1', 'com.kept', 'exact')]);
      await store.join('realm1', 'com.new', 'exact', 'single', callee('b', 3));
      await waitFor(() => view.size === 2, { what: 'the new watch follows changes' });
      follower.stop();
    });
  });
});

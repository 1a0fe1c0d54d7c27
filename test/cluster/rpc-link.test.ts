// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import type { MatchPolicy } from '../../router/protocol/uri.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { startClusterNode, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { expectError, within } from '../helpers/promises.js';
import { RawClient } from '../helpers/raw-client.js';
import { ALLOW_ALL, type TestRouter } from '../helpers/router.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Calls whose caller and callee sit on different nodes of one cluster (router/cluster/rpc-link.ts):
 * each node mirrors the cluster's registrations into its own dealer, so everything a call can do
 * on one node it does across nodes.
 */

const INVOCATION = 68;
const INTERRUPT = 69;
const REGISTERED = 65;
const ERROR = 8;
const NEVER = () => new Promise(() => undefined);

describe('cluster RPC: calls across nodes (autobahn-js, against nats-server)', function () {
  this.timeout(30_000);
  let nats: NatsServer;
  let cluster: TestCluster;
  let clients: AbClient[] = [];
  let raws: RawClient[] = [];

  before(async function () {
    skipWithoutNats(this);
    nats = await startNats();
    // The default test realm, plus the registration meta API.
    const permissions = [...ALLOW_ALL, { uri: 'wamp.registration.', match: 'prefix', allow: { call: true } }];
    cluster = await startTestCluster(3, { realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions }], auth: { anonymous: { role: 'anonymous' } } }] }, nats);
    await waitFor(() => cluster.nodes.every((n) => n.router.cluster!.status().peers.filter((p) => p.alive).length === 2), { timeoutMs: 3000, what: 'three nodes see each other' });
  });
  afterEach(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    for (const raw of raws) raw.close();
    clients = [];
    raws = [];
  });
  after(async () => {
    await cluster?.stop();
    await nats?.stop();
  });

  const node = (i: number) => cluster.nodes[i]!;
  async function connect(on: TestRouter, serializer: SerializerName = 'json', options: Record<string, unknown> = {}): Promise<AbClient> {
    const client = await connectAutobahn(on.url, serializer, options);
    clients.push(client);
    return client;
  }
  /** Until `on` routes `uri` (match) to `count` callees: the registry change has reached it. */
  const seen = (on: TestRouter, uri: string, count: number, match: MatchPolicy = 'exact') => waitFor(
    () => (on.router.realms.get('realm1')!.dealer.lookupRegistration(uri, match)?.callees.length ?? 0) === count,
    { timeoutMs: 3000, what: `${uri} with ${count} callee(s) at ${on.router.cluster!.status().node}` },
  );
  /** A callee that answers with its name, registered on node `i`. */
  async function named(i: number, uri: string, options: Record<string, unknown> = {}): Promise<AbClient> {
    const callee = await connect(node(i));
    await within(callee.session.register(uri, () => `n${i}`, options), `register ${uri} on node ${i}`);
    return callee;
  }

  it('carries args, kwargs and binary from a json caller to a msgpack callee on another node and back', async () => {
    const callee = await connect(node(1), 'msgpack');
    const bytes = Buffer.from([0, 255, 1, 254, 0x80]);
    let got: { args: unknown[]; kwargs: Record<string, unknown> } | undefined;
    await within(callee.session.register('com.x.echo', (args: unknown[], kwargs: Record<string, unknown>) => {
      got = { args, kwargs };
      return new autobahn.Result([...args].reverse(), { ...kwargs, from: 'b' });
    }), 'register');
    await seen(node(0), 'com.x.echo', 1);
    const caller = await connect(node(0), 'json');
    const wire = `\u0000${bytes.toString('base64')}`;
    const result = await within<any>(caller.session.call('com.x.echo', [1, 'two', wire], { big: 123456789012, nested: { b: wire } }), 'cross-node call');
    expect(Buffer.from(got!.args[2] as Uint8Array).equals(bytes), 'binary arrives as bytes').to.equal(true);
    expect(got!.kwargs.big).to.equal(123456789012);
    expect(result.args).to.deep.equal([wire, 'two', 1]);
    expect(result.kwargs).to.deep.equal({ big: 123456789012, nested: { b: wire }, from: 'b' });
  });

  it('returns a callee ERROR with its URI, args and kwargs to a caller on another node', async () => {
    const callee = await connect(node(2), 'cbor', { on_user_error: () => undefined });
    await within(callee.session.register('com.x.fail', () => {
      throw new autobahn.Error('com.x.error.nope', ['why', 2], { code: 7 });
    }), 'register');
    await seen(node(0), 'com.x.fail', 1);
    const caller = await connect(node(0));
    const error = await expectError(caller.session.call('com.x.fail'), 'com.x.error.nope', 'failing call');
    expect(error.args).to.deep.equal(['why', 2]);
    expect(error.kwargs).to.deep.equal({ code: 7 });
  });

  it('the registration meta API on one node knows registrations of another, with one registration id', async () => {
    const callee = await named(1, 'com.x.meta', { invoke: 'roundrobin' });
    const registered = (await within<{ id: number }>(callee.session.register('com.x.meta2', () => 0), 'second register')).id;
    await seen(node(0), 'com.x.meta2', 1);
    const caller = await connect(node(0));
    expect(await within(caller.session.call('wamp.registration.lookup', ['com.x.meta2']), 'lookup')).to.equal(registered);
    expect(await within(caller.session.call('wamp.registration.list_callees', [registered]), 'list_callees')).to.deep.equal([callee.session.id]);
    const listed = await within<{ exact: number[] }>(caller.session.call('wamp.registration.list'), 'list');
    expect(listed.exact).to.include(registered);
  });

  it('routes a call again when the remote callee it chose had already left (this node\'s registry a moment behind)', async () => {
    // A claim that still lists a session of node b that is gone, beside a real callee on node a.
    const b = node(1).router.cluster!;
    await node(0).router.cluster!.store.join('realm1', 'com.x.stale', 'exact', 'roundrobin', {
      node: b.node.node, incarnation: b.node.incarnation, session: 424242, concurrency: 0, discloseCaller: false,
    });
    await named(0, 'com.x.stale', { invoke: 'roundrobin' });
    await seen(node(0), 'com.x.stale', 2);
    const caller = await connect(node(0));
    for (let i = 0; i < 4; i++) expect(await within(caller.session.call('com.x.stale'), `call ${i}`)).to.equal('n0');
  });

  it('a CALL that finds no callee reads the registration from the registry before no_such_procedure (its copy may lag)', async () => {
    // Node b stops following the registry, so only the read-through can know of the REGISTER on a.
    const follower = (node(1).router.cluster as unknown as { follower: { stop(): void; start(): Promise<void> } }).follower;
    follower.stop();
    try {
      await named(0, 'com.x.fresh');
      const caller = await connect(node(1));
      expect(await within(caller.session.call('com.x.fresh'), 'call right after the REGISTER')).to.equal('n0');
      await expectError(caller.session.call('com.x.nowhere'), 'wamp.error.no_such_procedure', 'a procedure nobody registered');
    } finally {
      await follower.start();
    }
  });

  it('keeps `single` unique across the cluster: a REGISTER on node b after node a has it is refused', async () => {
    await named(0, 'com.x.single');
    const other = await connect(node(1));
    // At once, before b has even seen the registration: the registry's compare-and-set refuses it.
    await expectError(other.session.register('com.x.single', () => 0), 'wamp.error.procedure_already_exists', 'second single');
    await expectError(other.session.register('com.x.single', () => 0, { invoke: 'roundrobin' }), 'wamp.error.procedure_already_exists', 'shared over single');
  });

  it('round-robins a shared registration over callees on two nodes, reached from a third', async () => {
    await named(0, 'com.x.rr', { invoke: 'roundrobin' });
    await named(1, 'com.x.rr', { invoke: 'roundrobin' });
    await seen(node(2), 'com.x.rr', 2);
    const caller = await connect(node(2));
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push(await within(caller.session.call('com.x.rr'), `call ${i}`));
    expect(answers.filter((a) => a === 'n0')).to.have.length(2);
    expect(answers.filter((a) => a === 'n1')).to.have.length(2);
    expect(answers[0]).to.not.equal(answers[1]);
  });

  it('agrees on `first` and `last` on every node: the registry orders the callees', async () => {
    for (const invoke of ['first', 'last']) {
      await named(0, `com.x.${invoke}`, { invoke });
      await named(1, `com.x.${invoke}`, { invoke });
      for (const i of [0, 1, 2]) await seen(node(i), `com.x.${invoke}`, 2);
    }
    for (const i of [0, 1, 2]) {
      const caller = await connect(node(i));
      expect(await within(caller.session.call('com.x.first'), `first from node ${i}`)).to.equal('n0');
      expect(await within(caller.session.call('com.x.last'), `last from node ${i}`)).to.equal('n1');
    }
  });

  it('applies exact > prefix > wildcard over the whole cluster', async () => {
    const exact = await named(1, 'com.p.a.b');
    await named(0, 'com.p.a', { match: 'prefix' });
    await named(2, 'com.p..b', { match: 'wildcard' });
    await seen(node(0), 'com.p..b', 1, 'wildcard');
    await seen(node(0), 'com.p.a.b', 1);
    const caller = await connect(node(0));
    expect(await within(caller.session.call('com.p.a.b'), 'exact')).to.equal('n1');
    await exact.close();
    await seen(node(0), 'com.p.a.b', 0);
    expect(await within(caller.session.call('com.p.a.b'), 'prefix')).to.equal('n0');
    expect(await within(caller.session.call('com.p.x.b'), 'wildcard')).to.equal('n2');
  });

  it('holds a callee\'s concurrency for calls from all nodes together', async () => {
    const callee = await connect(node(1));
    const held: (() => void)[] = [];
    await within(callee.session.register('com.x.one', () => new Promise((resolve) => held.push(() => resolve('ok'))), { concurrency: 1 }), 'register');
    await seen(node(0), 'com.x.one', 1);
    await seen(node(2), 'com.x.one', 1);
    const [first, second] = [await connect(node(0)), await connect(node(2))];
    const running = first.session.call('com.x.one');
    await waitFor(() => held.length === 1, { what: 'first call running' });
    await expectError(second.session.call('com.x.one'), 'crossbar.error.max_concurrency_reached', 'call from another node');
    held[0]!();
    expect(await within(running, 'first call')).to.equal('ok');
  });

  it('streams progressive results from a callee on another node, in order', async () => {
    const callee = await connect(node(1));
    await within(callee.session.register('com.x.count', (args: unknown[], _k: unknown, details: any) => {
      for (let i = 1; i <= (args[0] as number); i++) details.progress?.([i]);
      return 'done';
    }), 'register');
    await seen(node(0), 'com.x.count', 1);
    const caller = await connect(node(0));
    const progress: unknown[] = [];
    const result = await within((caller.session.call('com.x.count', [3], {}, { receive_progress: true }) as any).then(
      (value: unknown) => value, (error: unknown) => { throw error; }, (update: unknown) => progress.push(update),
    ), 'progressive call');
    expect(result).to.equal('done');
    expect(progress).to.deep.equal([1, 2, 3]);
  });

  it('streams a progressive call invocation to a callee on another node: one INVOCATION id, chunks in order', async () => {
    const pci = { features: { progressive_call_invocations: true } };
    const { client: callee } = await RawClient.joined(node(1).url, 'msgpack', 'realm1', { callee: pci });
    const { client: caller } = await RawClient.joined(node(0).url, 'json', 'realm1', { caller: pci });
    raws.push(callee, caller);
    callee.send([64, 1, {}, 'com.x.upload']);
    expect((await callee.next())[0]).to.equal(REGISTERED);
    await seen(node(0), 'com.x.upload', 1);
    caller.send([48, 7, { progress: true }, 'com.x.upload', ['c1']]);
    caller.send([48, 7, { progress: true }, 'com.x.upload', ['c2']]);
    caller.send([48, 7, {}, 'com.x.upload', ['c3']]);
    const chunks = [await callee.next(), await callee.next(), await callee.next()];
    expect(chunks.map((m) => [m[0], m[1], (m[3] as { progress?: boolean }).progress === true, m[4]])).to.deep.equal([
      [INVOCATION, chunks[0]![1], true, ['c1']], [INVOCATION, chunks[0]![1], true, ['c2']], [INVOCATION, chunks[0]![1], false, ['c3']],
    ]);
    callee.send([70, chunks[0]![1], {}, ['got 3']]);
    expect(await caller.next()).to.deep.equal([50, 7, {}, ['got 3']]);
  });

  it('times a call to a remote callee out on the caller\'s node, and discloses the caller when asked', async () => {
    const callee = await connect(node(1));
    const disclosed: unknown[] = [];
    await within(callee.session.register('com.x.hang', NEVER), 'register hang');
    await within(callee.session.register('com.x.who', (_a: unknown, _k: unknown, d: any) => { disclosed.push(d.caller, d.caller_authrole); }), 'register who');
    await seen(node(0), 'com.x.who', 1);
    const caller = await connect(node(0));
    await expectError(caller.session.call('com.x.hang', [], {}, { timeout: 200 }), 'wamp.error.timeout', 'timed-out call');
    await within(caller.session.call('com.x.who', [], {}, { disclose_me: true }), 'disclosed call');
    expect(disclosed).to.deep.equal([caller.session.id, 'anonymous']);
  });

  it('cancels (kill) a call on another node: the callee that announced call_canceling gets INTERRUPT and its ERROR reaches the caller', async () => {
    const { client: callee } = await RawClient.joined(node(1).url, 'json', 'realm1', { callee: { features: { call_canceling: true } } });
    raws.push(callee);
    callee.send([64, 1, {}, 'com.x.cancel']);
    expect((await callee.next())[0]).to.equal(REGISTERED);
    await seen(node(0), 'com.x.cancel', 1);
    const caller = await connect(node(0));
    const call = caller.session.call('com.x.cancel') as any;
    const invocation = await callee.next();
    expect(invocation[0]).to.equal(INVOCATION);
    call.cancel({ mode: 'kill' });
    expect(await callee.next()).to.deep.equal([INTERRUPT, invocation[1], { mode: 'kill' }]);
    callee.send([ERROR, INVOCATION, invocation[1], {}, 'wamp.error.canceled', ['stopped by callee']]);
    const error = await expectError(call, 'wamp.error.canceled', 'canceled call');
    expect(error.args).to.deep.equal(['stopped by callee']);
  });

  for (const how of ['stops', 'crashes'] as const) {
    it(`answers wamp.error.canceled at once when the callee's node ${how} with the call in flight`, async () => {
      const extra = await startClusterNode(nats.url, how === 'stops' ? 'd' : 'e');
      try {
        const callee = await connectAutobahn(extra.url);
        await within(callee.session.register(`com.x.${how}`, NEVER), 'register');
        await seen(node(0), `com.x.${how}`, 1);
        const caller = await connect(node(0));
        const call = caller.session.call(`com.x.${how}`, [], {}, { timeout: 20_000 });
        await waitFor(() => node(0).router.realms.get('realm1')!.dealer.pendingCallCount === 1, { what: 'call in flight' });
        if (how === 'stops') void extra.router.close();
        else await extra.router.cluster!.node.crash();
        // Far below the call's timeout: the node's goodbye, or its silence past deadAfterMs.
        await withTimeout(expectError(call, 'wamp.error.canceled', 'call to a gone node'), 3000, 'canceled');
        await seen(node(2), `com.x.${how}`, 0);
        // The registry forgets it too (the node's own leave, or the lowest live node's cleanup).
        await waitFor(() => node(2).router.cluster!.view.get('realm1', `com.x.${how}`, 'exact') === undefined, { what: 'registry entry removed' });
      } finally {
        await extra.stop();
      }
    });
  }

  it('interrupts the invocations of a caller whose node crashes (callee with call_canceling)', async () => {
    const { client: callee } = await RawClient.joined(node(1).url, 'json', 'realm1', { callee: { features: { call_canceling: true } } });
    raws.push(callee);
    callee.send([64, 1, {}, 'com.x.orphan']);
    expect((await callee.next())[0]).to.equal(REGISTERED);
    const extra = await startClusterNode(nats.url, 'f');
    try {
      await seen(extra, 'com.x.orphan', 1);
      const caller = await connectAutobahn(extra.url);
      void Promise.resolve(caller.session.call('com.x.orphan')).catch(() => undefined);
      const invocation = await callee.next();
      expect(invocation[0]).to.equal(INVOCATION);
      await extra.router.cluster!.node.crash();
      expect(await callee.next(3000)).to.deep.equal([INTERRUPT, invocation[1], { mode: 'killnowait' }]);
    } finally {
      await extra.stop();
    }
  });

  it('while NATS is down: a call to a remote callee fails at once with network_failure, a new REGISTER too; local calls work', async () => {
    const own = await startNats();
    // A long dead-after time, so the peers are still routed to while NATS is gone.
    const pair = await startTestCluster(2, { cluster: { deadAfterMs: 10_000 } }, own);
    try {
      const [a, b] = pair.nodes as [TestRouter, TestRouter];
      const remote = await connect(b);
      await within(remote.session.register('com.x.far', () => 'far'), 'register far');
      const caller = await connect(a);
      await within(caller.session.register('com.x.near', () => 'near'), 'register near');
      await seen(a, 'com.x.far', 1);
      await own.stop();
      await waitFor(() => !a.router.cluster!.connected, { timeoutMs: 5000, what: 'a notices NATS is gone' });
      await expectError(caller.session.call('com.x.far'), 'wamp.error.network_failure', 'call across nodes');
      await expectError(caller.session.register('com.x.new', () => 0), 'wamp.error.network_failure', 'register');
      expect(await within(caller.session.call('com.x.near'), 'local call')).to.equal('near');
    } finally {
      await Promise.allSettled(clients.map((c) => c.close()));
      // ClusterNode.stop() during an outage leaves the NATS client reconnecting forever: close first.
      await Promise.allSettled(pair.nodes.map((n) => n.router.cluster!.node.crash()));
      await pair.stop();
      await own.stop();
    }
  });
});

// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { sharedSubscriptionId } from '../../router/cluster/pubsub-link.js';
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { within } from '../helpers/promises.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Events across nodes (issue 15 "Pub/sub", design §3.3): publishers and subscribers on different
 * nodes of one NATS-linked cluster. "Nothing else arrives" is shown with a marker published after
 * by the same publisher: NATS keeps one publisher's order, so once the marker is in, nothing
 * published before it is still on its way.
 */

const ALL = { call: true, register: true, publish: true, subscribe: true };
const PERMS = [{ uri: '', match: 'prefix', allow: ALL }, { uri: 'wamp.', match: 'prefix', allow: { call: true, subscribe: true } }];
/** Ticket users: authid → role. */
const USERS: Record<string, string> = { r1: 'red', u1: 'blue', l1: 'limited' };
const REALM = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: PERMS },
    { name: 'red', permissions: PERMS },
    { name: 'blue', permissions: PERMS },
    // May subscribe to com.sec… by prefix, but not receive anything under com.secret.
    { name: 'limited', permissions: [...PERMS, { uri: 'com.secret', match: 'prefix', allow: { publish: true } }] },
  ],
  auth: {
    anonymous: { role: 'anonymous' },
    ticket: { users: Object.fromEntries(Object.entries(USERS).map(([authid, role]) => [authid, { ticket: `t-${authid}`, role }])) },
  },
};
const CONFIG = { realms: [REALM], limits: { rateMessagesPerSecond: 0, authFailureBaseDelayMs: 0 } };

interface Seen {
  label: unknown;
  args: unknown[];
  kwargs: Record<string, unknown>;
  details: Record<string, any>;
}

/** Records what arrives; `labels` are the first arguments, in arrival order. */
function collector() {
  const events: Seen[] = [];
  const handler = (args: unknown[], kwargs: Record<string, unknown>, details: any) => events.push({ label: args[0], args, kwargs, details: { ...details } });
  return { events, handler, labels: () => events.map((e) => e.label), until: (label: unknown, what: string) => waitFor(() => events.some((e) => e.label === label), { what }) };
}

describe('cluster pub/sub: events across nodes (autobahn-js on different nodes)', function () {
  this.timeout(60_000);
  let nats: NatsServer;
  let cluster: TestCluster;
  let clients: AbClient[] = [];

  /** A client at `url`, anonymous or as a ticket user; closed after the test. */
  async function at(url: string, authid?: string, serializer: SerializerName = 'json'): Promise<AbClient> {
    const auth = authid === undefined ? {} : { authmethods: ['ticket'], authid, onchallenge: () => `t-${authid}` };
    const client = await connectAutobahn(url, serializer, { on_user_error: () => undefined, ...auth });
    clients.push(client);
    return client;
  }
  /** A client on node `node` (0 = a) of the shared cluster. */
  const on = (node: number, authid?: string, serializer?: SerializerName) => at(cluster.nodes[node]!.url, authid, serializer);
  const publish = (client: AbClient, topic: string, args: unknown[], options: Record<string, unknown> = {}, kwargs = {}) =>
    within<{ id: number }>(client.session.publish(topic, args, kwargs, { acknowledge: true, ...options }), `publish ${String(args[0])} on ${topic}`);
  const subscribe = (client: AbClient, topic: string, handler: (...a: any[]) => void, options: Record<string, unknown> = {}) =>
    within(client.session.subscribe(topic, handler, options), `subscribe ${topic}`);

  before(async function () {
    skipWithoutNats(this);
    nats = await startNats();
    cluster = await startTestCluster(3, CONFIG, nats);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  });
  after(async () => {
    await cluster?.stop();
    await nats?.stop();
  });

  it('exact, prefix (also one ending inside a component) and wildcard subscriptions on another node get each event once per matching subscription, with the publication ID of PUBLISHED', async () => {
    const pub = await on(0);
    const sub = await on(1);
    const seen = { exact: collector(), prefix: collector(), wildcard: collector() };
    await subscribe(sub, 'com.app.user.x', seen.exact.handler);
    await subscribe(sub, 'com.app.us', seen.prefix.handler, { match: 'prefix' });
    await subscribe(sub, 'com..user.x', seen.wildcard.handler, { match: 'wildcard' });
    const ids = new Map<string, number>();
    for (const topic of ['com.app.user.x', 'com.app.users', 'com.app.u', 'com.other.user.x', 'com.app.us.marker']) ids.set(topic, (await publish(pub, topic, [topic])).id);
    await seen.prefix.until('com.app.us.marker', 'marker');
    expect(seen.exact.labels()).to.deep.equal(['com.app.user.x']);
    expect(seen.prefix.labels()).to.deep.equal(['com.app.user.x', 'com.app.users', 'com.app.us.marker']);
    expect(seen.wildcard.labels()).to.deep.equal(['com.app.user.x', 'com.other.user.x']);
    for (const e of [...seen.exact.events, ...seen.prefix.events, ...seen.wildcard.events]) expect(e.details.publication).to.equal(ids.get(e.label as string));
    expect(seen.prefix.events.map((e) => e.details.topic)).to.deep.equal(seen.prefix.labels());
  });

  it('a retained event published on one node is fetched with get_retained on another, within its receiver filter', async () => {
    const pub = await on(0);
    await publish(pub, 'com.retained.a', ['kept'], { retain: true, exclude_authrole: ['red'] }, { v: 1 });
    const published = await publish(pub, 'com.retained.b', ['also kept'], { retain: true });
    // The retain bucket is followed by every node: wait until node c has the last one.
    await waitFor(() => [...cluster.nodes[2]!.router.realms.get('realm1')!.broker.retainedTopics()].includes('com.retained.b'), { what: 'retained at c' });
    const seen = collector();
    await subscribe(await on(2), 'com.retained.', seen.handler, { match: 'prefix', get_retained: true });
    await waitFor(() => seen.events.length === 2, { what: 'both retained events at c' });
    expect(seen.events.map((e) => [e.label, e.details.retained, e.details.topic])).to.deep.equal([
      ['kept', true, 'com.retained.a'], ['also kept', true, 'com.retained.b'],
    ]);
    expect(seen.events[1]!.details.publication).to.equal(published.id);
    const red = collector();
    await subscribe(await on(2, 'r1'), 'com.retained.', red.handler, { match: 'prefix', get_retained: true });
    await waitFor(() => red.events.length === 1, { what: 'the retained event red may get' });
    expect(red.labels()).to.deep.equal(['also kept']);
  });

  it('a subscription has the same ID on every node', async () => {
    const ids: number[] = [];
    for (const node of [0, 1, 2]) ids.push((await subscribe(await on(node), 'com.same.id', () => undefined) as { id: number }).id);
    expect(new Set(ids).size).to.equal(1);
    expect(ids[0]).to.equal(sharedSubscriptionId('realm1', 'com.same.id', 'exact'));
    expect(Number.isSafeInteger(ids[0]) && ids[0]! >= 1).to.equal(true);
  });

  it('no duplicates and no loops: subscribers on every node, the publisher\'s own included, get each event exactly once', async () => {
    const pub = await on(0);
    const seen = [collector(), collector(), collector(), collector()];
    await subscribe(pub, 'com.dup', seen[0]!.handler);
    for (const [i, node] of [0, 1, 2].entries()) await subscribe(await on(node), 'com.dup', seen[i + 1]!.handler);
    for (const label of ['one', 'two', 'marker']) await publish(pub, 'com.dup', [label], { exclude_me: false });
    for (const got of seen) {
      await got.until('marker', 'marker everywhere');
      expect(got.labels()).to.deep.equal(['one', 'two', 'marker']);
    }
  });

  it('exclude / eligible by session ID, exclude_authid and eligible_authrole aimed at sessions on other nodes', async () => {
    const pub = await on(0);
    const [anon, red, blue] = [await on(1), await on(2, 'r1'), await on(1, 'u1')];
    const seen = { anon: collector(), red: collector(), blue: collector() };
    await subscribe(anon, 'com.bw', seen.anon.handler);
    await subscribe(red, 'com.bw', seen.red.handler);
    await subscribe(blue, 'com.bw', seen.blue.handler);
    const cases: [string, Record<string, unknown>, (keyof typeof seen)[]][] = [
      ['exclude', { exclude: [anon.session.id] }, ['red', 'blue']],
      ['eligible', { eligible: [anon.session.id, red.session.id] }, ['anon', 'red']],
      ['exclude_authid', { exclude_authid: ['r1'] }, ['anon', 'blue']],
      ['eligible_authrole', { eligible_authrole: ['red', 'blue'] }, ['red', 'blue']],
      ['eligible_authrole+exclude', { eligible_authrole: ['red', 'blue'], exclude: [blue.session.id] }, ['red']],
    ];
    for (const [label, options] of cases) await publish(pub, 'com.bw', [label], options);
    await publish(pub, 'com.bw', ['marker']);
    for (const name of ['anon', 'red', 'blue'] as const) {
      await seen[name].until('marker', `marker at ${name}`);
      expect(seen[name].labels(), name).to.deep.equal([...cases.filter(([, , to]) => to.includes(name)).map(([label]) => label), 'marker']);
    }
  });

  it('discloses the publisher across nodes on disclose_me, and only then', async () => {
    const pub = await on(0, 'r1');
    const got = collector();
    await subscribe(await on(1), 'com.who', got.handler);
    await publish(pub, 'com.who', ['hidden']);
    await publish(pub, 'com.who', ['shown'], { disclose_me: true });
    await got.until('shown', 'disclosed event');
    const who = (e: Seen) => [e.details.publisher, e.details.publisher_authid, e.details.publisher_authrole];
    expect(got.events.map(who)).to.deep.equal([[undefined, undefined, undefined], [pub.session.id, 'r1', 'red']]);
  });

  it('checks the receiver\'s permission on the concrete topic on its own node: a prefix subscription covering a denied URI gets nothing there', async () => {
    const pub = await on(0);
    const limited = collector();
    const other = collector();
    await subscribe(await on(1, 'l1'), 'com.sec', limited.handler, { match: 'prefix' });
    await subscribe(await on(1), 'com.sec', other.handler, { match: 'prefix' });
    await publish(pub, 'com.secret.plans', ['secret']);
    await publish(pub, 'com.sec.ok', ['marker']);
    await limited.until('marker', 'marker at limited');
    await other.until('marker', 'marker at other');
    expect(limited.labels()).to.deep.equal(['marker']);
    expect(other.labels()).to.deep.equal(['secret', 'marker']);
  });

  it('args, kwargs and binary arrive intact across nodes and serializers (json publisher, msgpack and cbor subscribers)', async () => {
    const pub = await on(0, undefined, 'json');
    const got = { msgpack: collector(), cbor: collector() };
    await subscribe(await on(1, undefined, 'msgpack'), 'com.bin', got.msgpack.handler);
    await subscribe(await on(2, undefined, 'cbor'), 'com.bin', got.cbor.handler);
    const bytes = Buffer.from('10e3ff9053075c526f5fc06d4fe37cdb', 'hex');
    const wire = '\u0000EOP/kFMHXFJvX8BtT+N82w=='; // the spec's JSON form of these bytes (wamp-spec §11.2)
    const kwargs = { n: 123456789012, f: -2.25, s: 'naïve ✓', nil: null, nested: { list: [1, [2]], b: wire } };
    await publish(pub, 'com.bin', ['first', wire, 0.5], {}, kwargs);
    for (const [name, seen] of Object.entries(got)) {
      await seen.until('first', `event at ${name}`);
      const [event] = seen.events;
      expect(Buffer.from(event!.args[1] as Uint8Array).equals(bytes), name).to.equal(true);
      expect(event!.args[2]).to.equal(0.5);
      expect(Buffer.from((event!.kwargs.nested as any).b as Uint8Array).equals(bytes), name).to.equal(true);
      expect({ ...event!.kwargs, nested: { list: (event!.kwargs.nested as any).list } }).to.deep.equal({ ...kwargs, nested: { list: [1, [2]] } });
    }
  });

  it('keeps one publisher\'s order: 1,000 numbered events arrive in order on another node', async () => {
    const pub = await on(0);
    const got = collector();
    await subscribe(await on(1), 'com.seq', got.handler);
    for (let n = 0; n < 1000; n++) pub.session.publish('com.seq', [n]);
    await waitFor(() => got.events.length >= 1000, { timeoutMs: 10_000, what: '1,000 events' });
    expect(got.labels()).to.deep.equal([...Array(1000).keys()]);
  });

  it('on_leave and testaments of a session on one node reach subscribers on another', async () => {
    const leaving = await on(0);
    const watcher = await on(1);
    const left = collector();
    const will = collector();
    await subscribe(watcher, 'wamp.session.on_leave', left.handler);
    await subscribe(watcher, 'com.will', will.handler);
    await within(leaving.session.call('wamp.session.add_testament', ['com.will', ['gone'], {}]), 'add_testament');
    const id = leaving.session.id;
    await leaving.close();
    await left.until(id, 'on_leave at the other node');
    expect(will.labels()).to.deep.equal(['gone']);
  });

  describe('on a two-node cluster of its own (16 KiB messages)', () => {
    let small: TestCluster;
    before(async () => {
      small = await startTestCluster(2, { ...CONFIG, limits: { ...CONFIG.limits, maxMessageBytes: 16 * 1024 } });
    });
    after(async () => small?.stop());

    it('does not send an envelope over maxMessageBytes + 4 KiB: counted, logged once, local delivery unharmed', async () => {
      const [a, b] = small.nodes;
      const pub = await at(a!.url);
      const local = collector();
      const remote = collector();
      await subscribe(pub, 'com.big', local.handler);
      await subscribe(await at(b!.url), 'com.big', remote.handler);
      // 3,500 floats: 14 KB of JSON, 31 KB as CBOR float64s.
      for (const label of ['big', 'bigger']) await publish(pub, 'com.big', [label, ...Array(3500).fill(1.1)], { exclude_me: false });
      await publish(pub, 'com.big', ['marker'], { exclude_me: false });
      await remote.until('marker', 'marker on the other node');
      expect(remote.labels()).to.deep.equal(['marker']);
      expect(local.labels()).to.deep.equal(['big', 'bigger', 'marker']);
      expect(a!.router.cluster!.pubsub.refused).to.equal(2);
      expect(a!.logs.filter((line) => line.event === 'cluster.publication_not_sent')).to.have.length(1);
    });

    it('a node that stops takes its subscribers\' interest with it; publishing on goes on without errors', async () => {
      const [a, b] = small.nodes;
      const pub = await at(a!.url);
      const local = collector();
      await subscribe(pub, 'com.stop', local.handler);
      await subscribe(await at(b!.url), 'com.stop', () => undefined);
      expect(b!.router.cluster!.pubsub.interestCount).to.equal(1);
      await b!.stop();
      expect(b!.router.cluster!.pubsub.interestCount).to.equal(0);
      await publish(pub, 'com.stop', ['after'], { exclude_me: false });
      await local.until('after', 'local event after the stop');
      expect(a!.router.cluster!.pubsub.dropped).to.equal(0);
    });
  });
});

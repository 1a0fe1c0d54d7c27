// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { validateConfig, type RealmConfig } from '../../router/config.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { reconfigureRealm, registeringOnEveryNode, retainedOnEveryNode } from '../helpers/topology.js';
import { waitFor } from '../helpers/wait.js';
import { expectError, within } from '../helpers/promises.js';

/**
 * Advanced Pub/Sub profile end to end (issue 6; wamp-spec §7.2–§7.7): publisher exclusion,
 * subscriber black/whitelisting, publisher identification, pattern subscriptions, event
 * retention, subscription revocation, testaments, and per-publisher ordering at volume.
 *
 * "Nothing arrives" is never shown with a sleep: a marker travels the same ordered path
 * afterwards (same publisher, same subscriber), and once it is in, the other must not be.
 */

const ALL = { call: true, register: true, publish: true, subscribe: true };
const META = { uri: 'wamp.', match: 'prefix', allow: { call: true, subscribe: true } };
const PERMS = [{ uri: '', match: 'prefix', allow: ALL }, META];
const LIMITS = { rateMessagesPerSecond: 0, authFailureBaseDelayMs: 0 };

/** Ticket users: authid → [ticket, role]. */
const USERS: Record<string, [string, string]> = {
  r1: ['t-r1', 'red'],
  r2: ['t-r2', 'red'],
  u1: ['t-u1', 'blue'],
  v1: ['t-v1', 'viewer'],
};

/**
 * Waits until every node keeps the latest retained event of `topics` (at once on one node): across
 * nodes a retained event reaches the other nodes' store after PUBLISHED, through the retain bucket.
 */
function retainedEverywhere(tr: TestRouter, ...topics: string[]): Promise<void> {
  return waitFor(() => retainedOnEveryNode(tr, topics), { what: `retained ${topics.join(', ')} on every node` });
}

function realmConfig(anonymousPermissions: unknown[] = PERMS): Record<string, unknown> {
  return {
    name: 'realm1',
    roles: [
      { name: 'anonymous', permissions: anonymousPermissions },
      { name: 'red', permissions: PERMS },
      { name: 'blue', permissions: PERMS },
      {
        // May see everything except com.ret.secret…
        name: 'viewer',
        permissions: [{ uri: '', match: 'prefix', allow: ALL }, { uri: 'com.ret.secret', match: 'prefix', allow: { publish: true } }, META],
      },
    ],
    auth: {
      anonymous: { role: 'anonymous' },
      ticket: { users: Object.fromEntries(Object.entries(USERS).map(([authid, [ticket, role]]) => [authid, { ticket, role }])) },
    },
  };
}

interface Seen {
  topic: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  details: Record<string, any>;
}

/** An event handler that records what arrived, in arrival order (several subscriptions may share one). */
function collector() {
  const events: Seen[] = [];
  const handler = (args: unknown[], kwargs: Record<string, unknown>, details: any) => {
    events.push({ topic: details.topic, args, kwargs, details: { ...details } });
  };
  return { events, handler, labels: () => events.map((e) => e.args[0]) };
}

function waitEvents(events: Seen[], n: number, what: string, timeoutMs = 3000): Promise<void> {
  return waitFor(() => events.length >= n, { timeoutMs, what: `${what} (${n} events, have ${events.length})` });
}

function clientsFor(getRouter: () => TestRouter) {
  const clients: AbClient[] = [];
  const raws: RawClient[] = [];
  return {
    raws,
    async connect(ser: SerializerName, authid?: string): Promise<AbClient> {
      const auth = authid === undefined ? {} : { authmethods: ['ticket'], authid, onchallenge: () => USERS[authid]![0] };
      const client = registeringOnEveryNode(getRouter(), await connectAutobahn(getRouter().url, ser, { on_user_error: () => undefined, ...auth }));
      clients.push(client);
      return client;
    },
    async raw(roles: Record<string, unknown>, ser: SerializerName = 'json'): Promise<RawClient> {
      const { client } = await RawClient.joined(getRouter().url, ser, 'realm1', roles);
      raws.push(client);
      return client;
    },
    async closeAll(): Promise<void> {
      for (const client of clients.splice(0)) await client.close().catch(() => undefined);
      for (const raw of raws.splice(0)) raw.close();
    },
  };
}

for (const ser of ['json', 'msgpack'] as SerializerName[]) {
  describe(`advanced pub/sub with autobahn-js (${ser})`, function () {
    let tr: TestRouter;
    const c = clientsFor(() => tr);
    const connect = (authid?: string) => c.connect(ser, authid);

    beforeEach(async function () {
      tr = await startRouter({ realms: [realmConfig()], limits: LIMITS });
    });

    afterEach(async function () {
      await c.closeAll();
      await tr.stop();
    });

    // ----- publisher exclusion -----

    it('exclude_me: the publisher does not get its own event by default, and does with exclude_me: false', async function () {
      const pub = await connect();
      const sub = await connect();
      const own = collector();
      const other = collector();
      await within(pub.session.subscribe('com.ps.me', own.handler), 'publisher subscribes');
      await within(sub.session.subscribe('com.ps.me', other.handler), 'subscriber subscribes');
      await within(pub.session.publish('com.ps.me', ['default'], {}, { acknowledge: true }), 'publish default');
      await within(pub.session.publish('com.ps.me', ['included'], {}, { acknowledge: true, exclude_me: false }), 'publish exclude_me false');
      await within(pub.session.publish('com.ps.me', ['explicit'], {}, { acknowledge: true, exclude_me: true }), 'publish exclude_me true');
      await within(pub.session.publish('com.ps.me', ['marker'], {}, { acknowledge: true, exclude_me: false }), 'marker');
      await waitEvents(own.events, 2, 'publisher events');
      await waitEvents(other.events, 4, 'subscriber events');
      expect(own.labels()).to.deep.equal(['included', 'marker']);
      expect(other.labels()).to.deep.equal(['default', 'included', 'explicit', 'marker']);
    });

    // ----- subscriber black/whitelisting -----

    it('applies all six black/white-list options (session, authid, authrole) and their combination', async function () {
      const pub = await connect();
      const anon = await connect();
      const red = await connect('r1');
      const blue = await connect('u1');
      const seen = { anon: collector(), red: collector(), blue: collector() };
      await within(anon.session.subscribe('com.ps.bw', seen.anon.handler), 'sub anon');
      await within(red.session.subscribe('com.ps.bw', seen.red.handler), 'sub red');
      await within(blue.session.subscribe('com.ps.bw', seen.blue.handler), 'sub blue');
      const cases: [string, Record<string, unknown>, string[]][] = [
        ['exclude', { exclude: [anon.session.id] }, ['red', 'blue']],
        ['eligible', { eligible: [anon.session.id, red.session.id] }, ['anon', 'red']],
        ['exclude_authid', { exclude_authid: ['r1'] }, ['anon', 'blue']],
        ['eligible_authid', { eligible_authid: ['u1', anon.details.authid] }, ['anon', 'blue']],
        ['exclude_authrole', { exclude_authrole: ['red'] }, ['anon', 'blue']],
        ['eligible_authrole', { eligible_authrole: ['red', 'blue'] }, ['red', 'blue']],
        ['eligible_authrole+exclude', { eligible_authrole: ['red', 'blue'], exclude: [blue.session.id] }, ['red']],
        ['eligible+exclude_authid', { eligible: [anon.session.id, red.session.id, blue.session.id], exclude_authid: ['u1'] }, ['anon', 'red']],
        ['empty eligible', { eligible: [] }, []],
      ];
      for (const [label, options] of cases) {
        await within(pub.session.publish('com.ps.bw', [label], {}, { acknowledge: true, ...options }), `publish ${label}`);
      }
      await within(pub.session.publish('com.ps.bw', ['marker'], {}, { acknowledge: true }), 'marker');
      for (const name of ['anon', 'red', 'blue'] as const) {
        await waitFor(() => seen[name].labels().includes('marker'), { what: `marker at ${name}` });
        const expected = [...cases.filter(([, , receivers]) => receivers.includes(name)).map(([label]) => label), 'marker'];
        expect(seen[name].labels(), `events at ${name}`).to.deep.equal(expected);
      }
      // A malformed list is refused (acknowledged publish) and reaches nobody.
      await expectError(pub.session.publish('com.ps.bw', ['bad'], {}, { acknowledge: true, exclude: 'nope' }), 'wamp.error.invalid_argument', 'malformed exclude');
      await expectError(pub.session.publish('com.ps.bw', ['bad'], {}, { acknowledge: true, eligible_authrole: [1] }), 'wamp.error.invalid_argument', 'malformed eligible_authrole');
    });

    // ----- publisher identification -----

    it('discloses the publisher (publisher, publisher_authid, publisher_authrole) only on disclose_me', async function () {
      const pub = await connect('r1');
      const sub = await connect();
      const got = collector();
      await within(sub.session.subscribe('com.ps.id', got.handler), 'subscribe');
      await within(pub.session.publish('com.ps.id', ['hidden'], {}, { acknowledge: true }), 'publish');
      await within(pub.session.publish('com.ps.id', ['shown'], {}, { acknowledge: true, disclose_me: true }), 'publish disclose_me');
      await waitEvents(got.events, 2, 'events');
      const who = (e: Seen) => [e.details.publisher, e.details.publisher_authid, e.details.publisher_authrole];
      expect(who(got.events[0]!)).to.deep.equal([undefined, undefined, undefined]);
      expect(who(got.events[1]!)).to.deep.equal([pub.session.id, 'r1', 'red']);
    });

    // ----- pattern subscriptions -----

    it('delivers on prefix and wildcard subscriptions with details.topic the concrete topic, once per matching subscription', async function () {
      const pub = await connect();
      const sub = await connect();
      const prefix = collector();
      const wildcard = collector();
      const exact = collector();
      await within(sub.session.subscribe('com.pat.', prefix.handler, { match: 'prefix' }), 'prefix');
      await within(sub.session.subscribe('com..evt', wildcard.handler, { match: 'wildcard' }), 'wildcard');
      await within(sub.session.subscribe('com.pat.evt', exact.handler), 'exact');
      const topics = ['com.pat.a.b', 'com.pat.evt', 'com.x.evt', 'com.x.y.evt', 'com.pa'];
      for (const topic of topics) await within(pub.session.publish(topic, [topic], {}, { acknowledge: true }), `publish ${topic}`);
      await within(pub.session.publish('com.pat.marker', ['marker'], {}, { acknowledge: true }), 'marker');
      await waitFor(() => prefix.labels().includes('marker'), { what: 'marker' });
      expect(prefix.events.map((e) => [e.args[0], e.details.topic])).to.deep.equal([
        ['com.pat.a.b', 'com.pat.a.b'], ['com.pat.evt', 'com.pat.evt'], ['marker', 'com.pat.marker'],
      ]);
      // com.pat.evt matches all three subscriptions: one event each, one publication.
      expect(wildcard.events.map((e) => [e.args[0], e.details.topic])).to.deep.equal([['com.pat.evt', 'com.pat.evt'], ['com.x.evt', 'com.x.evt']]);
      expect(exact.labels()).to.deep.equal(['com.pat.evt']);
      expect(exact.events[0]!.details.publication).to.equal(prefix.events[1]!.details.publication);
      expect(wildcard.events[0]!.details.publication).to.equal(prefix.events[1]!.details.publication);
    });

    // ----- event retention -----

    it('retention: get_retained on an exact subscription delivers the latest retained event after SUBSCRIBED, with retained: true', async function () {
      const pub = await connect();
      await within(pub.session.publish('com.ret.a', ['v1'], {}, { acknowledge: true, retain: true }), 'retain v1');
      await within(pub.session.publish('com.ret.a', ['v2'], { n: 2 }, { acknowledge: true, retain: true }), 'retain v2');
      await within(pub.session.publish('com.ret.a', ['v3 not retained'], {}, { acknowledge: true }), 'publish v3');
      await retainedEverywhere(tr, 'com.ret.a');
      const sub = await connect();
      const got = collector();
      const plain = collector();
      await within(sub.session.subscribe('com.ret.a', got.handler, { get_retained: true }), 'subscribe get_retained');
      const other = await connect();
      await within(other.session.subscribe('com.ret.a', plain.handler), 'subscribe without get_retained');
      await within(pub.session.publish('com.ret.a', ['marker'], {}, { acknowledge: true }), 'marker');
      await waitEvents(got.events, 2, 'retained + marker');
      await waitEvents(plain.events, 1, 'marker only');
      expect(got.events.map((e) => [e.args[0], e.details.retained])).to.deep.equal([['v2', true], ['marker', false]]);
      expect(got.events[0]!.kwargs).to.deep.equal({ n: 2 });
      expect(plain.events.map((e) => [e.args[0], e.details.retained])).to.deep.equal([['marker', false]]);
    });

    it('retention: get_retained on a prefix subscription delivers the retained event of every covered topic with details.topic', async function () {
      const pub = await connect();
      await within(pub.session.publish('com.ret.a', ['a1'], {}, { acknowledge: true, retain: true }), 'retain a1');
      await within(pub.session.publish('com.ret.b.c', ['bc'], {}, { acknowledge: true, retain: true }), 'retain bc');
      await within(pub.session.publish('com.ret.a', ['a2'], {}, { acknowledge: true, retain: true }), 'retain a2');
      await within(pub.session.publish('com.other', ['o'], {}, { acknowledge: true, retain: true }), 'retain other');
      await retainedEverywhere(tr, 'com.ret.a', 'com.ret.b.c', 'com.other');
      const sub = await connect();
      const got = collector();
      await within(sub.session.subscribe('com.ret.', got.handler, { match: 'prefix', get_retained: true }), 'subscribe');
      await within(pub.session.publish('com.ret.marker', ['marker'], {}, { acknowledge: true }), 'marker');
      await waitFor(() => got.labels().includes('marker'), { what: 'marker' });
      const retained = got.events.filter((e) => e.details.retained).map((e) => [e.details.topic, e.args[0]]);
      expect(retained).to.have.deep.members([['com.ret.a', 'a2'], ['com.ret.b.c', 'bc']]);
      expect(got.events, 'two retained events, then the marker').to.have.length(3);
      expect(got.events[2]!.args[0]).to.equal('marker');
      // And on a wildcard subscription: only the topics it covers.
      const wild = collector();
      await within(sub.session.subscribe('com.ret..c', wild.handler, { match: 'wildcard', get_retained: true }), 'wildcard subscribe');
      await within(pub.session.publish('com.ret.x.c', ['marker2'], {}, { acknowledge: true }), 'marker 2');
      await waitFor(() => wild.labels().includes('marker2'), { what: 'marker 2' });
      expect(wild.events.map((e) => [e.args[0], e.details.topic, e.details.retained])).to.deep.equal([
        ['bc', 'com.ret.b.c', true], ['marker2', 'com.ret.x.c', false],
      ]);
    });

    it('retention: a retained event goes only to receivers its eligible/exclude lists allow', async function () {
      const pub = await connect();
      const red = await connect('r1');
      const blue = await connect('u1');
      const anon = await connect();
      await within(pub.session.publish('com.ret.el', ['for red'], {}, { acknowledge: true, retain: true, eligible: [red.session.id] }), 'retain eligible');
      await within(pub.session.publish('com.ret.ex', ['not blue'], {}, { acknowledge: true, retain: true, exclude_authrole: ['blue'] }), 'retain exclude_authrole');
      await retainedEverywhere(tr, 'com.ret.el', 'com.ret.ex');
      const seen = { red: collector(), blue: collector(), anon: collector() };
      for (const [name, client] of [['red', red], ['blue', blue], ['anon', anon]] as const) {
        await within(client.session.subscribe('com.ret.', seen[name].handler, { match: 'prefix', get_retained: true }), `subscribe ${name}`);
      }
      await within(pub.session.publish('com.ret.marker', ['marker'], {}, { acknowledge: true }), 'marker');
      for (const name of ['red', 'blue', 'anon'] as const) await waitFor(() => seen[name].labels().includes('marker'), { what: `marker at ${name}` });
      expect(seen.red.labels()).to.have.members(['for red', 'not blue', 'marker']);
      expect(seen.blue.labels()).to.deep.equal(['marker']);
      expect(seen.anon.labels()).to.have.members(['not blue', 'marker']);
    });

    it('retention: a receiver not permitted to subscribe to the topic does not get its retained event', async function () {
      const pub = await connect();
      await within(pub.session.publish('com.ret.secret.x', ['secret'], {}, { acknowledge: true, retain: true }), 'retain secret');
      await within(pub.session.publish('com.ret.pub', ['public'], {}, { acknowledge: true, retain: true }), 'retain public');
      await retainedEverywhere(tr, 'com.ret.secret.x', 'com.ret.pub');
      const viewer = await connect('v1');
      const got = collector();
      await within(viewer.session.subscribe('com.ret.', got.handler, { match: 'prefix', get_retained: true }), 'viewer prefix subscribe');
      await expectError(viewer.session.subscribe('com.ret.secret.x', () => undefined, { get_retained: true }), 'wamp.error.not_authorized', 'exact secret');
      await within(pub.session.publish('com.ret.marker', ['marker'], {}, { acknowledge: true }), 'marker');
      await waitFor(() => got.labels().includes('marker'), { what: 'marker' });
      expect(got.labels()).to.deep.equal(['public', 'marker']);
    });

    // ----- testaments -----

    /** A watcher subscribed to `topic` and wamp.session.on_leave, recording both in one ordered list. */
    async function watcher(topic: string, authid?: string) {
      const client = await connect(authid);
      const log: { what: string; args: unknown[]; kwargs: Record<string, unknown> }[] = [];
      await within(client.session.subscribe(topic, (args: unknown[], kwargs: Record<string, unknown>) => log.push({ what: 'testament', args, kwargs })), 'subscribe testament topic');
      await within(client.session.subscribe('wamp.session.on_leave', (args: unknown[]) => log.push({ what: 'on_leave', args, kwargs: {} })), 'subscribe on_leave');
      return { client, log };
    }

    it('testament: published when the session drops, before wamp.session.on_leave', async function () {
      const w = await watcher('com.tst.gone');
      const { client: raw, welcome } = await RawClient.joined(tr.url, ser, 'realm1', { caller: {} });
      c.raws.push(raw);
      const rawId = welcome[1] as number;
      raw.send([48, 1, {}, 'wamp.session.add_testament', ['com.tst.gone', ['bye', 1], { who: 'raw' }]]);
      const result = await raw.next();
      expect(result.slice(0, 2), JSON.stringify(result)).to.deep.equal([50, 1]);
      raw.ws.terminate(); // no GOODBYE: the transport just drops
      await waitFor(() => w.log.some((e) => e.what === 'on_leave' && e.args[0] === rawId), { what: 'on_leave of the dropped session' });
      expect(w.log.map((e) => e.what)).to.deep.equal(['testament', 'on_leave']);
      expect(w.log[0]).to.deep.include({ args: ['bye', 1], kwargs: { who: 'raw' } });
    });

    it('testament: published on a graceful leave too, detached before destroyed, each scope in insertion order, publish_options applied', async function () {
      const w = await watcher('com.tst.order');
      const blue = await watcher('com.tst.order', 'u1');
      const t = await connect();
      const add = (label: string, scope?: string, publishOptions?: Record<string, unknown>) =>
        within(t.session.call('wamp.session.add_testament', ['com.tst.order', [label], {}, publishOptions ?? {}], scope ? { scope } : {}), `add ${label}`);
      await add('destroyed-1');
      await add('detached-1', 'detached');
      await add('destroyed-2', 'destroyed', { exclude_authrole: ['blue'] });
      await add('detached-2', 'detached');
      const tId = t.session.id;
      await t.close();
      await waitFor(() => w.log.some((e) => e.what === 'on_leave' && e.args[0] === tId), { what: 'on_leave' });
      await waitFor(() => blue.log.some((e) => e.what === 'on_leave' && e.args[0] === tId), { what: 'on_leave at blue' });
      const labels = (log: typeof w.log) => log.map((e) => (e.what === 'testament' ? e.args[0] : e.what));
      expect(labels(w.log)).to.deep.equal(['detached-1', 'detached-2', 'destroyed-1', 'destroyed-2', 'on_leave']);
      expect(labels(blue.log), 'exclude_authrole in publish_options').to.deep.equal(['detached-1', 'detached-2', 'destroyed-1', 'on_leave']);
    });

    it('testament: flush_testaments returns the count flushed, and then nothing is published', async function () {
      const w = await watcher('com.tst.flush');
      const t = await connect();
      await within(t.session.call('wamp.session.add_testament', ['com.tst.flush', ['a'], {}]), 'add a');
      await within(t.session.call('wamp.session.add_testament', ['com.tst.flush', ['b'], {}]), 'add b');
      await within(t.session.call('wamp.session.add_testament', ['com.tst.flush', ['c'], {}], { scope: 'detached' }), 'add c (detached)');
      expect(await within(t.session.call('wamp.session.flush_testaments'), 'flush destroyed')).to.equal(2);
      expect(await within(t.session.call('wamp.session.flush_testaments'), 'flush again')).to.equal(0);
      expect(await within(t.session.call('wamp.session.flush_testaments', [], { scope: 'detached' }), 'flush detached')).to.equal(1);
      const tId = t.session.id;
      await t.close();
      await waitFor(() => w.log.some((e) => e.what === 'on_leave' && e.args[0] === tId), { what: 'on_leave' });
      expect(w.log.map((e) => e.what)).to.deep.equal(['on_leave']);
    });

    it('testament: an invalid scope is refused with wamp.error.testament_error', async function () {
      const t = await connect();
      await expectError(t.session.call('wamp.session.add_testament', ['com.tst.x', [], {}], { scope: 'forever' }), 'wamp.error.testament_error', 'add_testament scope');
      await expectError(t.session.call('wamp.session.add_testament', ['com.tst.x', [], {}, {}, 'sometimes']), 'wamp.error.testament_error', 'positional scope');
      await expectError(t.session.call('wamp.session.flush_testaments', [], { scope: 'bogus' }), 'wamp.error.testament_error', 'flush_testaments scope');
      await expectError(t.session.call('wamp.session.flush_testaments', ['bogus']), 'wamp.error.testament_error', 'flush_testaments positional');
      expect(t.session.isOpen).to.equal(true);
    });

    // ----- ordering -----

    it('delivers 10,000 sequenced publishes (across two topics) strictly in order, exactly once', async function () {
      this.timeout(60_000);
      const N = 10_000;
      const pub = await connect();
      const subJson = await c.connect('json');
      const subBin = await c.connect('msgpack');
      const seqs: Record<string, number[]> = { json: [], msgpack: [] };
      for (const [name, client] of [['json', subJson], ['msgpack', subBin]] as const) {
        const handler = (args: unknown[]) => { seqs[name]!.push(args[0] as number); };
        await within(client.session.subscribe('com.ord.a', handler), 'subscribe a');
        await within(client.session.subscribe('com.ord.b', handler), 'subscribe b');
      }
      for (let i = 0; i < N; i++) pub.session.publish(i % 2 === 0 ? 'com.ord.a' : 'com.ord.b', [i]);
      for (const name of ['json', 'msgpack']) {
        await waitFor(() => seqs[name]!.length >= N, { timeoutMs: 40_000, what: `${N} events on ${name}` });
        const got = seqs[name]!;
        let violations = 0;
        for (let i = 1; i < got.length; i++) if (got[i]! <= got[i - 1]!) violations++;
        expect(violations, `${name}: out-of-order or duplicate events`).to.equal(0);
        expect(got.length).to.equal(N);
        expect(got[0]).to.equal(0);
        expect(got[N - 1]).to.equal(N - 1);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Raw frames: retained EVENT after SUBSCRIBED, exact-subscription details, revocation
// ---------------------------------------------------------------------------------------------

describe('advanced pub/sub on the wire (raw json)', function () {
  let tr: TestRouter;
  const c = clientsFor(() => tr);

  beforeEach(async function () {
    tr = await startRouter({ realms: [realmConfig()], limits: LIMITS });
  });

  afterEach(async function () {
    await c.closeAll();
    await tr.stop();
  });

  it('sends SUBSCRIBED, then [36, sub, pub, {retained: true}, args] with the original publication ID', async function () {
    const pub = await c.raw({ publisher: {} });
    pub.send([16, 1, { acknowledge: true, retain: true }, 'com.ret.raw', ['kept'], { k: 1 }]);
    const published = await pub.next();
    expect(published.slice(0, 2)).to.deep.equal([17, 1]);
    await retainedEverywhere(tr, 'com.ret.raw');
    const sub = await c.raw({ subscriber: {} });
    sub.send([32, 1, { get_retained: true }, 'com.ret.raw']);
    const subscribed = await sub.next();
    expect(subscribed.slice(0, 2)).to.deep.equal([33, 1]);
    const event = await sub.next();
    expect(event).to.deep.equal([36, subscribed[2], published[2], { retained: true }, ['kept'], { k: 1 }]);
    // A second subscriber asking nothing gets nothing; exact subscriptions carry no details.topic.
    const sub2 = await c.raw({ subscriber: {} });
    sub2.send([32, 2, {}, 'com.ret.raw']);
    const subscribed2 = await sub2.next();
    pub.send([16, 2, { acknowledge: true }, 'com.ret.raw', ['live']]);
    expect(await sub2.next()).to.deep.equal([36, subscribed2[2], (await pub.next())[2], {}, ['live']]);
  });

  function reload(): void {
    const withdrawn = [
      { uri: '', match: 'prefix', allow: { call: true, register: true, publish: true } },
      { uri: 'com.keep.', match: 'prefix', allow: ALL },
      META,
    ];
    const config: RealmConfig = validateConfig({ realms: [realmConfig(withdrawn)] }).realms[0]!;
    reconfigureRealm(tr, config);
  }

  for (const announced of [true, false]) {
    it(`subscription revocation after a reload: ${announced ? '[35, 0, {subscription, reason}] to a subscriber announcing subscription_revocation' : 'silent for a subscriber that did not announce it'}`, async function () {
      const sub = await c.raw({ subscriber: announced ? { features: { subscription_revocation: true } } : {} });
      sub.send([32, 1, {}, 'com.gone.x']);
      const gone = (await sub.next())[2];
      sub.send([32, 2, {}, 'com.keep.x']);
      const keep = (await sub.next())[2];
      const pub = await c.raw({ publisher: {} });
      reload();
      if (announced) {
        const revoked = await sub.next();
        expect(revoked.slice(0, 2)).to.deep.equal([35, 0]);
        expect(revoked[2]).to.include({ subscription: gone });
        expect((revoked[2] as Record<string, unknown>).reason).to.be.a('string');
      }
      pub.send([16, 1, {}, 'com.gone.x', ['after']]);
      pub.send([16, 2, {}, 'com.keep.x', ['marker']]);
      const next = await sub.next();
      expect(next.slice(0, 2), `the marker comes next: ${JSON.stringify(next)}`).to.deep.equal([36, keep]);
      expect(sub.closeCode).to.equal(undefined);
    });
  }
});

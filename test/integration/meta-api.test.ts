// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { META_EVENTS_RACE, pendingAcrossNodes, registeringOnEveryNode } from '../helpers/topology.js';
import { waitFor } from '../helpers/wait.js';
import { expectError, within } from '../helpers/promises.js';

/**
 * Meta API end to end (issue 6; wamp-spec §10): every wamp.session.* procedure, the on_join /
 * on_leave events, every wamp.registration.* and wamp.subscription.* procedure and event (with
 * their order), no meta events for wamp.* subscriptions, and meta calls/events obeying role
 * permissions like any other URI.
 */

const ALL = { call: true, register: true, publish: true, subscribe: true };
const META = { uri: 'wamp.', match: 'prefix', allow: { call: true, subscribe: true } };
const PERMS = [{ uri: '', match: 'prefix', allow: ALL }, META];
const LIMITS = { rateMessagesPerSecond: 0, authFailureBaseDelayMs: 0 };

/** Ticket users: authid → [ticket, role]. */
const USERS: Record<string, [string, string]> = {
  alice: ['t-alice', 'member'],
  bob: ['t-bob', 'member'],
  olga: ['t-olga', 'other'],
  otto: ['t-otto', 'other'],
  rex: ['t-rex', 'restricted'],
  nora: ['t-nora', 'nojoin'],
};

function realmConfig(): Record<string, unknown> {
  return {
    name: 'realm1',
    roles: [
      // Sees other sessions' authextra and transport (meta-visibility.test.ts covers roles that do not).
      { name: 'anonymous', permissions: PERMS, meta: { authextra: true, transport: true } },
      { name: 'member', permissions: PERMS },
      { name: 'other', permissions: PERMS },
      // Everything but the meta API.
      { name: 'restricted', permissions: [{ uri: '', match: 'prefix', allow: ALL }, { uri: 'wamp.', match: 'prefix', allow: {} }] },
      // The meta API, except seeing sessions join.
      { name: 'nojoin', permissions: [...PERMS, { uri: 'wamp.session.on_join', match: 'exact', allow: { call: true } }] },
    ],
    auth: {
      anonymous: { role: 'anonymous' },
      ticket: { users: Object.fromEntries(Object.entries(USERS).map(([authid, [ticket, role]]) => [authid, { ticket, role }])) },
    },
  };
}

interface MetaEvent {
  topic: string;
  args: unknown[];
}

/** Records events (with the concrete topic) of one or more subscriptions, in arrival order. */
function recorder() {
  const events: MetaEvent[] = [];
  const handler = (args: unknown[], _kwargs: unknown, details: any) => { events.push({ topic: details.topic, args }); };
  return { events, handler };
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

for (const ser of ['json', 'msgpack'] as SerializerName[]) {
  describe(`meta API with autobahn-js (${ser})`, function () {
    let tr: TestRouter;
    let clients: AbClient[];
    let raws: RawClient[];

    async function connect(authid?: string): Promise<AbClient> {
      const auth = authid === undefined ? {} : { authmethods: ['ticket'], authid, onchallenge: () => USERS[authid]![0] };
      const client = registeringOnEveryNode(tr, await connectAutobahn(tr.url, ser, { on_user_error: () => undefined, ...auth }));
      clients.push(client);
      return client;
    }

    const call = <T = any>(client: AbClient, procedure: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) =>
      within<T>(client.session.call(procedure, args, kwargs), procedure);

    beforeEach(async function () {
      clients = [];
      raws = [];
      tr = await startRouter({ realms: [realmConfig()], limits: LIMITS });
    });

    afterEach(async function () {
      for (const client of clients) await client.close().catch(() => undefined);
      for (const raw of raws) raw.close();
      await tr.stop();
    });

    // ----- session meta API -----

    it('wamp.session.count / list / get, with and without filter_authroles', async function () {
      const a = await connect();
      const b = await connect();
      const m = await connect('alice');
      expect(await call(a, 'wamp.session.count')).to.equal(3);
      expect(await call(a, 'wamp.session.count', [['member']])).to.equal(1);
      expect(await call(a, 'wamp.session.count', [['member', 'anonymous']])).to.equal(3);
      expect(await call(a, 'wamp.session.count', [['nobody']])).to.equal(0);
      expect(await call<number[]>(a, 'wamp.session.list')).to.have.members([a.session.id, b.session.id, m.session.id]);
      expect(await call<number[]>(a, 'wamp.session.list', [['anonymous']])).to.have.members([a.session.id, b.session.id]);
      expect(await call<number[]>(a, 'wamp.session.list', [['member']])).to.deep.equal([m.session.id]);

      const details = await call<Record<string, any>>(a, 'wamp.session.get', [m.session.id]);
      expect(details).to.include({ session: m.session.id, authid: 'alice', authrole: 'member', authmethod: 'ticket', realm: 'realm1' });
      expect(details.authprovider).to.be.a('string');
      expect(details.transport).to.be.an('object');
      const own = await call<Record<string, any>>(a, 'wamp.session.get', [a.session.id]);
      expect(own).to.include({ session: a.session.id, authid: a.details.authid, authrole: 'anonymous', authmethod: 'anonymous' });
      await expectError(a.session.call('wamp.session.get', [123456789]), 'wamp.error.no_such_session', 'get unknown');
      await expectError(a.session.call('wamp.session.get', ['x']), 'wamp.error.no_such_session', 'get with a non-ID');
      await m.close();
      expect(await call(a, 'wamp.session.count')).to.equal(2);
      await expectError(a.session.call('wamp.session.get', [m.session.id]), 'wamp.error.no_such_session', 'get after leave');
    });

    it('wamp.session.on_join carries the session details (same as wamp.session.get), on_leave [session, authid, authrole]', async function () {
      const watcher = await connect();
      const seen = recorder();
      await within(watcher.session.subscribe('wamp.session.on_join', seen.handler), 'subscribe on_join');
      await within(watcher.session.subscribe('wamp.session.on_leave', seen.handler), 'subscribe on_leave');
      const joiner = await connect('alice');
      await waitFor(() => seen.events.length >= 1, { what: 'on_join' });
      const joinEvent = seen.events[0]!;
      expect(joinEvent.topic).to.equal('wamp.session.on_join');
      expect(joinEvent.args).to.have.length(1);
      const details = joinEvent.args[0] as Record<string, any>;
      expect(details).to.include({ session: joiner.session.id, authid: 'alice', authrole: 'member', authmethod: 'ticket' });
      expect(details.authprovider).to.be.a('string');
      expect(details).to.deep.equal(await call(watcher, 'wamp.session.get', [joiner.session.id]));

      const joinerId = joiner.session.id;
      await joiner.close();
      await waitFor(() => seen.events.length >= 2, { what: 'on_leave' });
      expect(seen.events[1]).to.deep.equal({ topic: 'wamp.session.on_leave', args: [joinerId, 'alice', 'member'] });
      // A dropped transport (no GOODBYE) is a leave too.
      const { client: raw, welcome } = await RawClient.joined(tr.url, ser);
      raw.ws.terminate();
      await waitFor(() => seen.events.length >= 4, { what: 'raw on_join + on_leave' });
      expect(seen.events[2]!.topic).to.equal('wamp.session.on_join');
      expect((seen.events[2]!.args[0] as Record<string, unknown>).session).to.equal(welcome[1]);
      expect(seen.events[3]!.topic).to.equal('wamp.session.on_leave');
      expect(seen.events[3]!.args[0]).to.equal(welcome[1]);
    });

    it('wamp.session.kill: the target gets GOODBYE wamp.close.killed (or the given reason and message), and leaves', async function () {
      const killer = await connect();
      const victim = await connect();
      const leaves = recorder();
      await within(killer.session.subscribe('wamp.session.on_leave', leaves.handler), 'subscribe on_leave');
      const victimId = victim.session.id; // autobahn-js forgets it once closed
      expect(await call(killer, 'wamp.session.kill', [victimId])).to.equal(null);
      const closed = await within<{ reason: string }>(victim.closed, 'victim closed');
      expect(closed.reason).to.equal('wamp.close.killed');
      await waitFor(() => leaves.events.length === 1, { what: 'on_leave of the victim' });
      expect(leaves.events[0]!.args[0]).to.equal(victimId);

      // On the wire, with reason and message.
      const { client: raw, welcome } = await RawClient.joined(tr.url, ser);
      raws.push(raw);
      await call(killer, 'wamp.session.kill', [welcome[1]], { reason: 'com.example.maintenance', message: 'back soon' });
      expect(await raw.next()).to.deep.equal([6, { message: 'back soon' }, 'com.example.maintenance']);
      raw.send([6, {}, 'wamp.close.goodbye_and_out']);
      const { client: raw2, welcome: welcome2 } = await RawClient.joined(tr.url, ser);
      raws.push(raw2);
      await call(killer, 'wamp.session.kill', [welcome2[1]]);
      expect(await raw2.next(), 'default reason, no message').to.deep.equal([6, {}, 'wamp.close.killed']);

      await expectError(killer.session.call('wamp.session.kill', [killer.session.id]), 'wamp.error.no_such_session', 'kill self');
      await expectError(killer.session.call('wamp.session.kill', [987654321]), 'wamp.error.no_such_session', 'kill unknown');
      const other = await connect();
      await expectError(killer.session.call('wamp.session.kill', [other.session.id], { reason: 'not a uri!' }), 'wamp.error.invalid_uri', 'invalid reason');
      expect(other.session.isOpen, 'not killed by a refused call').to.equal(true);
      expect(killer.session.isOpen).to.equal(true);
    });

    it('wamp.session.kill_by_authid kills every other session of that authid and returns their IDs; the caller is excluded', async function () {
      const caller = await connect('alice');
      const a2 = await connect('alice');
      const a3 = await connect('alice');
      const bob = await connect('bob');
      const ids = [a2.session.id, a3.session.id]; // autobahn-js forgets them once closed
      const killed = await call<number[]>(caller, 'wamp.session.kill_by_authid', ['alice'], { reason: 'com.example.dup' });
      expect(killed).to.have.members(ids);
      expect((await within<{ reason: string }>(a2.closed, 'a2 closed')).reason).to.equal('com.example.dup');
      expect((await within<{ reason: string }>(a3.closed, 'a3 closed')).reason).to.equal('com.example.dup');
      expect(caller.session.isOpen && bob.session.isOpen, 'caller and bob kept').to.equal(true);
      expect(await call(caller, 'wamp.session.kill_by_authid', ['nobody'])).to.deep.equal([]);
      await expectError(caller.session.call('wamp.session.kill_by_authid', ['bob'], { reason: 'bad reason' }), 'wamp.error.invalid_uri', 'invalid reason');
      expect(bob.session.isOpen).to.equal(true);
    });

    it('wamp.session.kill_by_authrole kills every other session of that role and returns the count; the caller is excluded', async function () {
      const caller = await connect('olga');
      const o2 = await connect('otto');
      const o3 = await connect('olga');
      const member = await connect('alice');
      expect(await call(caller, 'wamp.session.kill_by_authrole', ['other'], { message: 'role retired' })).to.equal(2);
      for (const victim of [o2, o3]) {
        const closed = await within<{ reason: string; details: any }>(victim.closed, 'victim closed');
        expect(closed.reason).to.equal('wamp.close.killed');
      }
      expect(caller.session.isOpen && member.session.isOpen).to.equal(true);
      expect(await call(caller, 'wamp.session.kill_by_authrole', ['nobody'])).to.equal(0);
    });

    it('wamp.session.kill_all kills every other session and returns the count', async function () {
      const caller = await connect();
      const victims = [await connect(), await connect('alice'), await connect('olga')];
      expect(await call(caller, 'wamp.session.kill_all', [], { reason: 'wamp.close.system_shutdown' })).to.equal(3);
      for (const victim of victims) expect((await within<{ reason: string }>(victim.closed, 'victim closed')).reason).to.equal('wamp.close.system_shutdown');
      expect(caller.session.isOpen).to.equal(true);
      expect(await call(caller, 'wamp.session.count')).to.equal(1);
      expect(await call(caller, 'wamp.session.kill_all')).to.equal(0);
    });

    it('wamp.session.kill_all publishes no on_leave and no testaments for its victims (wamp-spec §10.1)', async function () {
      const caller = await connect();
      const seen = recorder();
      await within(caller.session.subscribe('wamp.session.on_leave', seen.handler), 'subscribe on_leave');
      await within(caller.session.subscribe('com.meta.testament', seen.handler), 'subscribe testament topic');
      const victim = await connect();
      await within(victim.session.call('wamp.session.add_testament', ['com.meta.testament', ['gone'], {}]), 'add testament');
      expect(await call(caller, 'wamp.session.kill_all')).to.equal(1);
      await within(victim.closed, 'victim closed');
      // Marker: an ordinary leave afterwards is reported; nothing for the kill_all victim came first.
      const leaver = await connect();
      const leaverId = leaver.session.id;
      await leaver.close();
      await waitFor(() => seen.events.length >= 1, { what: 'the marker on_leave' });
      expect(seen.events).to.have.length(1);
      expect((seen.events[0] as { args: unknown[] }).args[0]).to.equal(leaverId);
    });

    // ----- registration meta API -----

    it('wamp.registration events: on_create before on_register, on_unregister before on_delete, with their payloads', async function () {
      pendingAcrossNodes(this, META_EVENTS_RACE);
      const watcher = await connect();
      const seen = recorder();
      await within(watcher.session.subscribe('wamp.registration.', seen.handler, { match: 'prefix' }), 'subscribe');
      const a = await connect();
      const b = await connect();
      const regA = await within<any>(a.session.register('com.meta.proc', () => 'a', { invoke: 'roundrobin' }), 'register a');
      const id = regA.id as number;
      await within(b.session.register('com.meta.proc', () => 'b', { invoke: 'roundrobin' }), 'register b');
      await within(a.session.unregister(regA), 'unregister a');
      const bId = b.session.id;
      await b.close(); // the last callee leaves: unregister + delete
      // Marker: a registration and unregistration of another procedure by the watcher.
      const marker = await within<any>(watcher.session.register('com.meta.marker', () => null), 'marker register');
      await within(watcher.session.unregister(marker), 'marker unregister');
      const deleted = (which: number) => seen.events.some((e) => e.topic === 'wamp.registration.on_delete' && e.args[1] === which);
      await waitFor(() => deleted(marker.id) && deleted(id), { what: 'both on_delete events' });

      const created = seen.events[0]!;
      expect(created.topic).to.equal('wamp.registration.on_create');
      expect(created.args[0]).to.equal(a.session.id);
      const details = created.args[1] as Record<string, any>;
      expect(details).to.include({ id, uri: 'com.meta.proc', match: 'exact', invoke: 'roundrobin' });
      expect(details.created).to.match(ISO);
      const markerCreated = seen.events.find((e) => e.topic === 'wamp.registration.on_create' && (e.args[1] as any).id === marker.id)!;
      const rest = seen.events.filter((e) => e !== created).map((e) => [e.topic.replace('wamp.registration.', ''), ...e.args]);
      expect(rest).to.deep.equal([
        ['on_register', a.session.id, id],
        ['on_register', bId, id],
        ['on_unregister', a.session.id, id],
        ['on_unregister', bId, id],
        ['on_delete', bId, id],
        ['on_create', watcher.session.id, { id: marker.id, created: (markerCreated.args[1] as any).created, uri: 'com.meta.marker', match: 'exact', invoke: 'single' }],
        ['on_register', watcher.session.id, marker.id],
        ['on_unregister', watcher.session.id, marker.id],
        ['on_delete', watcher.session.id, marker.id],
      ]);
    });

    it('wamp.registration.list / lookup / match / get / list_callees / count_callees', async function () {
      const a = await connect();
      const b = await connect();
      const exact = await within<any>(a.session.register('com.meta.proc', () => 1, { invoke: 'first' }), 'exact a');
      await within(b.session.register('com.meta.proc', () => 2, { invoke: 'first' }), 'exact b');
      const prefix = await within<any>(a.session.register('com.meta.', () => 3, { match: 'prefix' }), 'prefix');
      const wildcard = await within<any>(b.session.register('com..proc', () => 4, { match: 'wildcard' }), 'wildcard');
      const q = await connect();

      // Only client registrations: the router's own wamp.* procedures are not listed.
      expect(await call(q, 'wamp.registration.list')).to.deep.equal({ exact: [exact.id], prefix: [prefix.id], wildcard: [wildcard.id] });
      expect(await call(q, 'wamp.registration.lookup', ['com.meta.proc'])).to.equal(exact.id);
      expect(await call(q, 'wamp.registration.lookup', ['com.meta.', { match: 'prefix' }])).to.equal(prefix.id);
      expect(await call(q, 'wamp.registration.lookup', ['com..proc', { match: 'wildcard' }])).to.equal(wildcard.id);
      expect(await call(q, 'wamp.registration.lookup', ['com.meta.'])).to.equal(null);
      expect(await call(q, 'wamp.registration.lookup', ['com.nothing'])).to.equal(null);
      expect(await call(q, 'wamp.registration.match', ['com.meta.proc']), 'exact wins').to.equal(exact.id);
      expect(await call(q, 'wamp.registration.match', ['com.meta.other']), 'prefix').to.equal(prefix.id);
      expect(await call(q, 'wamp.registration.match', ['com.x.proc']), 'wildcard').to.equal(wildcard.id);
      expect(await call(q, 'wamp.registration.match', ['org.none'])).to.equal(null);

      const details = await call<Record<string, any>>(q, 'wamp.registration.get', [exact.id]);
      expect(details).to.include({ id: exact.id, uri: 'com.meta.proc', match: 'exact', invoke: 'first' });
      expect(details.created).to.match(ISO);
      expect(await call(q, 'wamp.registration.get', [wildcard.id])).to.include({ uri: 'com..proc', match: 'wildcard', invoke: 'single' });
      expect(await call(q, 'wamp.registration.list_callees', [exact.id])).to.deep.equal([a.session.id, b.session.id]);
      expect(await call(q, 'wamp.registration.count_callees', [exact.id])).to.equal(2);
      expect(await call(q, 'wamp.registration.list_callees', [prefix.id])).to.deep.equal([a.session.id]);
      expect(await call(q, 'wamp.registration.count_callees', [prefix.id])).to.equal(1);
      for (const name of ['get', 'list_callees', 'count_callees']) {
        await expectError(q.session.call(`wamp.registration.${name}`, [424242]), 'wamp.error.no_such_registration', `${name} unknown`);
      }
      await a.close();
      expect(await call(q, 'wamp.registration.list_callees', [exact.id])).to.deep.equal([b.session.id]);
      expect(await call(q, 'wamp.registration.list')).to.deep.equal({ exact: [exact.id], prefix: [], wildcard: [wildcard.id] });
      await expectError(q.session.call('wamp.registration.get', [prefix.id]), 'wamp.error.no_such_registration', 'deleted registration');
    });

    // ----- subscription meta API -----

    it('wamp.subscription events: on_create before on_subscribe, on_unsubscribe before on_delete; none for wamp.* subscriptions', async function () {
      pendingAcrossNodes(this, META_EVENTS_RACE);
      const watcher = await connect();
      const seen = recorder();
      await within(watcher.session.subscribe('wamp.subscription.', seen.handler, { match: 'prefix' }), 'subscribe');
      const a = await connect();
      const b = await connect();
      // wamp.* subscriptions publish nothing.
      const metaSub = await within<any>(a.session.subscribe('wamp.session.on_join', () => undefined), 'meta subscribe');
      await within(a.session.unsubscribe(metaSub), 'meta unsubscribe');
      const subA = await within<any>(a.session.subscribe('com.meta.topic', () => undefined), 'subscribe a');
      const id = subA.id as number;
      await within(b.session.subscribe('com.meta.topic', () => undefined), 'subscribe b');
      await within(a.session.unsubscribe(subA), 'unsubscribe a');
      const bId = b.session.id;
      await b.close();
      const marker = await within<any>(watcher.session.subscribe('com.meta.marker', () => undefined), 'marker subscribe');
      await within(watcher.session.unsubscribe(marker), 'marker unsubscribe');
      const deleted = (which: number) => seen.events.some((e) => e.topic === 'wamp.subscription.on_delete' && e.args[1] === which);
      await waitFor(() => deleted(marker.id) && deleted(id), { what: 'both on_delete events' });

      const created = seen.events[0]!;
      expect(created.topic).to.equal('wamp.subscription.on_create');
      expect(created.args[0]).to.equal(a.session.id);
      const details = created.args[1] as Record<string, any>;
      expect(details).to.include({ id, uri: 'com.meta.topic', match: 'exact' });
      expect(details.created).to.match(ISO);
      const markerCreated = seen.events.find((e) => e.topic === 'wamp.subscription.on_create' && (e.args[1] as any).id === marker.id)!;
      const rest = seen.events.filter((e) => e !== created).map((e) => [e.topic.replace('wamp.subscription.', ''), ...e.args]);
      expect(rest).to.deep.equal([
        ['on_subscribe', a.session.id, id],
        ['on_subscribe', bId, id],
        ['on_unsubscribe', a.session.id, id],
        ['on_unsubscribe', bId, id],
        ['on_delete', bId, id],
        ['on_create', watcher.session.id, { id: marker.id, created: (markerCreated.args[1] as any).created, uri: 'com.meta.marker', match: 'exact' }],
        ['on_subscribe', watcher.session.id, marker.id],
        ['on_unsubscribe', watcher.session.id, marker.id],
        ['on_delete', watcher.session.id, marker.id],
      ]);
    });

    it('wamp.subscription.list / lookup / match / get / list_subscribers / count_subscribers', async function () {
      const a = await connect();
      const b = await connect();
      const exact = await within<any>(a.session.subscribe('com.meta.topic', () => undefined), 'exact a');
      await within(b.session.subscribe('com.meta.topic', () => undefined), 'exact b');
      const prefix = await within<any>(a.session.subscribe('com.meta.', () => undefined, { match: 'prefix' }), 'prefix');
      const wildcard = await within<any>(b.session.subscribe('com..topic', () => undefined, { match: 'wildcard' }), 'wildcard');
      const q = await connect();
      // q watches on_join: a wamp.* subscription is listed like any other.
      const metaSub = await within<any>(q.session.subscribe('wamp.session.on_join', () => undefined), 'meta subscribe');

      const list = await call<Record<string, number[]>>(q, 'wamp.subscription.list');
      expect(list.exact).to.have.members([exact.id, metaSub.id]);
      expect(list.prefix).to.deep.equal([prefix.id]);
      expect(list.wildcard).to.deep.equal([wildcard.id]);
      expect(await call(q, 'wamp.subscription.lookup', ['com.meta.topic'])).to.equal(exact.id);
      expect(await call(q, 'wamp.subscription.lookup', ['com.meta.', { match: 'prefix' }])).to.equal(prefix.id);
      expect(await call(q, 'wamp.subscription.lookup', ['com..topic', { match: 'wildcard' }])).to.equal(wildcard.id);
      expect(await call(q, 'wamp.subscription.lookup', ['com.nothing'])).to.equal(null);
      expect(await call<number[]>(q, 'wamp.subscription.match', ['com.meta.topic']), 'all matching').to.have.members([exact.id, prefix.id, wildcard.id]);
      expect(await call<number[]>(q, 'wamp.subscription.match', ['com.meta.other'])).to.deep.equal([prefix.id]);
      expect(await call(q, 'wamp.subscription.match', ['org.none'])).to.equal(null);

      const details = await call<Record<string, any>>(q, 'wamp.subscription.get', [exact.id]);
      expect(details).to.include({ id: exact.id, uri: 'com.meta.topic', match: 'exact' });
      expect(details.created).to.match(ISO);
      expect(await call(q, 'wamp.subscription.get', [wildcard.id])).to.include({ uri: 'com..topic', match: 'wildcard' });
      expect(await call<number[]>(q, 'wamp.subscription.list_subscribers', [exact.id])).to.have.members([a.session.id, b.session.id]);
      expect(await call(q, 'wamp.subscription.count_subscribers', [exact.id])).to.equal(2);
      expect(await call(q, 'wamp.subscription.count_subscribers', [prefix.id])).to.equal(1);
      for (const name of ['get', 'list_subscribers', 'count_subscribers']) {
        await expectError(q.session.call(`wamp.subscription.${name}`, [424242]), 'wamp.error.no_such_subscription', `${name} unknown`);
      }
      await a.close();
      expect(await call(q, 'wamp.subscription.list_subscribers', [exact.id])).to.deep.equal([b.session.id]);
      await expectError(q.session.call('wamp.subscription.get', [prefix.id]), 'wamp.error.no_such_subscription', 'deleted subscription');
    });

    // ----- permissions -----

    it('meta calls obey permissions: a role without call permission on wamp. gets wamp.error.not_authorized', async function () {
      const rex = await connect('rex');
      const target = await connect();
      for (const [procedure, args] of [
        ['wamp.session.count', []], ['wamp.session.list', []], ['wamp.session.get', [target.session.id]],
        ['wamp.session.kill', [target.session.id]], ['wamp.session.kill_all', []],
        ['wamp.session.add_testament', ['com.x', [], {}]], ['wamp.registration.list', []], ['wamp.subscription.list', []],
      ] as [string, unknown[]][]) {
        await expectError(rex.session.call(procedure, args), 'wamp.error.not_authorized', procedure);
      }
      await expectError(rex.session.subscribe('wamp.session.on_join', () => undefined), 'wamp.error.not_authorized', 'subscribe on_join');
      expect(target.session.isOpen, 'nobody was killed').to.equal(true);
      expect(rex.session.isOpen).to.equal(true);
    });

    it('meta events obey permissions: a role denied subscribe on wamp.session.on_join never receives it, even through a prefix subscription', async function () {
      const nora = await connect('nora');
      await expectError(nora.session.subscribe('wamp.session.on_join', () => undefined), 'wamp.error.not_authorized', 'exact on_join');
      const seen = recorder();
      await within(nora.session.subscribe('wamp.session.', seen.handler, { match: 'prefix' }), 'prefix wamp.session.');
      const allowed = recorder();
      const watcher = await connect();
      await within(watcher.session.subscribe('wamp.session.', allowed.handler, { match: 'prefix' }), 'watcher prefix');
      const visitor = await connect('alice');
      const visitorId = visitor.session.id;
      await visitor.close();
      // on_join is published before on_leave: once on_leave is in, on_join would have been too.
      await waitFor(() => seen.events.length >= 1, { what: 'on_leave at nora' });
      await waitFor(() => allowed.events.length >= 2, { what: 'both events at the watcher' });
      expect(seen.events.map((e) => e.topic)).to.deep.equal(['wamp.session.on_leave']);
      expect(seen.events[0]!.args).to.deep.equal([visitorId, 'alice', 'member']);
      expect(allowed.events.map((e) => e.topic)).to.deep.equal(['wamp.session.on_join', 'wamp.session.on_leave']);
    });
  });
}

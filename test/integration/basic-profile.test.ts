// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, SERIALIZER_NAMES, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import { BROKER_FEATURES, DEALER_FEATURES } from '../../router/protocol/features.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { joinedSessions, startRouter, type TestRouter } from '../helpers/router.js';
import { noConnections, registeringOnEveryNode, registrationCount, sessionOnAnyNode, subscriptionCount, sumOverNodes } from '../helpers/topology.js';
import { waitFor, withTimeout } from '../helpers/wait.js';
import { rejection } from '../helpers/promises.js';

/**
 * WAMP Basic Profile end to end with autobahn-js as the client (wamp-spec §2, §7.1–7.4, §8.1–8.5),
 * the whole suite once per serializer.
 */

const MAX_ID = 2 ** 53;
const ANON_AUTHID = /^[345679ACEFGHJKLMNPQRSTUVWXY]{4}(-[345679ACEFGHJKLMNPQRSTUVWXY]{4}){5}$/;

/** A payload exercising the types every serializer must carry unchanged. */
const ARGS = [1, -7, 123456789012, 2.5, 'héllo ✓', true, false, null, [1, [2, 'x']], { nested: { a: [1, 2] } }];
const KWARGS = { name: 'switchyard', count: 3, ratio: 0.25, flags: [true, false], empty: {}, none: null };

interface Received {
  args: unknown[];
  kwargs: Record<string, unknown>;
  details: any;
}

/** Collects events of one subscription handler. */
function collector(): { events: Received[]; handler: (args: unknown[], kwargs: Record<string, unknown>, details: any) => void } {
  const events: Received[] = [];
  return { events, handler: (args, kwargs, details) => { events.push({ args, kwargs, details }); } };
}

function asBytes(value: unknown): Buffer {
  expect(value, 'binary value').to.be.instanceOf(Uint8Array);
  return Buffer.from(value as Uint8Array);
}

for (const ser of SERIALIZER_NAMES) {
  describe(`basic profile with autobahn-js (${ser})`, function () {
    let tr: TestRouter;
    let clients: AbClient[];

    async function connect(serializer: SerializerName = ser, options: Record<string, unknown> = {}): Promise<AbClient> {
      const client = registeringOnEveryNode(tr, await connectAutobahn(tr.url, serializer, options));
      clients.push(client);
      return client;
    }

    beforeEach(async function () {
      clients = [];
      tr = await startRouter();
    });

    afterEach(async function () {
      for (const client of clients) await client.close().catch(() => undefined);
      await tr.stop();
      expect(tr.router.connectionCount).to.equal(0);
    });

    const realm = () => tr.router.realms.get('realm1')!;

    // ----- session -----

    it('joins realm1 anonymously: WELCOME carries realm, authid, authrole, authmethod and router roles', async function () {
      const a = await connect();
      const b = await connect();
      expect(a.details.realm).to.equal('realm1');
      expect(a.details.authrole).to.equal('anonymous');
      expect(a.details.authmethod).to.equal('anonymous');
      expect(a.details.authprovider).to.equal('static');
      // Anonymous sessions get a random Crossbar-style authid, never the same twice.
      expect(a.details.authid).to.match(ANON_AUTHID);
      expect(b.details.authid).to.match(ANON_AUTHID);
      expect(a.details.authid).to.not.equal(b.details.authid);
      expect(a.details.roles.broker.features).to.deep.equal(BROKER_FEATURES);
      expect(a.details.roles.dealer.features).to.deep.equal(DEALER_FEATURES);
      expect(a.details.roles.broker.features.publisher_exclusion, 'exclude_me is tested below').to.equal(true);
      expect(a.details.transport.protocol).to.equal(`wamp.2.${ser}`);
      expect(a.session.id).to.be.a('number');
      expect(Number.isSafeInteger(a.session.id) && a.session.id >= 1 && a.session.id <= MAX_ID).to.equal(true);
      expect(a.session.id).to.not.equal(b.session.id);
      expect(joinedSessions(tr)).to.equal(2);
      expect(sessionOnAnyNode(tr, a.session.id)?.authid).to.equal(a.details.authid);
    });

    it('refuses HELLO to a realm that does not exist with wamp.error.no_such_realm', async function () {
      const error = await rejection(connect(ser, { realm: 'nope' }), 6000, 'refused join');
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.equal('wamp.error.no_such_realm');
      expect(joinedSessions(tr)).to.equal(0);
      await waitFor(() => noConnections(tr), { what: 'refused connection closed' });
    });

    // ----- RPC -----

    it('routes a call with args and kwargs and returns the callee Result', async function () {
      const callee = await connect();
      const caller = await connect();
      let invoked: Received | undefined;
      await callee.session.register('com.example.echo', (args: unknown[], kwargs: Record<string, unknown>, details: any) => {
        invoked = { args, kwargs, details };
        return new autobahn.Result(['sum', (args[0] as number) + (args[1] as number), ...args], { ...kwargs, seen: true });
      });
      const result = await withTimeout(caller.session.call('com.example.echo', ARGS, KWARGS), 3000, 'call');
      expect(invoked?.args).to.deep.equal(ARGS);
      expect(invoked?.kwargs).to.deep.equal(KWARGS);
      expect(invoked?.details.procedure).to.equal('com.example.echo');
      expect(result).to.be.instanceOf(autobahn.Result);
      expect(result.args).to.deep.equal(['sum', -6, ...ARGS]);
      expect(result.kwargs).to.deep.equal({ ...KWARGS, seen: true });
    });

    it('returns a plain single result and keeps concurrent calls apart', async function () {
      const callee = await connect();
      const caller = await connect();
      await callee.session.register('com.example.square', (args: number[]) => args[0]! * args[0]!);
      const results = await withTimeout(Promise.all([1, 2, 3, 4, 5].map((n) => caller.session.call('com.example.square', [n]))), 3000, 'calls');
      expect(results).to.deep.equal([1, 4, 9, 16, 25]);
    });

    it('forwards an application error with its URI, args and kwargs', async function () {
      // autobahn reports a throwing endpoint to on_user_error (else console.error): capture it.
      const userErrors: unknown[] = [];
      const callee = await connect(ser, { on_user_error: (error: unknown) => userErrors.push(error) });
      const caller = await connect();
      await callee.session.register('com.example.fail', () => {
        throw new autobahn.Error('com.example.error.bad', [1], { why: 'x' });
      });
      const error = await rejection(caller.session.call('com.example.fail', [], {}));
      expect(error).to.be.instanceOf(autobahn.Error);
      expect(error.error).to.equal('com.example.error.bad');
      expect(error.args).to.deep.equal([1]);
      expect(error.kwargs).to.deep.equal({ why: 'x' });
      expect(userErrors).to.have.length(1);
      // The session is still usable afterwards.
      await callee.session.register('com.example.ok', () => 'ok');
      expect(await withTimeout(caller.session.call('com.example.ok'), 3000, 'call')).to.equal('ok');
    });

    it('answers a call to an unregistered procedure with wamp.error.no_such_procedure', async function () {
      const caller = await connect();
      const error = await rejection(caller.session.call('com.example.nobody'));
      expect(error.error).to.equal('wamp.error.no_such_procedure');
    });

    it('refuses a second single registration with wamp.error.procedure_already_exists', async function () {
      const a = await connect();
      const b = await connect();
      await a.session.register('com.example.once', () => 'a');
      const error = await rejection(b.session.register('com.example.once', () => 'b'));
      expect(error.error).to.equal('wamp.error.procedure_already_exists');
      expect(await withTimeout(b.session.call('com.example.once'), 3000, 'call')).to.equal('a');
    });

    it('unregister removes the procedure: a later call fails with wamp.error.no_such_procedure', async function () {
      const callee = await connect();
      const caller = await connect();
      let invocations = 0;
      const registration = await callee.session.register('com.example.temp', () => ++invocations);
      expect(await withTimeout(caller.session.call('com.example.temp'), 3000, 'call')).to.equal(1);
      expect(realm().dealer.registrationCount).to.equal(1);
      await withTimeout(callee.session.unregister(registration), 3000, 'unregister');
      expect(realm().dealer.registrationCount).to.equal(0);
      const error = await rejection(caller.session.call('com.example.temp'));
      expect(error.error).to.equal('wamp.error.no_such_procedure');
      expect(invocations).to.equal(1);
    });

    for (const how of ['GOODBYE', 'transport loss'] as const) {
      it(`a callee leaving mid-call (${how}) fails the pending call with wamp.error.canceled at once`, async function () {
        const callee = await connect();
        const caller = await connect();
        let invoked = false;
        await callee.session.register('com.example.hang', () => {
          invoked = true;
          return new Promise(() => { /* never settles */ });
        });
        const pending = caller.session.call('com.example.hang', [1]);
        const outcome = rejection(pending, 2000, 'canceled call');
        await waitFor(() => invoked, { what: 'invocation reached the callee' });
        expect(realm().dealer.pendingCallCount).to.equal(1);
        const started = Date.now();
        if (how === 'GOODBYE') callee.connection.close();
        else callee.connection._transport.close();
        const error = await outcome;
        const elapsed = Date.now() - started;
        expect(error.error).to.equal('wamp.error.canceled');
        expect(elapsed, 'ms until the caller learned of it').to.be.below(1000);
        expect(realm().dealer.pendingCallCount).to.equal(0);
        // The caller's session survives: it can still call.
        const error2 = await rejection(caller.session.call('com.example.hang'));
        expect(error2.error).to.equal('wamp.error.no_such_procedure');
      });
    }

    it('a caller leaving mid-call: the callee (no call_canceling) gets no INTERRUPT and its late YIELD is dropped', async function () {
      const internalErrors: unknown[] = [];
      const callee = await connect(ser, { on_internal_error: (error: unknown) => internalErrors.push(error) });
      const caller = await connect();
      let finish: ((value: unknown) => void) | undefined;
      await callee.session.register('com.example.slow', () => new Promise((resolve) => { finish = resolve; }));
      await callee.session.register('com.example.alive', () => 'alive');
      caller.session.call('com.example.slow').then(() => undefined, () => undefined);
      await waitFor(() => finish !== undefined, { what: 'invocation reached the callee' });
      caller.connection._transport.close();
      await waitFor(() => joinedSessions(tr) === 1, { what: 'caller gone' });
      // Across nodes the callee's node learns of it by a message: wait for it (at once on one node).
      await waitFor(() => sumOverNodes(tr, (r) => r.dealer.pendingCallCount) === 0, { timeoutMs: 1000, what: 'the call forgotten on every node' });
      finish!('too late'); // YIELD for a call whose caller is gone: the router must ignore it
      // autobahn-js fails its connection on INTERRUPT or any unexpected message: it must still be up.
      const probe = await connect();
      expect(await withTimeout(probe.session.call('com.example.alive'), 3000, 'call after late YIELD')).to.equal('alive');
      expect(callee.session.isOpen).to.equal(true);
      expect(internalErrors).to.deep.equal([]);
    });

    it('discloses the caller only when asked (disclose_me), with caller_authid and caller_authrole', async function () {
      const callee = await connect();
      const caller = await connect();
      const seen: any[] = [];
      await callee.session.register('com.example.who', (_args: unknown[], _kwargs: unknown, details: any) => {
        seen.push({ caller: details.caller, authid: details.caller_authid, authrole: details.caller_authrole });
        return null;
      });
      await withTimeout(caller.session.call('com.example.who', [], {}, { disclose_me: true }), 3000, 'call');
      await withTimeout(caller.session.call('com.example.who', [], {}, {}), 3000, 'call');
      expect(seen).to.deep.equal([
        { caller: caller.session.id, authid: caller.details.authid, authrole: 'anonymous' },
        { caller: undefined, authid: undefined, authrole: undefined },
      ]);
    });

    it('relays progressive results only to a caller that asked for them (receive_progress)', async function () {
      const callee = await connect();
      const caller = await connect();
      await callee.session.register('com.example.progress', async (args: number[], _kwargs: unknown, details: any) => {
        for (let i = 1; i <= args[0]!; i++) {
          // Sends are async in autobahn-js (cbor encodes asynchronously): pace them so order is ours to test.
          if (details.progress) { details.progress([i], { step: i }); await new Promise((r) => setTimeout(r, 5)); }
        }
        return new autobahn.Result(['done'], { total: args[0] });
      });
      const progress: unknown[] = [];
      const final = await withTimeout(new Promise<any>((resolve, reject) => {
        // autobahn-js uses when.js promises here: progress arrives through then's third callback.
        (caller.session.call('com.example.progress', [3], {}, { receive_progress: true }) as any)
          .then(resolve, reject, (p: any) => progress.push({ args: p.args, kwargs: p.kwargs }));
      }), 3000, 'progressive call');
      expect(progress).to.deep.equal([1, 2, 3].map((i) => ({ args: [i], kwargs: { step: i } })));
      expect(final.args).to.deep.equal(['done']);
      expect(final.kwargs).to.deep.equal({ total: 3 });
      // Without receive_progress the callee gets no progress function and the caller only the result.
      const plain = await withTimeout(caller.session.call('com.example.progress', [2]), 3000, 'plain call');
      expect(plain.args).to.deep.equal(['done']);
      expect(plain.kwargs).to.deep.equal({ total: 2 });
    });

    it('routes prefix and wildcard registrations, with the concrete procedure in the invocation details', async function () {
      const callee = await connect();
      const caller = await connect();
      const seen: string[] = [];
      await callee.session.register('com.example.pfx', (_a: unknown, _k: unknown, d: any) => { seen.push(`prefix:${d.procedure}`); return 'prefix'; }, { match: 'prefix' });
      await callee.session.register('com.example..wild', (_a: unknown, _k: unknown, d: any) => { seen.push(`wildcard:${d.procedure}`); return 'wildcard'; }, { match: 'wildcard' });
      await callee.session.register('com.example.pfx.exact', () => 'exact');
      expect(await withTimeout(caller.session.call('com.example.pfx.a.b'), 3000, 'call')).to.equal('prefix');
      expect(await withTimeout(caller.session.call('com.example.pfx.exact'), 3000, 'call')).to.equal('exact');
      expect(await withTimeout(caller.session.call('com.example.x.wild'), 3000, 'call')).to.equal('wildcard');
      expect(seen).to.deep.equal(['prefix:com.example.pfx.a.b', 'wildcard:com.example.x.wild']);
    });

    it('shares a roundrobin registration between two callees', async function () {
      const a = await connect();
      const b = await connect();
      const caller = await connect();
      await a.session.register('com.example.rr', () => 'a', { invoke: 'roundrobin' });
      await b.session.register('com.example.rr', () => 'b', { invoke: 'roundrobin' });
      const results: string[] = [];
      for (let i = 0; i < 4; i++) results.push(await withTimeout(caller.session.call('com.example.rr'), 3000, 'call'));
      expect(results).to.deep.equal(['a', 'b', 'a', 'b']);
      expect(realm().dealer.registrationCount).to.equal(1);
    });

    // ----- PubSub -----

    it('delivers an unacknowledged publication with args and kwargs to every subscriber', async function () {
      const sub1 = await connect();
      const sub2 = await connect();
      const publisher = await connect();
      const c1 = collector();
      const c2 = collector();
      await sub1.session.subscribe('com.example.topic', c1.handler);
      await sub2.session.subscribe('com.example.topic', c2.handler);
      const returned = publisher.session.publish('com.example.topic', ARGS, KWARGS);
      expect(returned, 'no acknowledge: nothing to wait for').to.equal(undefined);
      await waitFor(() => c1.events.length === 1 && c2.events.length === 1, { what: 'events' });
      for (const { events } of [c1, c2]) {
        expect(events[0]!.args).to.deep.equal(ARGS);
        expect(events[0]!.kwargs).to.deep.equal(KWARGS);
        expect(events[0]!.details.topic).to.equal('com.example.topic');
        expect(events[0]!.details.publication).to.be.within(1, MAX_ID);
      }
      expect(c1.events[0]!.details.publication).to.equal(c2.events[0]!.details.publication);
    });

    it('acknowledges a publication with a publication ID in [1, 2^53] that matches the event', async function () {
      const subscriber = await connect();
      const publisher = await connect();
      const c = collector();
      await subscriber.session.subscribe('com.example.acked', c.handler);
      const publication = await withTimeout(publisher.session.publish('com.example.acked', ['a'], { k: 1 }, { acknowledge: true })!, 3000, 'PUBLISHED');
      expect(publication).to.be.instanceOf(autobahn.Publication);
      expect(Number.isInteger(publication.id)).to.equal(true);
      expect(publication.id).to.be.within(1, MAX_ID);
      await waitFor(() => c.events.length === 1, { what: 'event' });
      expect(c.events[0]!.details.publication).to.equal(publication.id);
      expect(c.events[0]!.args).to.deep.equal(['a']);
      expect(c.events[0]!.kwargs).to.deep.equal({ k: 1 });
      // Acknowledged publication without any subscriber still gets PUBLISHED.
      const lonely = await withTimeout(publisher.session.publish('com.example.nobody', [], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
      expect(lonely.id).to.be.within(1, MAX_ID);
      expect(lonely.id).to.not.equal(publication.id);
    });

    it('keeps publication order from one publisher to one subscriber', async function () {
      const subscriber = await connect();
      const publisher = await connect();
      const c = collector();
      await subscriber.session.subscribe('com.example.seq', c.handler);
      const n = 50;
      for (let i = 0; i < n; i++) publisher.session.publish('com.example.seq', [i]);
      await waitFor(() => c.events.length === n, { what: `${n} events` });
      expect(c.events.map((e) => e.args[0])).to.deep.equal([...Array(n).keys()]);
    });

    it('excludes the publisher from its own event by default and includes it with exclude_me: false', async function () {
      const publisher = await connect();
      const other = await connect();
      const own = collector();
      const seen = collector();
      await publisher.session.subscribe('com.example.self', own.handler);
      await other.session.subscribe('com.example.self', seen.handler);
      await withTimeout(publisher.session.publish('com.example.self', ['default'], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
      await withTimeout(publisher.session.publish('com.example.self', ['included'], {}, { acknowledge: true, exclude_me: false })!, 3000, 'PUBLISHED');
      await waitFor(() => seen.events.length === 2 && own.events.length >= 1, { what: 'events' });
      expect(seen.events.map((e) => e.args[0])).to.deep.equal(['default', 'included']);
      // Events from one publisher arrive in order, so 'default' would have come first had it been sent.
      expect(own.events.map((e) => e.args[0])).to.deep.equal(['included']);
    });

    it('stops delivering after unsubscribe', async function () {
      const subscriber = await connect();
      const publisher = await connect();
      const c = collector();
      const barrier = collector();
      const subscription = await subscriber.session.subscribe('com.example.unsub', c.handler);
      await subscriber.session.subscribe('com.example.barrier', barrier.handler);
      await withTimeout(publisher.session.publish('com.example.unsub', ['before'], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
      await waitFor(() => c.events.length === 1, { what: 'first event' });
      expect(realm().broker.subscriptionCount).to.equal(2);
      await withTimeout(subscriber.session.unsubscribe(subscription), 3000, 'unsubscribe');
      expect(realm().broker.subscriptionCount).to.equal(1);
      await withTimeout(publisher.session.publish('com.example.unsub', ['after'], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
      // Same publisher, same subscriber: the barrier event arrives after any event for 'after' would have.
      publisher.session.publish('com.example.barrier', ['sync']);
      await waitFor(() => barrier.events.length === 1, { what: 'barrier event' });
      expect(c.events.map((e) => e.args[0])).to.deep.equal(['before']);
    });

    it('discloses the publisher only when asked, and honours exclude/eligible lists', async function () {
      const publisher = await connect();
      const s1 = await connect();
      const s2 = await connect();
      const c1 = collector();
      const c2 = collector();
      await s1.session.subscribe('com.example.lists', c1.handler);
      await s2.session.subscribe('com.example.lists', c2.handler);
      const pub = (args: unknown[], options: Record<string, unknown>) =>
        withTimeout(publisher.session.publish('com.example.lists', args, {}, { acknowledge: true, ...options })!, 3000, 'PUBLISHED');
      await pub(['disclosed'], { disclose_me: true });
      await pub(['not-s1'], { exclude: [s1.session.id] });
      await pub(['only-s1'], { eligible: [s1.session.id] });
      await pub(['by-authid'], { eligible_authid: [s2.details.authid] });
      await pub(['nobody'], { exclude_authrole: ['anonymous'] });
      await pub(['end'], {});
      await waitFor(() => c1.events.at(-1)?.args[0] === 'end' && c2.events.at(-1)?.args[0] === 'end', { what: 'end events' });
      expect(c1.events.map((e) => e.args[0])).to.deep.equal(['disclosed', 'only-s1', 'end']);
      expect(c2.events.map((e) => e.args[0])).to.deep.equal(['disclosed', 'not-s1', 'by-authid', 'end']);
      const disclosed = c1.events[0]!.details;
      expect([disclosed.publisher, disclosed.publisher_authid, disclosed.publisher_authrole])
        .to.deep.equal([publisher.session.id, publisher.details.authid, 'anonymous']);
      expect(c1.events.at(-1)!.details.publisher).to.equal(undefined);
    });

    it('delivers on prefix and wildcard subscriptions with the concrete topic, once per matching subscription', async function () {
      const subscriber = await connect();
      const publisher = await connect();
      const prefix = collector();
      const wildcard = collector();
      await subscriber.session.subscribe('com.example.pat', prefix.handler, { match: 'prefix' });
      await subscriber.session.subscribe('com.example..leaf', wildcard.handler, { match: 'wildcard' });
      await withTimeout(publisher.session.publish('com.example.pattern.leaf', [1], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
      await withTimeout(publisher.session.publish('com.example.other.leaf', [2], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
      await withTimeout(publisher.session.publish('com.example.pat', [3], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
      await waitFor(() => prefix.events.length === 2 && wildcard.events.length === 2, { what: 'pattern events' });
      expect(prefix.events.map((e) => [e.args[0], e.details.topic])).to.deep.equal([[1, 'com.example.pattern.leaf'], [3, 'com.example.pat']]);
      expect(wildcard.events.map((e) => [e.args[0], e.details.topic])).to.deep.equal([[1, 'com.example.pattern.leaf'], [2, 'com.example.other.leaf']]);
      expect(prefix.events[0]!.details.publication).to.equal(wildcard.events[0]!.details.publication);
    });

    for (const how of ['GOODBYE', 'transport loss'] as const) {
      it(`drops a leaving session's subscriptions and registrations at once (${how})`, async function () {
        const leaver = await connect();
        const stayer = await connect();
        const c = collector();
        await leaver.session.subscribe('com.example.leave.a', () => undefined);
        await leaver.session.subscribe('com.example.leave.b', () => undefined, { match: 'prefix' });
        await leaver.session.register('com.example.leave.p1', () => 1);
        await leaver.session.register('com.example.leave.p2', () => 2);
        const kept = await stayer.session.subscribe('com.example.leave.a', c.handler);
        expect(subscriptionCount(tr)).to.equal(2);
        expect(registrationCount(tr)).to.equal(2);
        expect(joinedSessions(tr)).to.equal(2);
        if (how === 'GOODBYE') leaver.connection.close();
        else leaver.connection._transport.close();
        await waitFor(() => registrationCount(tr) === 0, { timeoutMs: 1000, what: 'registrations removed' });
        // The stayer still holds com.example.leave.a.
        await waitFor(() => subscriptionCount(tr) === 1, { timeoutMs: 1000, what: 'subscriptions removed' });
        expect(joinedSessions(tr)).to.equal(1);
        const error = await rejection(stayer.session.call('com.example.leave.p1'));
        expect(error.error).to.equal('wamp.error.no_such_procedure');
        // The surviving subscription still works.
        await withTimeout(stayer.session.publish('com.example.leave.a', ['still'], {}, { acknowledge: true, exclude_me: false })!, 3000, 'PUBLISHED');
        await waitFor(() => c.events.length === 1, { what: 'event to the remaining subscriber' });
        expect(c.events[0]!.args).to.deep.equal(['still']);
        await withTimeout(stayer.session.unsubscribe(kept), 3000, 'unsubscribe');
        expect(subscriptionCount(tr)).to.equal(0);
      });
    }

    // ----- binary payloads -----

    if (ser !== 'json') {
      it('carries binary args as bytes through RPC and PubSub', async function () {
        const callee = await connect();
        const caller = await connect();
        const bytes = Buffer.from([0, 1, 2, 127, 128, 254, 255]);
        let received: unknown;
        await callee.session.register('com.example.bytes', (args: unknown[]) => {
          received = args[0];
          return new autobahn.Result([args[0], Buffer.from('reply')], { blob: Buffer.alloc(3, 0xab) });
        });
        const result = await withTimeout(caller.session.call('com.example.bytes', [bytes], { inner: bytes }), 3000, 'call');
        expect(asBytes(received).equals(bytes)).to.equal(true);
        expect(asBytes(result.args[0]).equals(bytes)).to.equal(true);
        expect(asBytes(result.args[1]).toString()).to.equal('reply');
        expect(asBytes(result.kwargs.blob).equals(Buffer.alloc(3, 0xab))).to.equal(true);

        const c = collector();
        await callee.session.subscribe('com.example.bytes.topic', c.handler);
        await withTimeout(caller.session.publish('com.example.bytes.topic', [bytes], { b: bytes }, { acknowledge: true })!, 3000, 'PUBLISHED');
        await waitFor(() => c.events.length === 1, { what: 'binary event' });
        expect(asBytes(c.events[0]!.args[0]).equals(bytes)).to.equal(true);
        expect(asBytes(c.events[0]!.kwargs.b).equals(bytes)).to.equal(true);
      });
    }
  });
}

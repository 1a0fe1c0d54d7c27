import { expect } from 'chai';
import { OpenClients, type AbClient } from '../helpers/autobahn.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { skipWithoutNats } from '../helpers/nats.js';
import { expectError, within } from '../helpers/promises.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 "Meta API": wamp.subscription.list/lookup/match/get/list_subscribers/count_subscribers
 * answer for the whole cluster, and the subscription and registration meta events reach
 * subscribers on every node, on_create/on_delete once per cluster, each receiver's own visibility
 * applied by its node. Three nodes: watchers on a, subscribers and callees on b and c.
 */

const EVERYTHING = { call: true, register: true, publish: true, subscribe: true };
const REALM = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: EVERYTHING }] },
    // May use the meta API, but hears only of topics and procedures under `pub.`.
    {
      name: 'limited', permissions: [
        { uri: 'wamp.', match: 'prefix', allow: { call: true, subscribe: true } },
        { uri: 'pub.', match: 'prefix', allow: EVERYTHING },
      ],
    },
  ],
  auth: {
    anonymous: { role: 'anonymous' },
    ticket: { users: { lim: { ticket: 'lim-ticket-0123456', role: 'limited' } } },
  },
};

/** One meta event as a watcher saw it. */
interface Seen {
  topic: string;
  session: number;
  payload: any;
}

describe('cluster: the subscription meta API and the meta events span every node (against nats-server)', function () {
  this.timeout(30_000);
  let cluster: TestCluster;
  const clients = new OpenClients();

  const on = (node: number, options: Record<string, unknown> = {}) => clients.connect(cluster.nodes[node]!.url, 'json', options);
  const limited = { authmethods: ['ticket'], authid: 'lim', onchallenge: () => 'lim-ticket-0123456' };
  const call = <T = any>(client: AbClient, procedure: string, args: unknown[] = []) => within<T>(client.session.call(procedure, args), procedure);

  /** A session on node `node` subscribed to `topics`, recording every event. */
  const watcher = async (node: number, topics: string[], options: Record<string, unknown> = {}) => {
    const client = await on(node, options);
    const seen: Seen[] = [];
    for (const topic of topics) {
      await within(client.session.subscribe(topic, (args: any[]) => seen.push({ topic, session: args[0], payload: args[1] })), `subscribe ${topic}`);
    }
    const of = (topic: string, test: (s: Seen) => boolean = () => true) => seen.filter((s) => s.topic === topic && test(s));
    return { client, seen, of };
  };
  const withId = (id: number) => (s: Seen) => s.payload === id || s.payload?.id === id;
  const aboutUri = (uri: string) => (s: Seen) => s.payload?.uri === uri;

  before(async function () {
    skipWithoutNats(this);
    cluster = await startTestCluster(3, { realms: [REALM] });
    await waitFor(() => cluster.nodes.every((n) => n.router.cluster!.status().peers.filter((p) => p.alive).length === 2), { timeoutMs: 3000, what: 'nodes see each other' });
  });
  afterEach(async () => {
    await clients.closeAll();
  });
  after(async () => cluster?.stop());

  it('list, lookup, match, get, list_subscribers and count_subscribers asked on a cover b and c', async () => {
    const asker = await on(0);
    const [b1, b2, c1] = [await on(1), await on(1), await on(2)];
    const exact = await within<any>(b1.session.subscribe('com.sm.topic', () => undefined), 'subscribe b1');
    const created = (await call(b1, 'wamp.subscription.get', [exact.id])).created;
    await within(b2.session.subscribe('com.sm.topic', () => undefined), 'subscribe b2');
    const again = await within<any>(c1.session.subscribe('com.sm.topic', () => undefined), 'subscribe c1');
    const prefix = await within<any>(c1.session.subscribe('com.sm.', () => undefined, { match: 'prefix' }), 'subscribe prefix');
    expect(again.id).to.equal(exact.id);

    const list = await call<Record<string, number[]>>(asker, 'wamp.subscription.list');
    expect(list.exact!.filter((id) => id === exact.id)).to.have.length(1);
    expect(list.prefix).to.include(prefix.id);
    expect(await call(asker, 'wamp.subscription.lookup', ['com.sm.topic'])).to.equal(exact.id);
    expect(await call(asker, 'wamp.subscription.lookup', ['com.sm.', { match: 'prefix' }])).to.equal(prefix.id);
    expect(await call(asker, 'wamp.subscription.lookup', ['com.sm.nothing'])).to.equal(null);
    expect(await call<number[]>(asker, 'wamp.subscription.match', ['com.sm.topic'])).to.have.members([exact.id, prefix.id]);
    expect(await call(asker, 'wamp.subscription.match', ['com.sm.other'])).to.deep.equal([prefix.id]);

    // c subscribed later: get gives the earliest creation, whichever node is asked.
    for (const client of [asker, c1]) {
      expect(await call(client, 'wamp.subscription.get', [exact.id])).to.deep.equal({ id: exact.id, created, uri: 'com.sm.topic', match: 'exact' });
    }
    expect(await call<number[]>(asker, 'wamp.subscription.list_subscribers', [exact.id])).to.have.members([b1.session.id, b2.session.id, c1.session.id]);
    expect(await call(asker, 'wamp.subscription.count_subscribers', [exact.id])).to.equal(3);
    await expectError(asker.session.call('wamp.subscription.get', [987654321]), 'wamp.error.no_such_subscription', 'get unknown');
  });

  it('the asking role\'s visibility applies to subscriptions on other nodes', async () => {
    const subscriber = await on(1);
    const secret = await within<any>(subscriber.session.subscribe('com.sm.secret', () => undefined), 'subscribe secret');
    const open = await within<any>(subscriber.session.subscribe('pub.sm.open', () => undefined), 'subscribe open');
    const asker = await on(0, limited);
    const list = await call<Record<string, number[]>>(asker, 'wamp.subscription.list');
    expect(list.exact).to.include(open.id).and.not.include(secret.id);
    expect(await call(asker, 'wamp.subscription.lookup', ['com.sm.secret'])).to.equal(null);
    expect(await call(asker, 'wamp.subscription.count_subscribers', [open.id])).to.equal(1);
    await expectError(asker.session.call('wamp.subscription.get', [secret.id]), 'wamp.error.no_such_subscription', 'get secret');
    await expectError(asker.session.call('wamp.subscription.list_subscribers', [secret.id]), 'wamp.error.no_such_subscription', 'list_subscribers secret');
  });

  it('subscription events reach a; on_create and on_delete are raised once for the cluster', async () => {
    const topics = ['on_create', 'on_subscribe', 'on_unsubscribe', 'on_delete'].map((e) => `wamp.subscription.${e}`);
    const [onCreate, onSubscribe, onUnsubscribe, onDelete] = topics as [string, string, string, string];
    const w = await watcher(0, topics);
    const [b, c] = [await on(1), await on(2)];
    /**
     * Once the watcher has on_create of a fresh marker topic subscribed on `client`'s node, every
     * earlier event decision of that node has been made and its events have arrived here (its
     * questions are answered, and its notices delivered, in order).
     */
    let markers = 0;
    const settled = async (client: AbClient) => {
      const marker = `com.sm.marker${++markers}`;
      await within(client.session.subscribe(marker, () => undefined), 'subscribe marker');
      await waitFor(() => w.of(onCreate, aboutUri(marker)).length > 0, { what: `on_create of ${marker}` });
    };

    const atB = await within<any>(b.session.subscribe('com.sm.events', () => undefined), 'subscribe at b');
    await waitFor(() => w.of(onSubscribe, withId(atB.id)).some((s) => s.session === b.session.id), { what: 'on_subscribe from b' });
    const created = w.of(onCreate, withId(atB.id));
    expect(created).to.have.length(1);
    expect(created[0]).to.deep.include({ session: b.session.id });
    expect(created[0]!.payload).to.include({ uri: 'com.sm.events', match: 'exact' });

    // c's first subscriber: the subscription already exists on b, so no second on_create.
    const atC = await within<any>(c.session.subscribe('com.sm.events', () => undefined), 'subscribe at c');
    await waitFor(() => w.of(onSubscribe, withId(atC.id)).some((s) => s.session === c.session.id), { what: 'on_subscribe from c' });
    expect(w.of(onCreate, withId(atB.id))).to.have.length(1);

    // b's subscriber leaves while c still has one: on_unsubscribe, no on_delete.
    await within(b.session.unsubscribe(atB), 'unsubscribe at b');
    await waitFor(() => w.of(onUnsubscribe, withId(atB.id)).some((s) => s.session === b.session.id), { what: 'on_unsubscribe from b' });
    await settled(b);
    expect(w.of(onDelete, withId(atB.id))).to.have.length(0);

    // The last one anywhere leaves: on_delete, once.
    await within(c.session.unsubscribe(atC), 'unsubscribe at c');
    await waitFor(() => w.of(onDelete, withId(atB.id)).length > 0, { what: 'on_delete' });
    await settled(b);
    await settled(c);
    expect(w.of(onDelete, withId(atB.id)).map((s) => s.session)).to.deep.equal([c.session.id]);
    expect(w.of(onUnsubscribe, withId(atB.id)).map((s) => s.session)).to.deep.equal([b.session.id, c.session.id]);
  });

  it('each watcher hears only of subscriptions and registrations its role may see, whichever node raised them', async () => {
    const w = await watcher(0, ['wamp.subscription.on_subscribe', 'wamp.registration.on_register'], limited);
    const other = await on(1);
    const secret = await within<any>(other.session.subscribe('com.sm.hidden', () => undefined), 'subscribe hidden');
    const hiddenProc = await within<any>(other.session.register('com.sm.hidden.proc', () => 1), 'register hidden');
    const open = await within<any>(other.session.subscribe('pub.sm.seen', () => undefined), 'subscribe seen');
    const openProc = await within<any>(other.session.register('pub.sm.seen.proc', () => 1), 'register seen');
    // Notices from b arrive in order: once the later ones are here, the hidden ones would have been too.
    await waitFor(() => w.of('wamp.subscription.on_subscribe', withId(open.id)).length > 0
      && w.of('wamp.registration.on_register', withId(openProc.id)).length > 0, { what: 'visible events' });
    expect(w.seen.filter((s) => s.payload === secret.id || s.payload === hiddenProc.id)).to.deep.equal([]);
  });

  it('registration events reach a; on_create and on_delete are raised once even when the last two callees leave at once', async () => {
    const topics = ['on_create', 'on_register', 'on_unregister', 'on_delete'].map((e) => `wamp.registration.${e}`);
    const [onCreate, onRegister, onUnregister, onDelete] = topics as [string, string, string, string];
    const w = await watcher(0, topics);
    const [b, c] = [await on(1), await on(2)];
    const atB = await within<any>(b.session.register('com.sm.proc', () => 1, { invoke: 'roundrobin' }), 'register at b');
    const atC = await within<any>(c.session.register('com.sm.proc', () => 2, { invoke: 'roundrobin' }), 'register at c');
    expect(atC.id).to.equal(atB.id);
    await waitFor(() => w.of(onRegister, withId(atB.id)).length === 2, { what: 'on_register from b and c' });
    expect(w.of(onRegister, withId(atB.id)).map((s) => s.session)).to.have.members([b.session.id, c.session.id]);
    const created = w.of(onCreate, withId(atB.id));
    expect(created.map((s) => s.session)).to.deep.equal([b.session.id]);
    expect(created[0]!.payload).to.include({ uri: 'com.sm.proc', match: 'exact', invoke: 'roundrobin' });

    await Promise.all([within(b.session.unregister(atB), 'unregister at b'), within(c.session.unregister(atC), 'unregister at c')]);
    await waitFor(() => w.of(onUnregister, withId(atB.id)).length === 2 && w.of(onDelete, withId(atB.id)).length > 0, { what: 'on_unregister and on_delete' });
    // Every node has applied the deletion (and so decided about on_delete) before the barrier's
    // notices, which follow any on_delete notice of the same node.
    await waitFor(() => cluster.nodes.every((n) => n.router.cluster!.view.get('realm1', 'com.sm.proc', 'exact') === undefined), { what: 'registry applied' });
    const joined: number[] = [];
    await within(w.client.session.subscribe('wamp.session.on_join', (args: any[]) => joined.push(args[0].session)), 'subscribe on_join');
    const late = [await on(1), await on(2)];
    await waitFor(() => late.every((l) => joined.includes(l.session.id)), { what: 'on_join from b and c' });
    expect(w.of(onDelete, withId(atB.id))).to.have.length(1);
    expect([b.session.id, c.session.id]).to.include(w.of(onDelete, withId(atB.id))[0]!.session);
  });
  // Last: it takes node c down for good.
  it('a dead node\'s callee: on_unregister and on_delete once, raised by the janitor (a)', async () => {
    const [onUnregister, onDelete] = ['wamp.registration.on_unregister', 'wamp.registration.on_delete'];
    const w = await watcher(1, [onUnregister, onDelete]);
    const c = await on(2);
    const reg = await within<any>(c.session.register('com.sm.dies', () => 1), 'register at c');
    await waitFor(() => cluster.nodes.every((n) => n.router.cluster!.view.get('realm1', 'com.sm.dies', 'exact') !== undefined), { what: 'registered everywhere' });
    // c leaves NATS without a goodbye: only deadAfterMs later do a and b take it for dead.
    await cluster.nodes[2]!.router.cluster!.node.crash();
    await waitFor(() => w.of(onDelete, withId(reg.id)).length > 0, { timeoutMs: 5000, what: 'on_delete after c died' });
    await waitFor(() => cluster.nodes.slice(0, 2).every((n) => n.router.cluster!.view.get('realm1', 'com.sm.dies', 'exact') === undefined), { what: 'registry applied' });
    // The watcher is on b, the janitor is a: b raises locally at once, and a's notices come before a's on_join.
    const joined: number[] = [];
    await within(w.client.session.subscribe('wamp.session.on_join', (args: any[]) => joined.push(args[0].session)), 'subscribe on_join');
    const late = await on(0);
    await waitFor(() => joined.includes(late.session.id), { what: 'on_join from a' });
    expect(w.of(onUnregister, withId(reg.id)).map((s) => s.session)).to.deep.equal([c.session.id]);
    expect(w.of(onDelete, withId(reg.id)).map((s) => s.session)).to.deep.equal([c.session.id]);
  });
});

import { expect } from 'chai';
import { connect, type NatsConnection } from 'nats';
import { encodeEnvelope } from '../../router/cluster/envelope.js';
import { ClusterPubSub, type InterestKey } from '../../router/cluster/pubsub.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SCHEME = { prefix: 'sy' };
const encode = (topic: string, n: number, realm = 'realm1') =>
  encodeEnvelope({ realm, topic, publication: n + 1, publisher: undefined, args: [n], kwargs: undefined, filter: {} });

interface Node {
  nc: NatsConnection;
  pubsub: ClusterPubSub;
  received: { interest: string; topic: string; n: number }[];
}

describe('cluster pub/sub over NATS subjects (against nats-server)', function () {
  this.timeout(30_000);
  let server: NatsServer;
  let nodes: Node[] = [];

  async function node(url = server.url): Promise<Node> {
    const nc = await connect({ servers: url, noEcho: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const received: Node['received'] = [];
    const pubsub = new ClusterPubSub(nc, SCHEME, (interest, event) => {
      received.push({ interest: `${interest.match}:${interest.uri}`, topic: event.topic, n: event.args![0] as number });
    });
    const created = { nc, pubsub, received };
    nodes.push(created);
    return created;
  }
  const key = (uri: string, match: InterestKey['match'] = 'exact', realm = 'realm1'): InterestKey => ({ realm, uri, match });
  /** Everything `from` published so far has reached the server and been passed on to `to`. */
  const settle = async (from: Node, to: Node) => {
    await from.nc.flush();
    await to.nc.flush();
  };

  before(async function () {
    skipWithoutNats(this);
    server = await startNats();
  });
  afterEach(async () => {
    await Promise.allSettled(nodes.map((n) => n.nc.close()));
    nodes = [];
  });
  after(async () => server?.stop());

  it('delivers once per matching WAMP subscription: exact, wildcard, and a prefix ending inside a component', async () => {
    const a = await node();
    const b = await node();
    await b.pubsub.hold(key('com.app.users'));
    await b.pubsub.hold(key('com..users', 'wildcard'));
    await b.pubsub.hold(key('com.app.us', 'prefix'));
    for (const [n, topic] of ['com.app.users', 'com.app.u', 'com.app.us.x', 'com.other.users', 'org.app.users'].entries()) a.pubsub.publish('realm1', topic, encode(topic, n));
    await settle(a, b);
    expect(b.received.map((r) => `${r.interest} <- ${r.topic}`).sort()).to.deep.equal([
      'exact:com.app.users <- com.app.users',
      'prefix:com.app.us <- com.app.us.x',
      'prefix:com.app.us <- com.app.users',
      'wildcard:com..users <- com.app.users',
      'wildcard:com..users <- com.other.users',
    ]);
    expect(b.pubsub.overDelivered).to.equal(1); // com.app.u: same NATS subject, not the WAMP prefix
  });

  it('never loops a publication back to its own node, and keeps realms apart', async () => {
    const a = await node();
    const b = await node();
    await a.pubsub.hold(key('com.x'));
    await b.pubsub.hold(key('com.x', 'exact', 'realm2'));
    a.pubsub.publish('realm1', 'com.x', encode('com.x', 1));
    await settle(a, b);
    await settle(b, a);
    expect(a.received).to.deep.equal([]);
    expect(b.received).to.deep.equal([]);
  });

  it('drops and counts a message that is not an envelope of the subscription\'s realm', async () => {
    const a = await node();
    const b = await node();
    await b.pubsub.hold(key('com.x'));
    a.nc.publish('sy.r.realm1.e.com.x', new TextEncoder().encode('{"not":"cbor"}'));
    a.nc.publish('sy.r.realm1.e.com.x', encode('com.x', 1, 'realm2'));
    a.pubsub.publish('realm1', 'com.x', encode('com.x', 2));
    await settle(a, b);
    expect(b.received.map((r) => r.n)).to.deep.equal([2]);
    expect(b.pubsub.malformed).to.equal(2);
  });

  it('makes every holder wait for the flush that puts a new interest on the server (SUBSCRIBED follows it)', async () => {
    const b = await node();
    const first = b.pubsub.hold(key('com.w'));
    const second = b.pubsub.hold(key('com.w'));
    expect(first).to.be.instanceOf(Promise);
    expect(second).to.equal(first);
    await first;
    expect(b.pubsub.hold(key('com.w'))).to.equal(undefined); // already on the server: no wait
  });

  it('neither subscribes nor publishes a subject over the NATS control-line limit, and the connection survives', async () => {
    const a = await node();
    const b = await node();
    const long = `com.${'ü'.repeat(800)}`; // 4,800 bytes once encoded: the server would cut the connection
    expect(b.pubsub.hold(key(long))).to.equal(undefined);
    expect(a.pubsub.publish('realm1', long, encode(long, 0))).to.equal(false);
    expect([a.pubsub.tooLong, b.pubsub.tooLong]).to.deep.equal([1, 1]);
    await b.pubsub.hold(key('com.x'));
    a.pubsub.publish('realm1', 'com.x', encode('com.x', 1));
    await settle(a, b);
    expect(b.received.map((r) => r.n)).to.deep.equal([1]);
  });

  it('holds interest while any local subscriber does', async () => {
    const a = await node();
    const b = await node();
    await b.pubsub.hold(key('com.x'));
    await b.pubsub.hold(key('com.x'));
    b.pubsub.release(key('com.x'));
    a.pubsub.publish('realm1', 'com.x', encode('com.x', 1));
    await settle(a, b);
    b.pubsub.release(key('com.x'));
    await b.nc.flush();
    a.pubsub.publish('realm1', 'com.x', encode('com.x', 2));
    await settle(a, b);
    expect(b.received.map((r) => r.n)).to.deep.equal([1]);
    expect(b.pubsub.interestCount).to.equal(0);
  });

  it('keeps one publisher\'s order: 10,000 numbered events arrive in order, none lost', async () => {
    const a = await node();
    const b = await node();
    await b.pubsub.hold(key('com.seq'));
    for (let n = 0; n < 10_000; n++) a.pubsub.publish('realm1', 'com.seq', encode('com.seq', n));
    await settle(a, b);
    await waitFor(() => b.received.length === 10_000, { timeoutMs: 10_000, what: '10,000 events' });
    expect(b.received.every((r, i) => r.n === i)).to.equal(true);
  });

  it('drops and counts publications while NATS is down, and carries them again after it is back', async () => {
    const own = await startNats();
    const port = Number(new URL(own.url).port);
    try {
      const a = await node(own.url);
      const b = await node(own.url);
      await b.pubsub.hold(key('com.x'));
      await own.stop(false);
      await waitFor(() => !a.pubsub.publish('realm1', 'com.x', encode('com.x', 0)), { timeoutMs: 5000, what: 'a notices NATS is gone' });
      expect(a.pubsub.dropped).to.be.greaterThan(0);
      const restarted = await startNats({ port, storeDir: own.storeDir });
      try {
        await waitFor(() => a.pubsub.publish('realm1', 'com.x', encode('com.x', 1)), { timeoutMs: 10_000, what: 'a reconnected' });
        // b's subscription comes back with its reconnect; publish until one gets through.
        for (let n = 2; b.received.length === 0 && n < 200; n++) {
          a.pubsub.publish('realm1', 'com.x', encode('com.x', n));
          await sleep(50);
        }
        expect(b.received.length).to.be.greaterThan(0);
        expect(b.received.every((r) => r.n >= 1)).to.equal(true); // nothing from the outage was replayed
      } finally {
        await restarted.stop();
      }
    } finally {
      await own.stop();
    }
  });
});

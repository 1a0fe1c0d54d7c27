// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import { Wampy } from 'wampy';
import { CborSerializer } from 'wampy/CborSerializer.js';
import { JsonSerializer } from 'wampy/JsonSerializer.js';
import { MsgpackSerializer } from 'wampy/MsgpackSerializer.js';
import WebSocket from 'ws';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Interop with wampy.js 8 (a second, independent JS client) next to autobahn-js peers. In Node
 * wampy needs the `ws` class passed in as its WebSocket implementation.
 */

const WAMPY_SERIALIZERS: Record<SerializerName, () => unknown> = {
  json: () => new JsonSerializer(),
  msgpack: () => new MsgpackSerializer(),
  cbor: () => new CborSerializer(),
};
/** The autobahn-js peer's serializer for each wampy serializer. */
const AB_PEER: Record<SerializerName, SerializerName> = { json: 'json', msgpack: 'cbor', cbor: 'msgpack' };
const MAX_ID = 2 ** 53;

/**
 * wampy's msgpack serializer is plain msgpackr `unpack`, which turns every 64-bit integer into a
 * BigInt; WAMP IDs above 2^32 are 64-bit on the wire (as with Crossbar), so wampy+msgpack sees
 * BigInt IDs. Compare IDs as numbers, and only accept number or bigint.
 */
function idOf(value: unknown): number {
  expect(typeof value).to.be.oneOf(['number', 'bigint']);
  const id = Number(value);
  expect(Number.isSafeInteger(id) && id >= 1 && id <= MAX_ID, `ID ${String(value)} in [1, 2^53]`).to.equal(true);
  return id;
}

function asBytes(value: unknown): Buffer {
  expect(value, 'binary value').to.be.instanceOf(Uint8Array);
  return Buffer.from(value as Uint8Array);
}

for (const ser of ['json', 'msgpack', 'cbor'] as SerializerName[]) {
  const peerSer = AB_PEER[ser];
  const binary = ser !== 'json' && peerSer !== 'json';

  describe(`interop with wampy (wampy ${ser} ↔ autobahn-js ${peerSer})`, function () {
    let tr: TestRouter;
    let clients: AbClient[];
    let wampys: Wampy[];
    let wampyErrors: Error[];

    beforeEach(async function () {
      clients = [];
      wampys = [];
      wampyErrors = [];
      tr = await startRouter();
    });

    afterEach(async function () {
      for (const w of wampys) {
        if (w.getSessionId()) await withTimeout(w.disconnect(), 3000, 'wampy disconnect').catch(() => undefined);
      }
      for (const client of clients) await client.close().catch(() => undefined);
      await tr.stop();
      expect(tr.router.connectionCount).to.equal(0);
      expect(wampyErrors.map(String)).to.deep.equal([]);
    });

    async function connectPeer(): Promise<AbClient> {
      const client = await connectAutobahn(tr.url, peerSer, { on_user_error: () => undefined });
      clients.push(client);
      return client;
    }

    async function connectWampy(): Promise<{ wampy: Wampy; welcome: Record<string, any> }> {
      const wampy = new Wampy(tr.url, {
        realm: 'realm1',
        ws: WebSocket as any,
        serializer: WAMPY_SERIALIZERS[ser]() as any,
        autoReconnect: false,
        onError: (error: Error) => { wampyErrors.push(error); },
      });
      wampys.push(wampy);
      const welcome = await withTimeout(wampy.connect(), 5000, 'wampy connect');
      return { wampy, welcome: welcome as Record<string, any> };
    }

    it('joins realm1 anonymously and sees the router roles', async function () {
      const { wampy, welcome } = await connectWampy();
      expect(welcome.realm).to.equal('realm1');
      expect(welcome.authrole).to.equal('anonymous');
      expect(welcome.authmethod).to.equal('anonymous');
      expect(welcome.authid).to.be.a('string').and.not.equal('');
      expect(welcome.roles.broker.features.publisher_exclusion).to.equal(true);
      expect(welcome.roles.dealer.features.progressive_call_results).to.equal(true);
      const id = idOf(wampy.getSessionId());
      const session = tr.router.realms.get('realm1')!.sessions.get(id);
      expect(session?.authid).to.equal(welcome.authid);
      expect(session?.serializer.subprotocol).to.equal(`wamp.2.${ser}`);
    });

    it('wampy calls an autobahn-js callee with args and kwargs and gets its errors', async function () {
      const peer = await connectPeer();
      const invocations: { args: unknown[]; kwargs: Record<string, unknown> }[] = [];
      await peer.session.register('com.example.add', (args: number[], kwargs: Record<string, unknown>) => {
        invocations.push({ args, kwargs });
        return new autobahn.Result([args[0]! + args[1]!, 'ok'], { echo: kwargs });
      });
      await peer.session.register('com.example.fail', (args: unknown[]) => {
        throw new autobahn.Error('com.example.error.nope', args, { why: 'because' });
      });
      const { wampy } = await connectWampy();

      const result = await withTimeout(wampy.call('com.example.add', { argsList: [2, 3], argsDict: { k: 'v', n: [1, { m: null }] } }), 3000, 'wampy call');
      expect(invocations).to.deep.equal([{ args: [2, 3], kwargs: { k: 'v', n: [1, { m: null }] } }]);
      expect(result.argsList).to.deep.equal([5, 'ok']);
      expect(result.argsDict).to.deep.equal({ echo: { k: 'v', n: [1, { m: null }] } });

      let failure: any;
      try {
        await withTimeout(wampy.call('com.example.fail', { argsList: ['x', 1] }), 3000, 'wampy failing call');
      } catch (error) {
        failure = error;
      }
      expect(failure?.name).to.equal('CallError');
      expect(failure.errorUri).to.equal('com.example.error.nope');
      expect(failure.argsList).to.deep.equal(['x', 1]);
      expect(failure.argsDict).to.deep.equal({ why: 'because' });

      let missing: any;
      try {
        await withTimeout(wampy.call('com.example.nobody'), 3000, 'wampy call to nobody');
      } catch (error) {
        missing = error;
      }
      expect(missing?.name).to.equal('CallError');
      expect(missing.errorUri).to.equal('wamp.error.no_such_procedure');
    });

    it('wampy subscribes and receives autobahn-js publications', async function () {
      const peer = await connectPeer();
      const { wampy } = await connectWampy();
      const events: { argsList?: unknown[]; argsDict?: Record<string, unknown>; details: Record<string, unknown> }[] = [];
      const sub = await withTimeout(wampy.subscribe('com.example.news', (event) => { events.push(event); }), 3000, 'wampy subscribe');
      expect(tr.router.realms.get('realm1')!.broker.getSubscription(idOf(sub.subscriptionId))?.uri).to.equal('com.example.news');

      peer.session.publish('com.example.news', ['headline', 1], { tags: ['a', 'b'] });
      const args: unknown[] = binary ? ['bytes', Buffer.from([0, 255, 7])] : ['second'];
      const publication = await withTimeout(peer.session.publish('com.example.news', args, { last: true }, { acknowledge: true })!, 3000, 'PUBLISHED');
      await waitFor(() => events.length === 2, { what: 'wampy events' });
      expect(events[0]!.argsList).to.deep.equal(['headline', 1]);
      expect(events[0]!.argsDict).to.deep.equal({ tags: ['a', 'b'] });
      expect(events[1]!.argsDict).to.deep.equal({ last: true });
      expect(events[1]!.argsList![0]).to.equal(args[0]);
      if (binary) expect(asBytes(events[1]!.argsList![1]).equals(Buffer.from([0, 255, 7]))).to.equal(true);
      else expect(events[1]!.argsList).to.deep.equal(args);

      await withTimeout(wampy.unsubscribe(sub.subscriptionId), 3000, 'wampy unsubscribe');
      expect(tr.router.realms.get('realm1')!.broker.subscriptionCount).to.equal(0);
      expect(idOf(publication.id)).to.equal(publication.id); // wampy does not expose EVENT's publication ID
    });

    it('autobahn-js calls a wampy callee and receives wampy publications', async function () {
      const peer = await connectPeer();
      const { wampy } = await connectWampy();
      await withTimeout(wampy.register('com.example.mul', ({ argsList, argsDict }) => ({
        argsList: [(argsList![0] as number) * (argsList![1] as number)],
        argsDict: { from: 'wampy', got: argsDict ?? null },
      })), 3000, 'wampy register');
      await withTimeout(wampy.register('com.example.wampy.fail', () => {
        throw Object.assign(new Error('nope'), { error: 'com.example.error.wampy', argsList: [1], argsDict: { w: true } });
      }), 3000, 'wampy register');

      const product = await withTimeout(peer.session.call('com.example.mul', [6, 7], { unit: 'm' }), 3000, 'call');
      expect(product).to.be.instanceOf(autobahn.Result);
      expect(product.args).to.deep.equal([42]);
      expect(product.kwargs).to.deep.equal({ from: 'wampy', got: { unit: 'm' } });

      let failure: any;
      try {
        await withTimeout(peer.session.call('com.example.wampy.fail'), 3000, 'failing call');
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(autobahn.Error);
      expect(failure.error).to.equal('com.example.error.wampy');
      expect(failure.args).to.deep.equal([1]);
      expect(failure.kwargs).to.deep.equal({ w: true });

      const events: { args: unknown[]; kwargs: Record<string, unknown>; details: any }[] = [];
      await peer.session.subscribe('com.example.from.wampy', (args: unknown[], kwargs: Record<string, unknown>, details: any) => {
        events.push({ args, kwargs, details });
      });
      const published = await withTimeout(wampy.publish('com.example.from.wampy', { argsList: ['hi'], argsDict: { n: 3 } }, { acknowledge: true } as any), 3000, 'wampy publish');
      await waitFor(() => events.length === 1, { what: 'event from wampy' });
      expect(events[0]!.args).to.deep.equal(['hi']);
      expect(events[0]!.kwargs).to.deep.equal({ n: 3 });
      expect(events[0]!.details.publication).to.equal(idOf(published.publicationId));
    });
  });
}

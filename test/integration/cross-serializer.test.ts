// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, SERIALIZER_NAMES, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { registeringOnEveryNode } from '../helpers/topology.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Peers on different serializers see the same messages: the router decodes with one and encodes
 * with another (and fans an EVENT out once per serializer).
 */

const ARGS = [42, -1, 123456789012, 0.5, 'naïve ✓', true, null, [1, 'two', [3]], { deep: { list: [false] } }];
const KWARGS = { s: 'text', n: 7, f: -2.25, b: false, nil: null, arr: [1, 2, 3], obj: { k: 'v' } };

interface Received {
  args: unknown[];
  kwargs: Record<string, unknown>;
  details: any;
}

function asBytes(value: unknown): Buffer {
  expect(value, 'binary value').to.be.instanceOf(Uint8Array);
  return Buffer.from(value as Uint8Array);
}

describe('cross-serializer routing (autobahn-js)', function () {
  let tr: TestRouter;
  let clients: AbClient[];

  async function connect(serializer: SerializerName, options: Record<string, unknown> = {}): Promise<AbClient> {
    const client = registeringOnEveryNode(tr, await connectAutobahn(tr.url, serializer, options));
    clients.push(client);
    expect(client.details.transport.protocol).to.equal(`wamp.2.${serializer}`);
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

  for (const calleeSer of SERIALIZER_NAMES) {
    for (const callerSer of SERIALIZER_NAMES) {
      if (calleeSer === callerSer) continue;
      it(`RPC: ${callerSer} caller → ${calleeSer} callee, args and kwargs round trip`, async function () {
        // autobahn reports a throwing endpoint to on_user_error (else console.error): capture it.
        const userErrors: unknown[] = [];
        const callee = await connect(calleeSer, { on_user_error: (error: unknown) => userErrors.push(error) });
        const caller = await connect(callerSer);
        let invoked: Received | undefined;
        await callee.session.register('com.example.cross', (args: unknown[], kwargs: Record<string, unknown>, details: any) => {
          invoked = { args, kwargs, details };
          return new autobahn.Result([...args].reverse(), { ...kwargs, from: calleeSer });
        });
        const result = await withTimeout(caller.session.call('com.example.cross', ARGS, KWARGS), 3000, 'call');
        expect(invoked?.args).to.deep.equal(ARGS);
        expect(invoked?.kwargs).to.deep.equal(KWARGS);
        expect(result).to.be.instanceOf(autobahn.Result);
        expect(result.args).to.deep.equal([...ARGS].reverse());
        expect(result.kwargs).to.deep.equal({ ...KWARGS, from: calleeSer });

        // Errors cross serializers the same way.
        await callee.session.register('com.example.cross.fail', () => {
          throw new autobahn.Error('com.example.error.cross', ['why', 2], { ser: calleeSer });
        });
        const error = await withTimeout(caller.session.call('com.example.cross.fail').then(
          () => { throw new Error('call should have been rejected'); },
          (e: any) => e,
        ), 3000, 'failing call');
        expect(error).to.be.instanceOf(autobahn.Error);
        expect(error.error).to.equal('com.example.error.cross');
        expect(error.args).to.deep.equal(['why', 2]);
        expect(error.kwargs).to.deep.equal({ ser: calleeSer });
        expect(userErrors).to.have.length(1);
      });
    }
  }

  it('PubSub: a msgpack publisher reaches json and cbor subscribers with the same event', async function () {
    const jsonSub = await connect('json');
    const cborSub = await connect('cbor');
    const msgpackSub = await connect('msgpack');
    const publisher = await connect('msgpack');
    const got: Record<string, Received[]> = { json: [], cbor: [], msgpack: [] };
    const handler = (name: string) => (args: unknown[], kwargs: Record<string, unknown>, details: any) => {
      got[name]!.push({ args, kwargs, details });
    };
    await jsonSub.session.subscribe('com.example.fanout', handler('json'));
    await cborSub.session.subscribe('com.example.fanout', handler('cbor'));
    await msgpackSub.session.subscribe('com.example.fanout', handler('msgpack'));
    const publication = await withTimeout(publisher.session.publish('com.example.fanout', ARGS, KWARGS, { acknowledge: true })!, 3000, 'PUBLISHED');
    await waitFor(() => got.json!.length === 1 && got.cbor!.length === 1 && got.msgpack!.length === 1, { what: 'events on all serializers' });
    for (const name of ['json', 'cbor', 'msgpack']) {
      const [event] = got[name]!;
      expect(event!.args, name).to.deep.equal(ARGS);
      expect(event!.kwargs, name).to.deep.equal(KWARGS);
      expect(event!.details.publication, name).to.equal(publication.id);
      expect(event!.details.topic, name).to.equal('com.example.fanout');
    }
  });

  it('PubSub: a binary payload from a msgpack publisher reaches a cbor subscriber as bytes', async function () {
    const cborSub = await connect('cbor');
    const publisher = await connect('msgpack');
    const got: Received[] = [];
    await cborSub.session.subscribe('com.example.binary', (args: unknown[], kwargs: Record<string, unknown>, details: any) => {
      got.push({ args, kwargs, details });
    });
    const bytes = Buffer.from([0, 255, 1, 254, 0x80, 0x7f, 10, 13]);
    const big = Buffer.alloc(70_000, 0x5a); // over 64 KiB: bin32 in msgpack, 4-byte length in CBOR
    await withTimeout(publisher.session.publish('com.example.binary', [bytes, 'text'], { big, nested: { b: bytes } }, { acknowledge: true })!, 3000, 'PUBLISHED');
    await waitFor(() => got.length === 1, { what: 'binary event' });
    const [event] = got;
    expect(asBytes(event!.args[0]).equals(bytes)).to.equal(true);
    expect(event!.args[1]).to.equal('text');
    expect(asBytes(event!.kwargs.big).equals(big)).to.equal(true);
    expect(asBytes((event!.kwargs.nested as any).b).equals(bytes)).to.equal(true);
  });

  it('PubSub: binary crosses JSON as "\\u0000" + base64 (wamp-spec §11.2), both ways', async function () {
    // autobahn-js's JSON serializer does not convert binary itself, so a JSON client sees (and
    // sends) the convention's string form; the router must translate it for msgpack/cbor peers.
    const jsonPeer = await connect('json');
    const cborPeer = await connect('cbor');
    const msgpackPeer = await connect('msgpack');
    const got: Record<string, Received[]> = { json: [], cbor: [], msgpack: [] };
    for (const [name, client] of [['json', jsonPeer], ['cbor', cborPeer], ['msgpack', msgpackPeer]] as const) {
      await client.session.subscribe('com.example.b64', (args: unknown[], kwargs: Record<string, unknown>, details: any) => {
        got[name]!.push({ args, kwargs, details });
      });
    }
    const bytes = Buffer.from('10e3ff9053075c526f5fc06d4fe37cdb', 'hex');
    const wire = '\u0000EOP/kFMHXFJvX8BtT+N82w=='; // the spec's own example for these bytes
    await withTimeout(msgpackPeer.session.publish('com.example.b64', [bytes], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
    await withTimeout(jsonPeer.session.publish('com.example.b64', [wire], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
    await waitFor(() => got.json!.length === 1 && got.cbor!.length === 2 && got.msgpack!.length === 1, { what: 'binary events' });
    expect(got.json![0]!.args).to.deep.equal([wire]); // from msgpack, excluded from its own JSON publication
    expect(asBytes(got.cbor![0]!.args[0]).equals(bytes)).to.equal(true);
    expect(asBytes(got.cbor![1]!.args[0]).equals(bytes)).to.equal(true);
    expect(asBytes(got.msgpack![0]!.args[0]).equals(bytes)).to.equal(true); // from json
  });

  it('RPC: binary args from a cbor caller reach a msgpack callee as bytes and back', async function () {
    const callee = await connect('msgpack');
    const caller = await connect('cbor');
    const bytes = Buffer.from('00ff10ab', 'hex');
    let received: unknown;
    await callee.session.register('com.example.binary.echo', (args: unknown[]) => {
      received = args[0];
      return args[0];
    });
    const result = await withTimeout(caller.session.call('com.example.binary.echo', [bytes]), 3000, 'call');
    expect(asBytes(received).equals(bytes)).to.equal(true);
    expect(asBytes(result).equals(bytes)).to.equal(true);
  });
});

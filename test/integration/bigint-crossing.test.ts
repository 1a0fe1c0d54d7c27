// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Issue 13.3: autobahn-js's CBOR serializer sends BigInt as a CBOR bignum. Such an integer
 * crosses to every serializer that can carry it, exactly (JSON: a bare integer literal, msgpack:
 * int64/uint64, CBOR: an integer or a bignum), and where one receiver cannot carry it only that
 * delivery fails: never an abort of the sender, never an unanswered call, never a half-delivered
 * event.
 */

const BEYOND_64_BITS = 2n ** 70n; // 1180591620717411303424
const NEGATIVE_64_BIT = -12345678901234567890n; // beyond int64, inside CBOR's negative 64-bit form
const IN_INT64 = 2n ** 60n + 1n; // beyond 2^53, inside int64

/** Rejects with the WAMP error of a failed call, resolves with the result otherwise. */
function settle(promise: Promise<any>): Promise<{ ok: true; value: any } | { ok: false; error: any }> {
  return withTimeout(promise.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error })), 3000, 'call');
}

describe('big integers across serializers (issue 13.3, autobahn-js)', function () {
  let tr: TestRouter;
  let clients: AbClient[];
  let raws: RawClient[];

  async function connect(serializer: SerializerName, options: Record<string, unknown> = {}): Promise<AbClient> {
    const client = await connectAutobahn(tr.url, serializer, options);
    clients.push(client);
    return client;
  }

  /** A raw JSON callee that records the exact text of each INVOCATION and answers `answer`. */
  async function rawJsonCallee(procedure: string, answer: string): Promise<string[]> {
    const { client } = await RawClient.joined(tr.url, 'json');
    raws.push(client);
    client.send([64, 1, {}, procedure]);
    expect((await client.next())[0]).to.equal(65);
    const texts: string[] = [];
    client.ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      texts.push(text);
      const request = /^\[68,(\d+),/.exec(text)?.[1];
      if (request) client.sendRaw(`[70,${request},{},${answer}]`, false);
    });
    return texts;
  }

  const undeliverable = async () => (await tr.router.metrics.registry.getSingleMetricAsString('switchyard_undeliverable_messages_total'));

  beforeEach(async function () {
    clients = [];
    raws = [];
    tr = await startRouter();
  });

  afterEach(async function () {
    for (const raw of raws) raw.close();
    for (const client of clients) await client.close().catch(() => undefined);
    await tr.stop();
  });

  it('CALL: a CBOR caller\'s bignums reach a JSON callee as exact integer literals', async function () {
    const texts = await rawJsonCallee('com.big.json', '[1180591620717411303424]');
    const caller = await connect('cbor');
    const result = await settle(caller.session.call('com.big.json', [BEYOND_64_BITS, NEGATIVE_64_BIT, IN_INT64, 7]));
    expect(result.ok, JSON.stringify(result)).to.equal(true);
    const invocation = texts.find((t) => t.startsWith('[68,'))!;
    expect(invocation).to.match(/\[1180591620717411303424,-12345678901234567890,1152921504606846977,7\]\]$/);
    expect(caller.session.isOpen).to.equal(true);
  });

  it('CALL and YIELD between JSON peers: an integer beyond 2^53 passes with its exact digits (the payload is not re-encoded)', async function () {
    const texts = await rawJsonCallee('com.big.exact', '[12345678901234567891]');
    const { client: caller } = await RawClient.joined(tr.url, 'json');
    raws.push(caller);
    const results: string[] = [];
    caller.ws.on('message', (data: Buffer) => results.push(data.toString('utf8')));
    caller.sendRaw('[48,5,{},"com.big.exact",[9007199254740993],{"n":-9007199254740995}]', false);
    await waitFor(() => results.some((t) => t.startsWith('[50,5,')), { what: 'RESULT' });
    expect(texts.find((t) => t.startsWith('[68,'))).to.match(/,\[9007199254740993\],\{"n":-9007199254740995\}\]$/);
    expect(results.find((t) => t.startsWith('[50,5,'))).to.equal('[50,5,{},[12345678901234567891]]');
  });

  it('CALL: an autobahn-js JSON callee gets the integer as JSON.parse reads it (rounded to a double)', async function () {
    const callee = await connect('json');
    const caller = await connect('cbor');
    let got: unknown[] | undefined;
    await callee.session.register('com.big.ab', (args: unknown[]) => { got = args; return 'ok'; });
    const result = await settle(caller.session.call('com.big.ab', [BEYOND_64_BITS]));
    expect(result).to.deep.equal({ ok: true, value: 'ok' });
    expect(got).to.deep.equal([Number(BEYOND_64_BITS)]);
  });

  it('YIELD: a CBOR callee\'s bignum result reaches a JSON caller, and a CBOR caller exactly', async function () {
    const callee = await connect('cbor');
    await callee.session.register('com.big.result', () => new autobahn.Result([BEYOND_64_BITS, IN_INT64]));
    const jsonCaller = await connect('json');
    const cborCaller = await connect('cbor');
    const viaJson = await settle(jsonCaller.session.call('com.big.result'));
    expect(viaJson.ok, JSON.stringify(viaJson)).to.equal(true);
    expect((viaJson as any).value.args).to.deep.equal([Number(BEYOND_64_BITS), Number(IN_INT64)]);
    const viaCbor = await settle(cborCaller.session.call('com.big.result'));
    expect((viaCbor as any).value.args).to.deep.equal([BEYOND_64_BITS, IN_INT64]);
    expect(callee.session.isOpen).to.equal(true);
  });

  it('PUBLISH: subscribers on CBOR, JSON, CBOR all get the event; the publisher gets PUBLISHED', async function () {
    const serializers: SerializerName[] = ['cbor', 'json', 'cbor'];
    const received: unknown[][] = [[], [], []];
    for (const [i, serializer] of serializers.entries()) {
      const subscriber = await connect(serializer);
      await subscriber.session.subscribe('com.big.topic', (args: unknown[]) => received[i]!.push(args));
    }
    const publisher = await connect('cbor');
    const published = await settle(publisher.session.publish('com.big.topic', [BEYOND_64_BITS, IN_INT64], {}, { acknowledge: true })!);
    expect(published.ok, JSON.stringify(published)).to.equal(true);
    await waitFor(() => received.every((r) => r.length === 1), { what: 'three events' });
    expect(received[0]).to.deep.equal([[BEYOND_64_BITS, IN_INT64]]);
    expect(received[1]).to.deep.equal([[Number(BEYOND_64_BITS), Number(IN_INT64)]]);
    expect(received[2]).to.deep.equal([[BEYOND_64_BITS, IN_INT64]]);
  });

  it('msgpack carries a 64-bit integer, and a CALL with one beyond 64 bits is refused without invoking the callee', async function () {
    const callee = await connect('msgpack');
    const invoked: unknown[][] = [];
    await callee.session.register('com.big.mp', (args: unknown[]) => { invoked.push(args); return 'ok'; });
    const caller = await connect('cbor');
    // msgpack5 (autobahn-js's msgpack) reads uint64 as a double: the wire carried it exactly.
    expect(await settle(caller.session.call('com.big.mp', [IN_INT64]))).to.deep.equal({ ok: true, value: 'ok' });
    expect(invoked).to.deep.equal([[Number(IN_INT64)]]);

    const refused = await settle(caller.session.call('com.big.mp', [1, { deep: [BEYOND_64_BITS] }]));
    expect(refused.ok).to.equal(false);
    const error = (refused as { error: any }).error;
    expect(error.error).to.equal('wamp.error.invalid_argument');
    expect(String(error.args[0])).to.match(/callee cannot receive.*integer beyond 64 bits.*msgpack/);
    await sleep(50);
    expect(invoked).to.have.length(1);
    expect(caller.session.isOpen && callee.session.isOpen).to.equal(true);
    expect(await settle(caller.session.call('com.big.mp', [2]))).to.deep.equal({ ok: true, value: 'ok' });
    expect(tr.router.realms.get('realm1')!.dealer.pendingCallCount).to.equal(0);
  });

  it('a RESULT or ERROR a msgpack caller cannot carry becomes one ERROR for it; the callee stays', async function () {
    // autobahn reports a throwing endpoint to on_user_error (else console.error).
    const callee = await connect('cbor', { on_user_error: () => undefined });
    await callee.session.register('com.big.too.big', () => [BEYOND_64_BITS]);
    await callee.session.register('com.big.fails', () => { throw new autobahn.Error('com.example.oops', [BEYOND_64_BITS]); });
    const caller = await connect('msgpack');
    for (const procedure of ['com.big.too.big', 'com.big.fails']) {
      const outcome = await settle(caller.session.call(procedure));
      expect(outcome.ok).to.equal(false);
      const error = (outcome as { error: any }).error;
      expect(error.error).to.equal('wamp.error.invalid_argument');
      expect(String(error.args[0])).to.match(/cannot be delivered.*integer beyond 64 bits/);
    }
    expect(callee.session.isOpen && caller.session.isOpen).to.equal(true);
    expect(tr.router.realms.get('realm1')!.dealer.pendingCallCount).to.equal(0);
    expect(await undeliverable()).to.match(/type="RESULT"} 1/).and.to.match(/type="ERROR"} 1/);
  });

  it('PUBLISH: a msgpack subscriber that cannot carry the event is skipped, logged once, counted; the others get it', async function () {
    const serializers: SerializerName[] = ['cbor', 'msgpack', 'cbor'];
    const received: unknown[][] = [[], [], []];
    for (const [i, serializer] of serializers.entries()) {
      const subscriber = await connect(serializer);
      await subscriber.session.subscribe('com.big.skip', (args: unknown[]) => received[i]!.push(args));
    }
    const publisher = await connect('cbor');
    for (let n = 0; n < 2; n++) {
      const published = await settle(publisher.session.publish('com.big.skip', [BEYOND_64_BITS], {}, { acknowledge: true })!);
      expect(published.ok).to.equal(true);
    }
    await publisher.session.publish('com.big.skip', [1], {}, { acknowledge: true });
    await waitFor(() => received[0]!.length === 3 && received[2]!.length === 3 && received[1]!.length === 1, { what: 'events' });
    expect(received[1]).to.deep.equal([[1]]);
    expect(clients.every((c) => c.session.isOpen)).to.equal(true);
    expect(await undeliverable()).to.match(/type="EVENT"} 2/);
    expect(tr.logs.filter((l) => l.event === 'session.undeliverable')).to.have.length(1);
  });
});

import { expect } from 'chai';
import { RawClient } from '../helpers/raw-client.js';
import { FrameType, RawSocketClient } from '../helpers/rawsocket-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Reliability §2.12 items 19 and 20: a publish to thousands of subscribers is sent in chunks of
 * `fanoutChunkSize` per event-loop turn, so a CALL from another client completes before the
 * fan-out does (checked by ordering, not wall clock), and every subscriber gets the event exactly
 * once. Events from one publisher reach each subscriber in publish order.
 */

const SUBSCRIBERS = 2000;
const CHUNK = 100;
const TOPIC = 'com.example.fanout';
const PROCEDURE = 'com.example.fanout.quick';

/** A global arrival counter: every message any test client receives gets the next number. */
let arrivals = 0;
/** Called once, when the first subscriber receives the first event. */
let onFirstEvent: (() => void) | undefined;

/** Connect `n` RawSocket subscribers, `concurrency` at a time; each records when each event arrived. */
async function subscribers(port: number, n: number, concurrency = 100): Promise<{ client: RawSocketClient; events: number[] }[]> {
  const out: { client: RawSocketClient; events: number[] }[] = [];
  for (let start = 0; start < n; start += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, n - start) }, async (_, i) => {
      const { client } = await RawSocketClient.joined(port, { serializer: (start + i) % 2 === 0 ? 'msgpack' : 'json' });
      client.send([32, 1, {}, TOPIC]);
      const subscribed = await client.next(5000);
      expect(subscribed[0]).to.equal(33);
      const events: number[] = [];
      client.socket.on('data', () => {
        for (const f of client.frames.splice(0)) {
          if (f.type !== FrameType.wamp) continue;
          events.push(++arrivals);
          const first = onFirstEvent;
          onFirstEvent = undefined;
          first?.();
        }
      });
      return { client, events };
    }));
    out.push(...batch);
  }
  return out;
}

describe('robustness: fan-out fairness and ordering', function () {
  this.timeout(60000);
  let tr: TestRouter;
  const cleanup: (() => void)[] = [];

  afterEach(async () => {
    for (const fn of cleanup.splice(0)) fn();
    await tr.stop();
  });

  it(`${SUBSCRIBERS} subscribers, chunks of ${CHUNK}: a concurrent CALL completes before the last subscriber gets the event; each gets it once`, async () => {
    tr = await startRouter({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'rawsocket', host: '127.0.0.1', port: 0 }],
      limits: { fanoutChunkSize: CHUNK, maxConnectionsPerIp: SUBSCRIBERS + 100, maxConnections: SUBSCRIBERS + 100, closeHandshakeTimeoutMs: 300 },
    });
    const subs = await subscribers(tr.addresses[1]!.port, SUBSCRIBERS);
    cleanup.push(() => subs.forEach((s) => s.client.destroy()));
    const broker = tr.router.realms.get('realm1')!.broker;
    expect(broker.subscriptionCount).to.equal(1);
    expect([...broker.subscriberPairs()]).to.have.length(SUBSCRIBERS);

    // The callee answers every INVOCATION as soon as it arrives.
    const { client: callee } = await RawClient.joined(tr.url);
    cleanup.push(() => callee.close());
    callee.send([64, 1, {}, PROCEDURE]);
    expect((await callee.next())[0]).to.equal(65);
    callee.ws.on('message', () => {
      for (const m of callee.received.splice(0)) if (m[0] === 68) callee.send([70, m[1], {}, ['done']]);
    });
    const { client: caller } = await RawClient.joined(tr.url);
    cleanup.push(() => caller.close());
    const { client: publisher } = await RawClient.joined(tr.url);
    cleanup.push(() => publisher.close());

    let resultAt = 0;
    caller.ws.on('message', () => {
      for (const m of caller.received.splice(0)) if (m[0] === 50) resultAt = ++arrivals;
    });
    // The CALL is sent once the fan-out has visibly started: the first subscriber has the event.
    let callSentAt = 0;
    onFirstEvent = () => {
      callSentAt = arrivals;
      caller.send([48, 1, {}, PROCEDURE, []]);
    };
    publisher.send([16, 1, {}, TOPIC, ['big news']]);

    await waitFor(() => subs.every((s) => s.events.length >= 1) && resultAt > 0, { timeoutMs: 20000, what: 'every event and the RESULT' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lastEvent = Math.max(...subs.map((s) => s.events[0]!));
    const firstEvent = Math.min(...subs.map((s) => s.events[0]!));
    const before = subs.filter((s) => s.events[0]! < resultAt).length;
    console.log(`      CALL sent after event #${callSentAt - firstEvent + 1}; RESULT arrived after ${before} of ${SUBSCRIBERS} subscribers had the event`);
    expect(resultAt, 'the CALL completed before the fan-out did').to.be.below(lastEvent);
    expect(subs.every((s) => s.events.length === 1), 'exactly once each').to.equal(true);
    expect(broker.queuedDeliveries).to.equal(0);
  });

  it('10,000 sequenced publishes arrive strictly increasing at every subscriber (json, msgpack, cbor, RawSocket)', async () => {
    const COUNT = 10_000;
    const SMALL_TOPIC = 'com.example.fanout.small';
    tr = await startRouter({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'rawsocket', host: '127.0.0.1', port: 0 }],
      // Chunks of 2: events on TOPIC (4 subscribers) are queued, events on SMALL_TOPIC (1 subscriber)
      // could go out at once; the first subscriber has both and must still see publish order.
      limits: { rateMessagesPerSecond: 0, rateBytesPerSecond: 0, fanoutChunkSize: 2 },
    });
    const received: number[][] = [];
    const sequenceOf = (m: unknown[]) => (m[4] as number[])[0]!;
    for (const ser of ['json', 'msgpack', 'cbor'] as const) {
      const { client } = await RawClient.joined(tr.url, ser);
      cleanup.push(() => client.close());
      client.send([32, 1, {}, TOPIC]);
      expect((await client.next())[0]).to.equal(33);
      if (ser === 'json') {
        client.send([32, 2, {}, SMALL_TOPIC]);
        expect((await client.next())[0]).to.equal(33);
      }
      const seq: number[] = [];
      received.push(seq);
      client.ws.on('message', () => { for (const m of client.received.splice(0)) if (m[0] === 36) seq.push(sequenceOf(m)); });
    }
    const { client: rs } = await RawSocketClient.joined(tr.addresses[1]!.port, { serializer: 'cbor' });
    cleanup.push(() => rs.destroy());
    rs.send([32, 1, {}, TOPIC]);
    expect((await rs.next())[0]).to.equal(33);
    const rsSeq: number[] = [];
    received.push(rsSeq);
    rs.socket.on('data', () => {
      for (const f of rs.frames.splice(0)) if (f.type === FrameType.wamp) rsSeq.push(sequenceOf(rs.serializer.decode(f.payload) as unknown[]));
    });
    const { client: publisher } = await RawClient.joined(tr.url, 'msgpack');
    cleanup.push(() => publisher.close());
    // Every third publish goes to the small topic.
    const expected = (all: boolean) => Array.from({ length: COUNT }, (_, i) => i + 1).filter((i) => all || i % 3 !== 0);
    for (let i = 1; i <= COUNT; i++) publisher.send([16, i, {}, i % 3 === 0 ? SMALL_TOPIC : TOPIC, [i]]);
    const wanted = received.map((_, k) => expected(k === 0).length);
    await waitFor(() => received.every((r, k) => r.length >= wanted[k]!), { timeoutMs: 20000, what: 'every event at each subscriber' });
    for (const [k, seq] of received.entries()) {
      for (let i = 1; i < seq.length; i++) if (!(seq[i]! > seq[i - 1]!)) expect.fail(`subscriber ${k}: out of order at ${i}: ${seq[i - 1]} then ${seq[i]}`);
      expect(seq).to.deep.equal(expected(k === 0));
    }
  });
});

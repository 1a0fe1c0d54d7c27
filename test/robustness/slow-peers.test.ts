import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { livenessProbe } from '../helpers/liveness.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor } from '../helpers/wait.js';
import type { Session } from '../../router/session.js';

/**
 * Reliability §2.12 items 5 and 8: peers that stop answering pings are terminated (stale), and a
 * subscriber that stops reading is closed as a slow consumer, by the outbound byte cap or by the
 * write-stall timeout, while every other subscriber still gets every event, in order.
 */

const TOPIC = 'com.example.flow';

function sessionById(tr: TestRouter, id: number): Session {
  const session = tr.router.realms.get('realm1')!.sessions.get(id);
  if (!session) throw new Error(`no session ${id}`);
  return session;
}

/** Stop reading from the socket at the OS level (aedes' technique): the kernel buffers fill up. */
function stopReading(client: RawClient): void {
  (client.ws as any)._socket._handle.readStop();
}

async function subscribe(client: RawClient, request = 1): Promise<void> {
  client.send([32, request, {}, TOPIC]);
  expect((await client.next())[0]).to.equal(33);
}

describe('robustness: stale and slow peers', function () {
  this.timeout(20000);
  let tr: TestRouter;
  const clients: RawClient[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.ws.terminate();
    await tr.stop();
  });

  it('stale: a client with autoPong off is terminated within 2–3 ping intervals and its subscriptions are gone', async () => {
    tr = await startRouter({ limits: { pingIntervalMs: 200 } });
    const deaf = await RawClient.connect(tr.url, 'json', { autoPong: false });
    clients.push(deaf);
    deaf.send([1, 'realm1', { roles: { subscriber: {} } }]);
    expect((await deaf.next())[0]).to.equal(2);
    await subscribe(deaf);
    const { client: healthy } = await RawClient.joined(tr.url);
    clients.push(healthy);
    await subscribe(healthy);
    const broker = tr.router.realms.get('realm1')!.broker;
    expect([...broker.subscriberPairs()]).to.have.length(2);

    const started = Date.now();
    const code = await deaf.waitClosed(3000);
    const elapsed = Date.now() - started;
    expect(code).to.equal(1006); // terminated, no close handshake
    expect(elapsed).to.be.within(200, 800);
    await waitFor(() => tr.router.stats.closes['stale connection'] === 1);
    const pairs = [...broker.subscriberPairs()];
    expect(pairs, 'only the healthy subscriber is left').to.have.length(1);
    expect(pairs[0]![0].transport.info.peer).to.not.equal(undefined);
    expect(pairs[0]![0].state).to.equal('established');
    await sleep(600);
    expect(healthy.closeCode).to.equal(undefined);
    expect(tr.router.connectionCount).to.equal(1);
  });

  it('slow consumer: past maxOutboundBytesPerSession (64 KiB) it is closed and counted; a fast subscriber gets every event in order', async () => {
    tr = await startRouter({ limits: { maxOutboundBytesPerSession: 64 * 1024, rateMessagesPerSecond: 0, rateBytesPerSecond: 0 } });
    const { client: slow, welcome } = await RawClient.joined(tr.url, 'msgpack');
    clients.push(slow);
    await subscribe(slow);
    const { client: fast } = await RawClient.joined(tr.url, 'msgpack');
    clients.push(fast);
    await subscribe(fast);
    const { client: publisher } = await RawClient.joined(tr.url, 'msgpack');
    clients.push(publisher);
    const slowSession = sessionById(tr, welcome[1] as number);

    stopReading(slow);
    const payload = randomBytes(16 * 1024);
    let published = 0;
    let maxBuffered = 0;
    // One event per turn, so the router's buffer for the slow socket grows visibly before the cut
    // (outbound bytes are checked once per turn, after the turn's batched writes).
    // Bounded: 8,000 × 16 KiB = 128 MiB, far past the cap plus any loopback kernel buffers.
    while (tr.router.stats.closes['slow consumer'] === undefined && published < 8000) {
      publisher.send([16, ++published, {}, TOPIC, [published, payload]]);
      await sleep(1);
      maxBuffered = Math.max(maxBuffered, slowSession.transport.bufferedBytes());
    }
    expect(tr.router.stats.closes['slow consumer'], `closed after ${published} events`).to.equal(1);
    // The router's own buffer for the slow socket grew before the cut (the kernel's was full).
    expect(maxBuffered).to.be.above(0);
    expect(maxBuffered).to.be.at.most(64 * 1024 + 17 * 1024);
    expect(slowSession.state).to.equal('closed');

    await fast.until(() => fast.received.length >= published, 10000, `${published} events at the fast subscriber`);
    const sequence = fast.received.map((m) => (m[4] as unknown[])[0]);
    expect(sequence).to.deep.equal(Array.from({ length: published }, (_, i) => i + 1));
    expect(fast.closeCode).to.equal(undefined);
    await livenessProbe(tr.url);
  });

  it('write stall: a send buffer that does not drain for writeStallTimeoutMs closes the session as a slow consumer', async () => {
    tr = await startRouter({ limits: { writeStallTimeoutMs: 300, maxOutboundBytesPerSession: 256 * 1024 * 1024, rateMessagesPerSecond: 0, rateBytesPerSecond: 0 } });
    const { client: slow, welcome } = await RawClient.joined(tr.url, 'msgpack');
    clients.push(slow);
    await subscribe(slow);
    const { client: publisher } = await RawClient.joined(tr.url, 'msgpack');
    clients.push(publisher);
    const slowSession = sessionById(tr, welcome[1] as number);

    stopReading(slow);
    const payload = randomBytes(64 * 1024);
    let published = 0;
    // Publish until the router holds bytes for the slow socket (its kernel buffers are full), then stop.
    while (slowSession.transport.bufferedBytes() === 0 && published < 2000) {
      for (let i = 0; i < 4; i++) publisher.send([16, ++published, {}, TOPIC, [payload]]);
      await sleep(2);
    }
    expect(slowSession.transport.bufferedBytes()).to.be.above(0);
    const stalledAt = Date.now();
    await waitFor(() => tr.router.stats.closes['slow consumer'] === 1, { timeoutMs: 3000, what: 'slow consumer close' });
    const elapsed = Date.now() - stalledAt;
    // Well below the outbound cap: it is the stall that closed it, after the timeout and not long after.
    expect(slowSession.transport.bufferedBytes()).to.be.below(256 * 1024 * 1024);
    expect(elapsed).to.be.within(250, 1500);
    await livenessProbe(tr.url);
  });
});

import { expect } from 'chai';
import { livenessProbe } from '../helpers/liveness.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * Reliability §2.12 item 6: one client sends 50,000 PUBLISH as fast as it can. The router reads it
 * at the configured rate (pausing the socket, so TCP pushes back), other sessions' CALLs keep
 * succeeding (latency reported, not asserted), and with a short rateLimitCloseAfterMs the flooder
 * is closed as rate limited.
 */

const FLOOD = 50_000;
const RATE = 1000;
const TOPIC = 'com.example.flood';
const PROCEDURE = 'com.example.flood.echo';

/** A callee that answers every INVOCATION at once. */
async function startEchoCallee(url: string): Promise<RawClient> {
  const { client } = await RawClient.joined(url);
  client.send([64, 1, {}, PROCEDURE]);
  expect((await client.next())[0]).to.equal(65);
  client.ws.on('message', () => {
    for (const message of client.received.splice(0)) {
      if (message[0] === 68) client.send([70, message[1], {}, message[4] ?? []]);
    }
  });
  return client;
}

/** CALLs one after another until `stop()`; collects each latency. */
function callLoop(caller: RawClient): { stop(): Promise<{ latencies: number[]; failures: number }> } {
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  let request = 0;
  const loop = (async () => {
    while (running) {
      const started = process.hrtime.bigint();
      caller.send([48, ++request, {}, PROCEDURE, [request]]);
      const reply = await caller.next(5000).catch(() => undefined);
      if (reply?.[0] === 50 && reply[1] === request) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      else failures++;
      await sleep(20);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { latencies, failures };
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

describe('robustness: publisher flood', function () {
  this.timeout(30000);
  let tr: TestRouter;
  const clients: RawClient[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.ws.terminate();
    await tr.stop();
  });

  it(`${FLOOD} PUBLISH as fast as possible at ${RATE}/s: the router throttles and other sessions' calls succeed`, async () => {
    tr = await startRouter({ limits: { rateMessagesPerSecond: RATE, rateBurst: 100, rateLimitCloseAfterMs: 600_000, closeHandshakeTimeoutMs: 300 } });
    const { client: subscriber } = await RawClient.joined(tr.url);
    clients.push(subscriber);
    subscriber.send([32, 1, {}, TOPIC]);
    expect((await subscriber.next())[0]).to.equal(33);
    let events = 0;
    subscriber.ws.on('message', () => { events += subscriber.received.splice(0).filter((m) => m[0] === 36).length; });
    clients.push(await startEchoCallee(tr.url));
    const { client: caller } = await RawClient.joined(tr.url);
    clients.push(caller);
    const { client: flooder } = await RawClient.joined(tr.url);
    clients.push(flooder);

    const started = Date.now();
    for (let i = 1; i <= FLOOD; i++) flooder.send([16, i, {}, TOPIC, [i]]);
    const queuedAt = Date.now();
    // Calls start once the client has queued the flood (that loop blocks this process, not the router).
    const calls = callLoop(caller);
    const WINDOW_MS = 2000;
    await sleep(WINDOW_MS - (queuedAt - started));
    const elapsed = (Date.now() - started) / 1000;
    const delivered = events;
    const { latencies, failures } = await calls.stop();
    const achieved = delivered / elapsed;

    console.log(`      flood: ${FLOOD} PUBLISH queued by the client in ${queuedAt - started} ms; the router routed ${delivered} in ${elapsed.toFixed(2)} s = ${achieved.toFixed(0)} msg/s (limit ${RATE}/s, burst 100); flooder still open: ${flooder.closeCode === undefined}`);
    console.log(`      concurrent CALLs: ${latencies.length} ok, ${failures} failed; latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);

    // Throttled: about the configured rate, nowhere near what the client offered.
    expect(achieved).to.be.below(RATE * 1.3 + 100 / elapsed);
    expect(achieved).to.be.above(RATE * 0.5);
    expect(delivered).to.be.below(FLOOD / 10);
    // Throttled, not dropped: the flooder's session is still up, and the other sessions' calls all worked.
    expect(flooder.closeCode).to.equal(undefined);
    expect(failures).to.equal(0);
    expect(latencies.length).to.be.above(10);
    // While the flood is still being read at its rate, a fresh client joins and calls.
    await livenessProbe(tr.url);
    expect(flooder.closeCode).to.equal(undefined);
  });

  it('a session that stays over its rate for rateLimitCloseAfterMs is closed as rate limited', async () => {
    tr = await startRouter({ limits: { rateMessagesPerSecond: RATE, rateBurst: 100, rateLimitCloseAfterMs: 300, closeHandshakeTimeoutMs: 300 } });
    const { client: caller } = await RawClient.joined(tr.url);
    clients.push(caller);
    clients.push(await startEchoCallee(tr.url));
    const { client: flooder } = await RawClient.joined(tr.url);
    clients.push(flooder);
    for (let i = 1; i <= FLOOD; i++) flooder.send([16, i, {}, TOPIC, [i]]);
    const started = Date.now();
    const calls = callLoop(caller);
    const code = await flooder.waitClosed(5000);
    const closedAfter = Date.now() - started;
    const { latencies, failures } = await calls.stop();
    console.log(`      flooder closed after ${closedAfter} ms with ${code}; concurrent CALLs: ${latencies.length} ok, ${failures} failed, p50 ${percentile(latencies, 50).toFixed(1)} ms`);
    expect(code).to.equal(1008);
    const abort = flooder.received.find((m) => m[0] === 3);
    expect(abort?.[2]).to.equal('switchyard.error.rate_limited');
    await waitFor(() => tr.router.stats.closes['rate limited'] === 1);
    expect(failures).to.equal(0);
    await livenessProbe(tr.url);
  });
});

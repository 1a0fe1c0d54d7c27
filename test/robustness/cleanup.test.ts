import { expect } from 'chai';
import { livenessProbe } from '../helpers/liveness.js';
import { RawClient } from '../helpers/raw-client.js';
import { RawSocketClient } from '../helpers/rawsocket-client.js';
import { joinedSessions, startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor } from '../helpers/wait.js';
import type { SerializerName } from '../../router/serializer/serializer.js';

/**
 * Reliability §2.12 item 17 at scale: 5,000 connect / subscribe / register / call / disconnect
 * cycles over WebSocket and RawSocket, a fifth of them dropping mid-call (as caller and callee of
 * the same call, or as the caller of a callee that never answers), the rest leaving by GOODBYE, by
 * closing, or right after YIELD. Afterwards every realm map is empty and the process's active
 * handles and timers are back at the baseline taken before the first cycle.
 */

const CYCLES = 5000;
const CONCURRENCY = 25;
const SHARED_TOPIC = 'com.example.cleanup.topic';
const STUCK = 'com.example.cleanup.stuck';
const ROLES = { publisher: {}, subscriber: {}, caller: {}, callee: { features: { call_canceling: true } } };

/** One connection of either transport with the small surface a cycle needs. */
interface CycleClient {
  send(message: unknown[]): void;
  next(): Promise<unknown[]>;
  drop(): void;
  close(): Promise<void>;
}

async function connect(tr: TestRouter, i: number): Promise<CycleClient> {
  const ser: SerializerName = (['json', 'msgpack', 'cbor'] as const)[i % 3]!;
  if (i % 2 === 0) {
    const client = await RawClient.connect(tr.url, ser);
    return {
      send: (m) => client.send(m),
      next: () => client.next(3000),
      drop: () => client.ws.terminate(),
      close: async () => { client.close(); await client.waitClosed(3000); },
    };
  }
  const client = await RawSocketClient.connect(tr.addresses[1]!.port, { serializer: ser });
  return {
    send: (m) => client.send(m),
    next: () => client.next(3000),
    drop: () => client.destroy(),
    close: async () => { client.close(); await client.waitClosed(3000); },
  };
}

async function expectType(client: CycleClient, type: number): Promise<unknown[]> {
  const message = await client.next();
  if (message[0] !== type) throw new Error(`expected ${type}, got ${JSON.stringify(message)}`);
  return message;
}

async function cycle(tr: TestRouter, i: number): Promise<void> {
  const client = await connect(tr, i);
  client.send([1, 'realm1', { roles: ROLES }]);
  await expectType(client, 2);
  const procedure = `com.example.cleanup.p${i}`;
  client.send([32, 1, {}, SHARED_TOPIC]);
  await expectType(client, 33);
  client.send([32, 2, { match: 'prefix' }, `com.example.cleanup.own${i}`]);
  await expectType(client, 33);
  client.send([64, 3, {}, procedure]);
  await expectType(client, 65);
  client.send([16, 4, {}, `com.example.cleanup.own${i}.x`, [i]]);
  const mode = i % 5;
  if (mode === 1) {
    // Caller of a callee that never answers: drop with the call pending.
    client.send([48, 5, {}, STUCK, [i]]);
    await sleep(1);
    client.drop();
    return;
  }
  client.send([48, 5, {}, procedure, [i]]);
  const invocation = await expectType(client, 68);
  if (mode === 0) {
    // Caller and callee of the same call: drop mid-call.
    client.drop();
    return;
  }
  client.send([70, invocation[1], {}, [i]]);
  if (mode === 4) {
    client.drop(); // the RESULT is still in flight
    return;
  }
  await expectType(client, 50);
  if (mode === 2) {
    client.send([6, {}, 'wamp.close.close_realm']);
    await expectType(client, 6);
  }
  await client.close();
}

/** Active resources by type (TCPWRAP, Timeout, …), for comparison with a baseline. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

describe('robustness: cleanup after many sessions', function () {
  this.timeout(120000);
  let tr: TestRouter;

  afterEach(async () => {
    await tr?.stop();
  });

  it(`${CYCLES} connect/subscribe/register/call/disconnect cycles leave nothing behind`, async () => {
    tr = await startRouter({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'rawsocket', host: '127.0.0.1', port: 0 }],
      limits: { rateMessagesPerSecond: 0, rateBytesPerSecond: 0, closeHandshakeTimeoutMs: 200, maxConnectionsPerIp: 1000 },
    });
    const realm = tr.router.realms.get('realm1')!;
    // Warm up whatever is created lazily, then take the baseline.
    await livenessProbe(tr.url);
    await waitFor(() => tr.router.connectionCount === 0);
    await sleep(300);
    const baseline = resources();
    console.log(`      baseline resources: ${JSON.stringify(baseline)}`);

    // A callee that never answers (and announced call_canceling, so it gets INTERRUPTs).
    const { client: stuck } = await RawClient.joined(tr.url, 'json', 'realm1', ROLES);
    stuck.send([64, 1, {}, STUCK]);
    expect((await stuck.next())[0]).to.equal(65);
    let invocations = 0;
    let interrupts = 0;
    stuck.ws.on('message', () => {
      for (const m of stuck.received.splice(0)) {
        if (m[0] === 68) invocations++;
        if (m[0] === 69) interrupts++;
      }
    });

    const started = Date.now();
    let next = 0;
    const failures: string[] = [];
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < CYCLES) {
        const i = next++;
        await cycle(tr, i).catch((error: Error) => { failures.push(`cycle ${i}: ${error.message}`); });
      }
    }));
    const elapsed = Date.now() - started;
    console.log(`      ${CYCLES} cycles in ${elapsed} ms (${Math.round((CYCLES / elapsed) * 1000)}/s); stuck callee: ${invocations} invocations, ${interrupts} interrupts`);
    expect(failures.slice(0, 5), `${failures.length} cycles failed`).to.deep.equal([]);

    await waitFor(() => tr.router.connectionCount === 1, { timeoutMs: 5000, what: 'only the stuck callee left' });
    expect(interrupts).to.equal(invocations);
    expect(realm.dealer.pendingCallCount, 'pending calls').to.equal(0);
    expect(realm.dealer.registrationCount, 'registrations (the stuck callee only)').to.equal(1);
    expect(realm.broker.subscriptionCount, 'subscriptions').to.equal(0);
    expect(realm.sessions.size).to.equal(1);

    stuck.close();
    await stuck.waitClosed();
    await waitFor(() => tr.router.connectionCount === 0, { timeoutMs: 3000 });
    expect(realm.dealer.registrationCount, 'registrations').to.equal(0);
    expect(realm.dealer.pendingCallCount).to.equal(0);
    expect(realm.broker.subscriptionCount).to.equal(0);
    expect(realm.broker.queuedDeliveries).to.equal(0);
    expect(realm.sessions.size).to.equal(0);
    expect(joinedSessions(tr.router)).to.equal(0);

    // Handles and timers: back to the baseline (close timers are bounded by closeHandshakeTimeoutMs).
    let now = resources();
    const same = () => JSON.stringify(Object.entries(now).sort()) === JSON.stringify(Object.entries(baseline).sort());
    await waitFor(() => { now = resources(); return same(); }, { timeoutMs: 3000, intervalMs: 50, what: 'active resources back to baseline' })
      .catch(() => undefined);
    expect(now, 'process.getActiveResourcesInfo() by type').to.deep.equal(baseline);
  });
});

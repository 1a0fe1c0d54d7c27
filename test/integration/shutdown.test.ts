// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, SERIALIZER_NAMES, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import WebSocket from 'ws';
import { joinedSessions, startRouter, type TestRouter } from '../helpers/router.js';
import { withTimeout } from '../helpers/wait.js';

/**
 * Graceful shutdown (wamp-spec §2.5): `router.close()` sends GOODBYE `wamp.close.system_shutdown`
 * to every session, the clients answer, every connection ends, and the listener is gone.
 */

const CLIENTS = 5;

/** Resolves with the outcome of a raw WebSocket connection attempt; never hangs (bounded). */
function tryRawConnect(url: string): Promise<'open' | 'failed'> {
  return withTimeout(new Promise<'open' | 'failed'>((resolve) => {
    const ws = new WebSocket(url, ['wamp.2.json']);
    ws.once('open', () => { ws.terminate(); resolve('open'); });
    ws.once('error', () => resolve('failed'));
    ws.once('unexpected-response', () => { ws.terminate(); resolve('failed'); });
  }), 3000, 'raw connect attempt');
}

describe('router shutdown with autobahn-js clients', function () {
  let tr: TestRouter;
  let clients: AbClient[];

  beforeEach(async function () {
    clients = [];
    tr = await startRouter();
  });

  afterEach(async function () {
    for (const client of clients) await client.close().catch(() => undefined);
    await tr.stop();
    expect(tr.router.connectionCount).to.equal(0);
  });

  it(`router.close() ends ${CLIENTS} sessions with wamp.close.system_shutdown and stops accepting`, async function () {
    for (let i = 0; i < CLIENTS; i++) {
      clients.push(await connectAutobahn(tr.url, SERIALIZER_NAMES[i % SERIALIZER_NAMES.length]!));
    }
    // Give some of them state the shutdown must clean up.
    await clients[0]!.session.register('com.example.proc', () => 1);
    await clients[1]!.session.subscribe('com.example.topic', () => undefined);
    expect(joinedSessions(tr.router)).to.equal(CLIENTS);
    expect(tr.router.connectionCount).to.equal(CLIENTS);

    const rawCloses: { reason: string; details: any }[] = [];
    for (const client of clients) {
      const previous = client.connection.onclose;
      client.connection.onclose = (reason: string, details: any) => {
        rawCloses.push({ reason, details });
        return previous(reason, details);
      };
    }

    const started = Date.now();
    await withTimeout(tr.router.close(), 8000, 'router.close()');
    const elapsed = Date.now() - started;
    const closes = await withTimeout(Promise.all(clients.map((c) => c.closed)), 3000, 'client close callbacks');

    for (const close of closes) {
      expect(close.reason).to.equal('wamp.close.system_shutdown');
      expect(close.details.reason).to.equal('wamp.close.system_shutdown');
      expect(close.details.will_retry).to.equal(false);
    }
    expect(rawCloses).to.have.length(CLIENTS);
    for (const { reason, details } of rawCloses) {
      // autobahn-js answers GOODBYE through its async send and closes the WebSocket synchronously
      // (without a status code) in the same tick, so its reply never leaves and the router echoes a
      // code-less close: autobahn then labels the close 'lost' (it calls only code 1000 clean).
      // Either label is fine; 'unreachable' would mean it never had a session.
      expect(reason).to.be.oneOf(['closed', 'lost']);
      expect(details.reason).to.equal('wamp.close.system_shutdown');
      expect(details.message).to.be.a('string');
    }
    // Every client answered GOODBYE, so close() must not have waited for the handshake timeout.
    expect(elapsed, 'ms for router.close()').to.be.below(tr.config.limits.closeHandshakeTimeoutMs);
    expect(tr.router.connectionCount).to.equal(0);
    expect(joinedSessions(tr.router)).to.equal(0);
    const realm = tr.router.realms.get('realm1')!;
    expect(realm.dealer.registrationCount).to.equal(0);
    expect(realm.broker.subscriptionCount).to.equal(0);
    expect(tr.logs.filter((l) => l.event === 'router.stopped').map((l) => l.reason)).to.deep.equal(['wamp.close.system_shutdown']);
    expect(tr.logs.filter((l) => l.event === 'session.left' && l.reason === 'wamp.close.system_shutdown')).to.have.length(CLIENTS);

    // New connections are refused: both a WAMP client and a bare WebSocket.
    let joinError: unknown;
    try {
      const late = await connectAutobahn(tr.url, 'json');
      clients.push(late);
    } catch (error) {
      joinError = error;
    }
    expect(joinError, 'a new autobahn connection must fail').to.be.instanceOf(Error);
    expect(await tryRawConnect(tr.url)).to.equal('failed');
    expect(tr.router.connectionCount).to.equal(0);
  });

  it('router.close() is idempotent and a second call resolves too', async function () {
    clients.push(await connectAutobahn(tr.url, 'json'));
    const first = tr.router.close();
    const second = tr.router.close();
    await withTimeout(Promise.all([first, second]), 8000, 'router.close() twice');
    const close = await withTimeout(clients[0]!.closed, 3000, 'client close');
    expect(close.reason).to.equal('wamp.close.system_shutdown');
    expect(tr.router.connectionCount).to.equal(0);
  });
});

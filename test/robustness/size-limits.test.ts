import { expect } from 'chai';
import { livenessProbe } from '../helpers/liveness.js';
import { DEFAULT_ROLES, RawClient } from '../helpers/raw-client.js';
import { frame, FrameType, RawSocketClient } from '../helpers/rawsocket-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * Reliability §2.12 items 1 and 2: the message size cap (close 1009 on WebSocket, a disconnect on
 * RawSocket; nothing partial is routed; the router keeps serving) and the 64 KiB cap before
 * WELCOME, which applies whatever the post-auth limit is.
 */

const LIMIT = 8192;
const TOPIC = 'com.example.size';

/** A JSON message of exactly `size` octets: `build` gets a padding string to make it so. */
function exactly(size: number, build: (pad: string) => unknown[]): unknown[] {
  const base = Buffer.byteLength(JSON.stringify(build('')));
  const message = build('a'.repeat(size - base));
  expect(Buffer.byteLength(JSON.stringify(message))).to.equal(size);
  return message;
}

const publishOf = (size: number, request: number) => exactly(size, (pad) => [16, request, { acknowledge: true }, TOPIC, [pad]]);
const helloOf = (size: number) => exactly(size, (pad) => [1, 'realm1', { roles: DEFAULT_ROLES, agent: pad }]);

describe('robustness: message size limits', function () {
  this.timeout(15000);
  let tr: TestRouter;
  const clients: { close(): void }[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await tr.stop();
  });

  describe(`maxMessageBytes = ${LIMIT}`, () => {
    beforeEach(async () => {
      tr = await startRouter({
        listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'rawsocket', host: '127.0.0.1', port: 0 }],
        limits: { maxMessageBytes: LIMIT, closeHandshakeTimeoutMs: 500 },
      });
    });

    it('WebSocket: a message of exactly the limit is routed; limit + 1 closes with 1009 and is not routed', async () => {
      const { client: subscriber } = await RawClient.joined(tr.url);
      clients.push(subscriber);
      subscriber.send([32, 1, {}, TOPIC]);
      expect((await subscriber.next())[0]).to.equal(33);
      const { client } = await RawClient.joined(tr.url);
      clients.push(client);

      client.send(publishOf(LIMIT, 1));
      expect((await client.next())[0]).to.equal(17);
      expect((await subscriber.next())[0]).to.equal(36);

      client.send(publishOf(LIMIT + 1, 2));
      expect(await client.waitClosed()).to.equal(1009);
      await sleep(100);
      expect(subscriber.received, 'nothing of the oversized message was routed').to.deep.equal([]);
      expect(subscriber.closeCode).to.equal(undefined);
      await waitFor(() => tr.router.connectionCount === 1);
      await livenessProbe(tr.url);
    });

    it('RawSocket: limit + 1 disconnects; exactly the limit is routed', async () => {
      const { client } = await RawSocketClient.joined(tr.addresses[1]!.port);
      clients.push({ close: () => client.destroy() });
      client.send(publishOf(LIMIT, 1));
      expect((await client.next())[0]).to.equal(17);
      client.write(frame(FrameType.wamp, JSON.stringify(publishOf(LIMIT + 1, 2))));
      await client.waitClosed();
      expect(client.frames).to.deep.equal([]);
      await waitFor(() => tr.router.stats.closes['message too large'] === 1);
      await livenessProbe(tr.url);
    });
  });

  describe('before WELCOME: 64 KiB (preAuthMaxMessageBytes), whatever maxMessageBytes is', () => {
    beforeEach(async () => {
      tr = await startRouter({
        listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'rawsocket', host: '127.0.0.1', port: 0 }],
        limits: { closeHandshakeTimeoutMs: 500 },
      });
      expect(tr.config.limits.preAuthMaxMessageBytes).to.equal(64 * 1024);
      expect(tr.config.limits.maxMessageBytes).to.equal(1024 * 1024);
    });

    it('a HELLO of exactly 64 KiB is welcome; 64 KiB + 1 gets ABORT and close 1009', async () => {
      const ok = await RawClient.connect(tr.url);
      clients.push(ok);
      ok.send(helloOf(64 * 1024));
      expect((await ok.next())[0]).to.equal(2);

      const big = await RawClient.connect(tr.url);
      clients.push(big);
      big.send(helloOf(64 * 1024 + 1));
      const abort = await big.next();
      expect(abort[0]).to.equal(3);
      expect(abort[2]).to.equal('wamp.error.protocol_violation');
      expect(await big.waitClosed()).to.equal(1009);
    });

    it('a 1 MB HELLO (under maxMessageBytes) is refused too, and after WELCOME 64 KiB + 1 is fine', async () => {
      const huge = await RawClient.connect(tr.url);
      clients.push(huge);
      huge.send(helloOf(1_000_000));
      expect((await huge.next())[0]).to.equal(3);
      expect(await huge.waitClosed()).to.equal(1009);

      const { client } = await RawClient.joined(tr.url);
      clients.push(client);
      client.send(publishOf(64 * 1024 + 1, 1));
      expect((await client.next())[0]).to.equal(17);
      await livenessProbe(tr.url);
    });

    it('RawSocket: the same cap before WELCOME', async () => {
      const client = await RawSocketClient.connect(tr.addresses[1]!.port);
      clients.push({ close: () => client.destroy() });
      client.send(helloOf(64 * 1024 + 1));
      const abort = await client.next();
      expect(abort[0]).to.equal(3);
      expect(abort[2]).to.equal('wamp.error.protocol_violation');
      await client.waitClosed();
      expect(tr.router.connectionCount).to.equal(0);
    });
  });
});

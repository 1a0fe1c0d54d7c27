// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { lengthExponentFor } from '../../router/transport/rawsocket.js';
import { livenessProbe } from '../helpers/liveness.js';
import { RawClient } from '../helpers/raw-client.js';
import { frame, FrameType, handshakeBytes, RawSocketClient } from '../helpers/rawsocket-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

/**
 * RawSocket (wamp-spec §11.3) on the wire: the handshake and its error codes, framing, PING/PONG,
 * the size limits in both directions, liveness, the connection caps (error 4) and interop with
 * autobahn-js both as a WebSocket peer and over its own RawSocket transport.
 */

const ROLES = { publisher: {}, subscriber: {}, caller: {}, callee: {} };
const MiB = 1024 * 1024;

let tr: TestRouter;
let rsPort: number;
let wsUrl: string;
const cleanup: (() => unknown)[] = [];

async function start(limits: Record<string, unknown> = {}, raw: Record<string, unknown> = {}): Promise<void> {
  tr = await startRouter({
    listeners: [
      { type: 'websocket', host: '127.0.0.1', port: 0 },
      { type: 'rawsocket', host: '127.0.0.1', port: 0, ...raw },
    ],
    limits: { closeHandshakeTimeoutMs: 500, ...limits },
  });
  wsUrl = tr.url;
  rsPort = tr.addresses[1]!.port;
}

async function open(options: Parameters<typeof RawSocketClient.open>[1] = {}): Promise<RawSocketClient> {
  const client = await RawSocketClient.open(rsPort, options);
  cleanup.push(() => client.destroy());
  return client;
}

async function joined(options: Parameters<typeof RawSocketClient.open>[1] = {}): Promise<RawSocketClient> {
  const { client } = await RawSocketClient.joined(rsPort, options);
  cleanup.push(() => client.destroy());
  return client;
}

/** The handshake is refused with `code`, then the router closes the connection. */
async function expectRefused(client: RawSocketClient, code: number): Promise<void> {
  const reply = await client.handshakeReply();
  expect(reply?.toString('hex'), 'handshake reply').to.equal(Buffer.from([0x7f, code << 4, 0, 0]).toString('hex'));
  await client.waitClosed();
}

/** Register `procedure` on `client` and answer every invocation with args[0] + args[1]. */
async function registerAdder(client: RawSocketClient, procedure: string, request: number): Promise<void> {
  client.send([64, request, {}, procedure]);
  expect((await client.next())[0]).to.equal(65);
}

describe('RawSocket listener (wamp-spec §11.3)', function () {
  this.timeout(15000);

  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
    await tr.stop();
  });

  describe('handshake', () => {
    for (const [serializer, id] of [['json', 1], ['msgpack', 2], ['cbor', 3]] as const) {
      it(`${serializer}: the serializer is echoed with our length exponent, then HELLO → WELCOME and a call`, async () => {
        await start();
        const client = await open({ serializer });
        const reply = await client.handshakeReply();
        // maxMessageBytes 1 MiB = 2^20 → LLLL = 11.
        expect(reply?.toString('hex')).to.equal(Buffer.from([0x7f, (11 << 4) | id, 0, 0]).toString('hex'));
        client.send([1, 'realm1', { roles: ROLES }]);
        const welcome = await client.next();
        expect(welcome[0]).to.equal(2);
        await registerAdder(client, 'com.example.echo', 1);
        client.send([48, 2, {}, 'com.example.echo', [1, 'two', { three: 3 }]]);
        const invocation = await client.next();
        expect(invocation[0]).to.equal(68);
        expect(invocation[3]).to.deep.equal({});
        client.send([70, invocation[1], {}, invocation[4]]);
        const result = await client.next();
        expect(result).to.deep.equal([50, 2, {}, [1, 'two', { three: 3 }]]);
        expect(tr.router.connectionCount).to.equal(1);
      });
    }

    it('announces the largest 2^(9+L) not above maxMessageBytes', async () => {
      expect(lengthExponentFor(1 * MiB)).to.equal(11);
      expect(lengthExponentFor(64 * MiB)).to.equal(15);
      expect(lengthExponentFor(1024)).to.equal(1);
      expect(lengthExponentFor(1000)).to.equal(0);
      await start({ maxMessageBytes: 4096 });
      const client = await open({ serializer: 'msgpack' });
      expect((await client.handshakeReply())?.toString('hex')).to.equal('7f320000');
    });

    it('accepts the smallest client maximum (L = 0, 512 octets): there is no error 2', async () => {
      await start();
      const client = await open({ lengthExponent: 0 });
      expect((await client.handshakeReply())?.toString('hex')).to.equal('7fb10000');
    });

    for (const [name, id] of [['illegal serializer 0', 0], ['UBJSON (4)', 4], ['reserved serializer 15', 15]] as const) {
      it(`${name} gets error 1 (serializer unsupported) and the connection is closed`, async () => {
        await start();
        await expectRefused(await open({ handshake: handshakeBytes(id) }), 1);
        expect(tr.router.connectionCount).to.equal(0);
      });
    }

    it('a serializer the listener does not serve gets error 1', async () => {
      await start({}, { serializers: ['json'] });
      await expectRefused(await open({ serializer: 'msgpack' }), 1);
      const json = await open({ serializer: 'json' });
      expect((await json.handshakeReply())?.[1]! & 0x0f).to.equal(1);
    });

    for (const bytes of ['7ff10001', '7ff18000', '7ff1ff00']) {
      it(`reserved octets set (${bytes}) get error 3`, async () => {
        await start();
        await expectRefused(await open({ handshake: Buffer.from(bytes, 'hex') }), 3);
      });
    }

    it('a first octet other than 0x7F is dropped without a reply (an HTTP request here)', async () => {
      await start();
      const client = await open({ handshake: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n') });
      await client.waitClosed();
      expect(client.reply).to.equal(undefined);
      expect(tr.router.connectionCount).to.equal(0);
      await livenessProbe(wsUrl);
    });

    it('a connection that never completes the handshake is dropped after upgradeTimeoutMs', async () => {
      await start({ helloTimeoutMs: 200, upgradeTimeoutMs: 200 });
      const silent = await open({ handshake: Buffer.alloc(0) });
      const partial = await open({ handshake: Buffer.from([0x7f, 0xf1]) });
      const started = Date.now();
      await Promise.all([silent.waitClosed(2000), partial.waitClosed(2000)]);
      expect(Date.now() - started).to.be.below(1500);
      expect(silent.reply).to.equal(undefined);
      // After the handshake the session's own HELLO timeout applies.
      const noHello = await RawSocketClient.connect(rsPort);
      cleanup.push(() => noHello.destroy());
      const abort = await noHello.next(2000);
      expect(abort[0]).to.equal(3);
      await noHello.waitClosed();
      await waitFor(() => tr.router.stats.closes['protocol violation: hello timeout'] === 1);
    });

    for (const [cap, limits] of [
      ['maxConnections', { maxConnections: 2 }],
      ['maxConnectionsPerIp', { maxConnectionsPerIp: 2 }],
      ['maxUnauthenticatedConnections', { maxUnauthenticatedConnections: 2 }],
    ] as const) {
      it(`${cap} reached: the next handshake gets error 4 and the others keep working`, async () => {
        await start(limits);
        const first = await open();
        const second = await open();
        await first.handshakeReply();
        await second.handshakeReply();
        await waitFor(() => tr.router.connectionCount === 2);
        await expectRefused(await open(), 4);
        for (const [i, client] of [first, second].entries()) {
          client.send([1, 'realm1', { roles: ROLES }]);
          expect((await client.next())[0]).to.equal(2);
          await registerAdder(client, `com.example.cap${i}`, 1);
        }
        if (cap === 'maxUnauthenticatedConnections') {
          // Both joined: the cap on unauthenticated connections has room again.
          const third = await open();
          expect((await third.handshakeReply())?.[1]! & 0x0f).to.equal(1);
        }
      });
    }

    it('trustProxy: a PROXY protocol v1 line gives the client address (per-IP cap); without one the connection is dropped', async () => {
      await start({ maxConnectionsPerIp: 2 }, { trustProxy: true });
      const via = (line: string, serializer: 'json' | 'msgpack' = 'json') => open({ handshake: Buffer.concat([Buffer.from(line), handshakeBytes(serializer === 'json' ? 1 : 2)]) });
      const a = await via('PROXY TCP4 10.0.0.1 127.0.0.1 50000 8080\r\n');
      const b = await via('PROXY TCP4 10.0.0.1 127.0.0.1 50001 8080\r\n', 'msgpack');
      expect((await a.handshakeReply())?.[1]! & 0x0f).to.equal(1);
      expect((await b.handshakeReply())?.[1]! & 0x0f).to.equal(2);
      await expectRefused(await via('PROXY TCP4 10.0.0.1 127.0.0.1 50002 8080\r\n'), 4);
      const other = await via('PROXY TCP6 2001:db8::7 ::1 50003 8080\r\n');
      expect((await other.handshakeReply())?.[1]! & 0x0f).to.equal(1);
      other.send([1, 'realm1', { roles: ROLES }]);
      expect((await other.next())[0]).to.equal(2);
      const peers = [...tr.router.realms.get('realm1')!.sessions.values()].map((s) => s.transport.info.peer);
      expect(peers).to.deep.equal(['2001:db8::7:50003']);
      for (const bad of ['', 'PROXY TCP4 10.0.0.300 127.0.0.1 1 2\r\n', 'PROXY TCP4 ::1 127.0.0.1 1 2\r\n', 'GET / HTTP/1.1\r\n', `PROXY ${'x'.repeat(120)}`]) {
        const client = await via(bad);
        await client.waitClosed();
        expect(client.reply, JSON.stringify(bad)).to.equal(undefined);
      }
    });
  });

  describe('framing', () => {
    it('a frame split across many TCP writes (one octet each) is reassembled', async () => {
      await start();
      const client = await open();
      await client.handshakeReply();
      const hello = frame(FrameType.wamp, JSON.stringify([1, 'realm1', { roles: ROLES }]));
      for (const byte of hello) {
        client.write(Buffer.from([byte]));
        await sleep(1);
      }
      expect((await client.next())[0]).to.equal(2);
    });

    it('the handshake and several frames in one write are each handled, in order', async () => {
      await start();
      const client = await open({ handshake: Buffer.concat([
        handshakeBytes(1),
        frame(FrameType.wamp, JSON.stringify([1, 'realm1', { roles: ROLES }])),
        frame(FrameType.wamp, JSON.stringify([32, 1, {}, 'com.example.t'])),
        frame(FrameType.ping, 'in between'),
        frame(FrameType.wamp, JSON.stringify([16, 2, { acknowledge: true, exclude_me: false }, 'com.example.t', ['x']])),
      ]) });
      expect((await client.next())[0]).to.equal(2);
      expect((await client.next())[0]).to.equal(33);
      const event = await client.next();
      expect(event[0]).to.equal(36);
      expect(event[4]).to.deep.equal(['x']);
      expect((await client.next())[0]).to.equal(17);
      expect((await client.nextFrame(FrameType.pong)).payload.toString()).to.equal('in between');
    });

    it('PING is answered with exactly one PONG echoing the payload, before and after HELLO', async () => {
      await start();
      const client = await open({ serializer: 'msgpack' });
      await client.handshakeReply();
      const binary = randomBytes(3000);
      client.write(frame(FrameType.ping, binary));
      expect((await client.nextFrame(FrameType.pong)).payload.equals(binary)).to.equal(true);
      client.send([1, 'realm1', { roles: ROLES }]);
      expect((await client.next())[0]).to.equal(2);
      client.write(frame(FrameType.ping, ''));
      expect((await client.nextFrame(FrameType.pong)).payload.length).to.equal(0);
      await sleep(50);
      expect(client.frames.filter((f) => f.type === FrameType.pong)).to.have.length(0);
    });

    it('a frame above our maximum closes the connection; a frame of exactly the maximum is routed', async () => {
      await start({ maxMessageBytes: 4096 });
      const client = await joined();
      // A PUBLISH of exactly 4096 octets.
      const base = JSON.stringify([16, 1, { acknowledge: true }, 'com.example.big', ['']]);
      const exact = JSON.stringify([16, 1, { acknowledge: true }, 'com.example.big', ['a'.repeat(4096 - base.length)]]);
      expect(Buffer.byteLength(exact)).to.equal(4096);
      client.write(frame(FrameType.wamp, exact));
      expect((await client.next())[0]).to.equal(17);
      // One octet more: only the header is needed for the router to refuse it.
      client.write(Buffer.from([0, 0, 0x10, 0x01]));
      await client.waitClosed();
      await waitFor(() => tr.router.stats.closes['message too large'] === 1);
      await livenessProbe(wsUrl);
    });

    for (const [name, header] of [
      ['reserved bits in the frame header', [0x10, 0, 0, 2]],
      ['frame type 3', [0x03, 0, 0, 2]],
      ['frame type 7', [0x07, 0, 0, 2]],
      ['the 25th length bit with a non-zero length', [0x08, 0, 0, 2]],
    ] as const) {
      it(`${name} fails the connection`, async () => {
        await start();
        const client = await joined();
        client.write(Buffer.from([...header, 0x5b, 0x5d]));
        await client.waitClosed();
        await waitFor(() => tr.router.connectionCount === 0);
      });
    }

    it('invalid UTF-8 on the JSON serializer fails the connection', async () => {
      await start();
      const client = await joined();
      client.write(frame(FrameType.wamp, Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d])));
      await client.waitClosed();
    });

    it('an outbound message above what the client announced closes that session instead of being sent', async () => {
      await start();
      // L = 1: the client accepts at most 1024 octets (enough for WELCOME with every feature).
      const small = await joined({ lengthExponent: 1 });
      small.send([32, 1, {}, 'com.example.sized']);
      expect((await small.next())[0]).to.equal(33);
      const publisher = await joined();
      publisher.send([16, 1, { acknowledge: true }, 'com.example.sized', ['a'.repeat(900)]]);
      expect((await publisher.next())[0]).to.equal(17);
      expect((await small.next())[0]).to.equal(36);
      publisher.send([16, 2, { acknowledge: true }, 'com.example.sized', ['a'.repeat(1100)]]);
      expect((await publisher.next())[0]).to.equal(17);
      await small.waitClosed();
      expect(small.frames.filter((f) => f.type === FrameType.wamp)).to.have.length(0);
      await waitFor(() => tr.router.stats.closes['message too large for the peer'] === 1);
      publisher.send([16, 3, { acknowledge: true }, 'com.example.sized', ['still up']]);
      expect((await publisher.next())[0]).to.equal(17);
    });
  });

  describe('liveness and slow consumers (shared with WebSocket)', () => {
    it('a peer that stops answering PINGs is terminated; one that answers stays', async () => {
      await start({ pingIntervalMs: 200 });
      const deaf = await joined({ autoPong: false });
      deaf.send([32, 1, {}, 'com.example.stale']);
      expect((await deaf.next())[0]).to.equal(33);
      const healthy = await joined({ autoPong: true });
      const started = Date.now();
      await deaf.waitClosed(2000);
      expect(Date.now() - started).to.be.below(1000);
      expect(deaf.frames.some((f) => f.type === FrameType.ping)).to.equal(true);
      await waitFor(() => tr.router.stats.closes['stale connection'] === 1);
      expect(tr.router.realms.get('realm1')!.broker.subscriptionCount).to.equal(0);
      await sleep(500);
      expect(healthy.closedFlag).to.equal(false);
      expect(tr.router.connectionCount).to.equal(1);
    });

    it('a subscriber that stops reading is closed as a slow consumer', async () => {
      await start({ maxOutboundBytesPerSession: 64 * 1024 });
      const slow = await joined({ serializer: 'msgpack' });
      slow.send([32, 1, {}, 'com.example.flow']);
      expect((await slow.next())[0]).to.equal(33);
      slow.socket.pause();
      const { client: publisher } = await RawClient.joined(wsUrl, 'msgpack');
      cleanup.push(() => publisher.close());
      const payload = randomBytes(32 * 1024);
      for (let i = 0; i < 400 && tr.router.stats.closes['slow consumer'] === undefined; i++) {
        publisher.send([16, i + 1, {}, 'com.example.flow', [payload]]);
        if (i % 10 === 9) await sleep(5);
      }
      await waitFor(() => tr.router.stats.closes['slow consumer'] === 1, { timeoutMs: 5000 });
      slow.socket.resume();
      await slow.waitClosed();
    });

    it('over its inbound rate the session is paused (throttled), not dropped', async () => {
      await start({ rateMessagesPerSecond: 2000, rateBurst: 100 });
      const client = await joined();
      const started = Date.now();
      const frames: Buffer[] = [];
      for (let i = 1; i <= 1100; i++) frames.push(frame(FrameType.wamp, JSON.stringify([16, i, { acknowledge: true }, 'com.example.rate', [i]])));
      client.write(Buffer.concat(frames));
      for (let i = 1; i <= 1100; i++) expect((await client.next(5000))[1]).to.equal(i);
      // 1000 messages beyond the burst at 2000/s: at least ~0.5 s.
      expect(Date.now() - started).to.be.at.least(400);
      expect(client.closedFlag).to.equal(false);
    });
  });

  describe('interop and shutdown', () => {
    let abClients: AbClient[] = [];
    afterEach(async () => {
      for (const c of abClients.splice(0)) await c.close().catch(() => undefined);
    });

    it('a raw RawSocket caller (msgpack) calls an autobahn-js WebSocket callee', async () => {
      await start();
      const callee = await connectAutobahn(wsUrl, 'json');
      abClients.push(callee);
      await callee.session.register('com.example.add', (args: number[]) => args[0]! + args[1]!);
      const client = await joined({ serializer: 'msgpack' });
      client.send([48, 7, {}, 'com.example.add', [2, 3]]);
      expect(await client.next()).to.deep.equal([50, 7, {}, [5]]);
    });

    it('autobahn-js over its own RawSocket transport joins, calls and receives events', async () => {
      await start();
      const callee = await connectAutobahn(wsUrl, 'msgpack');
      abClients.push(callee);
      await callee.session.register('com.example.mul', (args: number[]) => args[0]! * args[1]!);
      const rs = await connectAutobahn('', 'json', { transports: [{ type: 'rawsocket', host: '127.0.0.1', port: rsPort }] });
      abClients.push(rs);
      expect(await rs.session.call('com.example.mul', [6, 7])).to.equal(42);
      const got: unknown[] = [];
      await rs.session.subscribe('com.example.news', (args: unknown[]) => got.push(args[0]));
      await callee.session.publish('com.example.news', ['hello'], {}, { acknowledge: true });
      await waitFor(() => got.length === 1);
      expect(got).to.deep.equal(['hello']);
      const info = [...tr.router.realms.get('realm1')!.sessions.values()].map((s) => s.transport.info.type).sort();
      expect(info).to.deep.equal(['rawsocket', 'websocket']);
    });

    it('router.close() says GOODBYE to RawSocket sessions and refuses new handshakes', async () => {
      await start();
      const clients = await Promise.all([1, 2, 3].map(() => joined()));
      const closing = tr.router.close();
      for (const client of clients) {
        const goodbye = await client.next();
        expect(goodbye[0]).to.equal(6);
        expect(goodbye[2]).to.equal('wamp.close.system_shutdown');
        client.send([6, {}, 'wamp.close.goodbye_and_out']);
      }
      await withTimeout(closing, 3000, 'router.close()');
      await Promise.all(clients.map((c) => c.waitClosed()));
      expect(tr.router.connectionCount).to.equal(0);
      const late = await RawSocketClient.open(rsPort).catch((error: Error) => error);
      expect(late).to.be.instanceOf(Error);
    });
  });
});

import { expect } from 'chai';
import { connect as tcpConnect } from 'node:net';
import WebSocket from 'ws';
import { RawClient } from '../helpers/raw-client.js';
import { RawSocketClient } from '../helpers/rawsocket-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Reliability §2.12 item 22: `close()` with 100 connected clients over both transports. Every
 * session gets GOODBYE `wamp.close.system_shutdown` (or, not yet joined, ABORT); those that answer
 * are closed at once, those that do not are terminated after the close timeout; then no handle is
 * left open and new connections are refused.
 */

const CLIENTS = 100;
const CLOSE_TIMEOUT_MS = 1000;

interface Peer {
  kind: 'websocket' | 'rawsocket';
  /** Answers GOODBYE (polite) or ignores it (stubborn). */
  polite: boolean;
  /** The OS socket, to stop reading (deaf: not even the transport close is read). */
  handle: { readStop(): void; readStart(): void };
  deaf: boolean;
  joined: boolean;
  got: unknown[][];
  closed: Promise<void>;
  isClosed(): boolean;
}

function resources(): string[] {
  return process.getActiveResourcesInfo().filter((type) => type !== 'Timeout' && type !== 'TTYWrap').sort();
}

function refused(port: number): Promise<boolean> {
  return withTimeout(new Promise<boolean>((resolve) => {
    const socket = tcpConnect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(true));
  }), 3000, 'connect attempt');
}

describe('robustness: graceful shutdown', function () {
  this.timeout(30000);

  it(`${CLIENTS} clients: GOODBYE to all, the stubborn ones terminated after the close timeout, nothing left open`, async () => {
    const before = resources();
    const tr: TestRouter = await startRouter({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'rawsocket', host: '127.0.0.1', port: 0 }],
      limits: { closeHandshakeTimeoutMs: CLOSE_TIMEOUT_MS },
    });
    const peers: Peer[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      // Polite, stubborn (ignores GOODBYE) or deaf (reads nothing at all once close() starts).
      const polite = i % 4 < 2;
      const deaf = i % 4 === 3;
      const joined = i % 10 !== 9; // a few have not sent HELLO yet
      if (i % 2 === 0) {
        const client = joined ? (await RawClient.joined(tr.url, 'msgpack')).client : await RawClient.connect(tr.url, 'json');
        const peer: Peer = {
          kind: 'websocket', polite, deaf, joined, got: client.received, closed: client.closed, isClosed: () => client.closeCode !== undefined,
          handle: (client.ws as any)._socket._handle,
        };
        client.ws.on('message', () => {
          if (polite && client.received.some((m) => m[0] === 6)) client.send([6, {}, 'wamp.close.goodbye_and_out']);
        });
        peers.push(peer);
      } else {
        const client = await RawSocketClient.connect(tr.addresses[1]!.port, { serializer: 'cbor' });
        if (joined) {
          client.send([1, 'realm1', { roles: { subscriber: {} } }]);
          expect((await client.next())[0]).to.equal(2);
        }
        const got: unknown[][] = [];
        client.socket.on('data', () => {
          for (const f of client.frames.splice(0)) {
            const m = client.serializer.decode(f.payload) as unknown[];
            got.push(m);
            if (polite && m[0] === 6) client.send([6, {}, 'wamp.close.goodbye_and_out']);
          }
        });
        peers.push({ kind: 'rawsocket', polite, deaf, joined, got, closed: client.closed, isClosed: () => client.closedFlag, handle: (client.socket as any)._handle });
      }
    }
    expect(tr.router.connectionCount).to.equal(CLIENTS);

    for (const peer of peers) if (peer.deaf) peer.handle.readStop();
    const started = Date.now();
    await withTimeout(tr.router.close(), 5000, 'router.close()');
    const took = Date.now() - started;
    // The deaf ones read again: what the router sent before cutting them off, then the end.
    for (const peer of peers) if (peer.deaf) peer.handle.readStart();
    await withTimeout(Promise.all(peers.map((p) => p.closed)), 3000, 'every client closed');
    console.log(`      close() took ${took} ms (close timeout ${CLOSE_TIMEOUT_MS} ms)`);

    for (const [i, peer] of peers.entries()) {
      const first = peer.got[0];
      if (peer.joined) {
        expect(first?.[0], `client ${i} (${peer.kind}) got ${JSON.stringify(first)}`).to.equal(6);
        expect(first?.[2]).to.equal('wamp.close.system_shutdown');
      } else {
        expect(first?.[0], `client ${i} (${peer.kind}, not joined)`).to.equal(3);
      }
      expect(peer.isClosed()).to.equal(true);
    }
    // The stubborn and deaf ones held the router for the close timeout, and then were terminated
    // (without that, the deaf ones would only go after a second close timeout).
    expect(took).to.be.within(CLOSE_TIMEOUT_MS - 50, CLOSE_TIMEOUT_MS + 600);
    expect(tr.router.connectionCount).to.equal(0);
    for (const realm of tr.router.realms.values()) expect(realm.sessions.size).to.equal(0);

    expect(await refused(tr.port)).to.equal(true);
    expect(await refused(tr.addresses[1]!.port)).to.equal(true);
    const late = await new Promise<string>((resolve) => {
      const ws = new WebSocket(tr.url, ['wamp.2.json']);
      ws.once('open', () => { ws.terminate(); resolve('open'); });
      ws.once('error', () => resolve('refused'));
    });
    expect(late).to.equal('refused');
    await sleep(50);
    expect(resources(), 'no handle left open by the router').to.deep.equal(before);
    await waitFor(() => tr.router.connectionCount === 0);
  });
});

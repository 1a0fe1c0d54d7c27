import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, withTimeout } from '../helpers/wait.js';

/**
 * Issue 13 item 5: half-sent upgrade requests. Raw TCP sockets send part of a WebSocket upgrade,
 * of a RawSocket handshake, of an HTTP bridge or ops request, and stop. Each is closed after
 * `upgradeTimeoutMs`, counts toward the per-address and unauthenticated caps from its first byte
 * (the cap+1st is refused at once), and frees its slot when it goes (no counter leak).
 */

const PARTIAL_HTTP = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n';
const PARTIAL_RAWSOCKET = Buffer.from([0x7f, 0xf1]);
const RAWSOCKET_REFUSED = Buffer.from([0x7f, 0x40, 0, 0]);

/** A raw TCP client that sends `bytes` and records what comes back and when it is closed. */
class HalfOpen {
  readonly received: Buffer[] = [];
  readonly closed: Promise<number>;
  private readonly opened = Date.now();

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.received.push(chunk));
    socket.on('error', () => { /* a reset is a close too */ });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(Date.now() - this.opened)));
  }

  static async open(port: number, bytes: Buffer | string): Promise<HalfOpen> {
    const socket = connect({ host: '127.0.0.1', port });
    await withTimeout(new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject)), 2000, 'connect');
    socket.write(bytes);
    return new HalfOpen(socket);
  }

  /** Milliseconds from connect to close; fails when still open after `ms`. */
  closedWithin(ms: number): Promise<number> {
    return withTimeout(this.closed, ms, 'the router closing the half-open connection');
  }

  async stillOpenAfter(ms: number): Promise<boolean> {
    return (await Promise.race([this.closed.then(() => false), sleep(ms).then(() => true)]));
  }

  text(): string {
    return Buffer.concat(this.received).toString('latin1');
  }
}

type Kind = 'websocket' | 'rawsocket' | 'http' | 'universal (HTTP)' | 'universal (RawSocket)' | 'ops';

const KINDS: { kind: Kind; partial: Buffer | string; refused: (c: HalfOpen) => void }[] = [
  { kind: 'websocket', partial: PARTIAL_HTTP, refused: expect503 },
  { kind: 'rawsocket', partial: PARTIAL_RAWSOCKET, refused: expectError4 },
  { kind: 'http', partial: 'POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\n', refused: expect503 },
  { kind: 'universal (HTTP)', partial: PARTIAL_HTTP, refused: expect503 },
  { kind: 'universal (RawSocket)', partial: PARTIAL_RAWSOCKET, refused: expectError4 },
  { kind: 'ops', partial: 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n', refused: expect503 },
];

function expect503(client: HalfOpen): void {
  expect(client.text()).to.match(/^HTTP\/1\.1 503 /);
}

function expectError4(client: HalfOpen): void {
  expect(Buffer.concat(client.received)).to.deep.equal(RAWSOCKET_REFUSED);
}

describe('robustness: half-sent requests (slowloris) and connection counting from the first byte', function () {
  this.timeout(20000);
  let tr: TestRouter | undefined;
  const clients: HalfOpen[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    await tr?.stop();
    tr = undefined;
  });

  /** A router whose only listener (or ops endpoint) is of `kind`; resolves with the port to attack. */
  async function start(kind: Kind, limits: Record<string, number>): Promise<number> {
    const type = kind.startsWith('universal') ? 'universal' : kind === 'ops' ? 'websocket' : kind;
    tr = await startRouter({ limits, ...(kind === 'ops' ? { ops: { port: 0 } } : {}) }, { type });
    return kind === 'ops' ? tr.router.opsAddress!.port : tr.port;
  }

  async function halfOpen(port: number, partial: Buffer | string): Promise<HalfOpen> {
    const client = await HalfOpen.open(port, partial);
    clients.push(client);
    return client;
  }

  for (const { kind, partial, refused } of KINDS) {
    describe(kind, () => {
      it('a request head or handshake that stops half way is closed after upgradeTimeoutMs', async () => {
        const port = await start(kind, { upgradeTimeoutMs: 300 });
        const silent = await halfOpen(port, '');
        const partway = await halfOpen(port, partial);
        for (const client of [silent, partway]) {
          const ms = await client.closedWithin(3000);
          expect(ms).to.be.within(250, 2500);
        }
      });

      it('the cap+1st half-open connection from one address is refused at once, and closing them frees the slots', async () => {
        const port = await start(kind, { upgradeTimeoutMs: 10_000, maxConnectionsPerIp: 3 });
        // Twice: a slot that leaked in the first round would refuse earlier in the second.
        for (let round = 0; round < 2; round++) {
          const held = [await halfOpen(port, partial), await halfOpen(port, partial), await halfOpen(port, partial)];
          await sleep(50);
          const extra = await halfOpen(port, partial);
          await extra.closedWithin(1500);
          refused(extra);
          for (const client of held) expect(await client.stillOpenAfter(0), `round ${round}: held connections stay`).to.equal(true);
          for (const client of held) client.socket.destroy();
          await Promise.all(held.map((client) => client.closedWithin(1000)));
          await sleep(50);
          const after = await halfOpen(port, partial);
          expect(await after.stillOpenAfter(300), `round ${round}: a new connection is accepted once they are gone`).to.equal(true);
          after.socket.destroy();
          await after.closedWithin(1000);
          await sleep(50);
        }
      });
    });
  }

  it('half-open connections count as unauthenticated across listeners', async () => {
    tr = await startRouter({
      limits: { upgradeTimeoutMs: 10_000, maxUnauthenticatedConnections: 2 },
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'rawsocket', host: '127.0.0.1', port: 0 }],
    });
    const [ws, rs] = tr.addresses;
    await halfOpen(ws!.port, PARTIAL_HTTP);
    await halfOpen(rs!.port, PARTIAL_RAWSOCKET);
    await sleep(50);
    const overWs = await halfOpen(ws!.port, PARTIAL_HTTP);
    const overRs = await halfOpen(rs!.port, PARTIAL_RAWSOCKET);
    await Promise.all([overWs.closedWithin(1500), overRs.closedWithin(1500)]);
    expect503(overWs);
    expectError4(overRs);
  });

  it('HTTP bridge behind trustProxy: a connection counts for the forwarded address of its first request', async () => {
    tr = await startRouter({ limits: { maxConnectionsPerIp: 1 } }, { type: 'http', trustProxy: true });
    const via = (address: string) => `GET /auth/challenge?key=deploy HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: ${address}\r\n\r\n`;
    const answer = async (client: HalfOpen) => {
      await withTimeout((async () => { while (!/^HTTP\/1\.1 \d{3} /.test(client.text())) await sleep(10); })(), 2000, 'an answer');
      return Number(client.text().slice(9, 12));
    };
    expect(await answer(await halfOpen(tr.port, via('10.0.0.1')))).to.equal(200);
    expect(await answer(await halfOpen(tr.port, via('10.0.0.1')))).to.equal(503);
    expect(await answer(await halfOpen(tr.port, via('10.0.0.2')))).to.equal(200);
  });

  it('HTTP bridge keep-alive: an idle connection, or a second request head that stops half way, is closed after upgradeTimeoutMs', async () => {
    const port = await start('http', { upgradeTimeoutMs: 300 });
    for (const next of ['', 'GET /auth/chall']) {
      const client = await halfOpen(port, 'GET /auth/challenge?key=deploy HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await withTimeout((async () => { while (!client.text().includes('"nonce"')) await sleep(10); })(), 2000, 'the first answer');
      client.socket.write(next);
      const ms = await client.closedWithin(3000);
      expect(ms).to.be.within(250, 2500);
      expect(client.text()).to.match(/^HTTP\/1\.1 200 /);
    }
  });
});

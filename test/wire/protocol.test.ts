import { expect } from 'chai';
import { RawClient } from '../helpers/raw-client.js';
import { joinedSessions, startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { SERIALIZERS } from '../../router/serializer/registry.js';
import type { SerializerName } from '../../router/serializer/serializer.js';

/**
 * The WAMP protocol as a raw client sees it on a real router: session lifecycle (wamp-spec §2),
 * IDs (§3), URIs and error reasons (§4), serializers (§11.2) and reliability §2.12 items 2, 4, 11
 * and 21. Every abusive case ends with a liveness probe (a fresh client joins and completes a
 * CALL round trip), and every test ends with the router stopped and no connection left.
 */

const MAX_ID = 2 ** 53;
const ROLES = { publisher: {}, subscriber: {}, caller: {}, callee: {} };
const PROTOCOL_VIOLATION = 'wamp.error.protocol_violation';
/** WebSocket close code the router uses for protocol violations (RFC 6455 1002). */
const CLOSE_PROTOCOL_ERROR = 1002;

type Ser = Extract<SerializerName, 'json' | 'msgpack'>;
const WIRE_SERIALIZERS: Ser[] = ['json', 'msgpack'];

let routers: TestRouter[] = [];
let clients: RawClient[] = [];
let probeCount = 0;

/** A router with a short close-handshake window so that stop() never waits long. */
async function start(limits: Record<string, number> = {}): Promise<TestRouter> {
  const tr = await startRouter({ limits: { closeHandshakeTimeoutMs: 1000, ...limits } });
  routers.push(tr);
  return tr;
}

async function connect(url: string, ser: SerializerName): Promise<RawClient> {
  const client = await RawClient.connect(url, ser);
  clients.push(client);
  return client;
}

async function join(url: string, ser: SerializerName): Promise<{ client: RawClient; welcome: unknown[] }> {
  const client = await connect(url, ser);
  client.send([1, 'realm1', { roles: ROLES }]);
  const welcome = await client.next(2000);
  expect(welcome[0], `expected WELCOME, got ${JSON.stringify(welcome)}`).to.equal(2);
  return { client, welcome };
}

/** The next message must be ABORT `reason` with exactly 3 elements, and the socket must close. */
async function expectAbort(client: RawClient, reason: string, closeCode?: number): Promise<unknown[]> {
  const message = await client.next(2000);
  expect(message[0], `expected ABORT, got ${JSON.stringify(message)}`).to.equal(3);
  expect(message, 'ABORT must have exactly 3 elements').to.have.length(3);
  expect(message[1]).to.be.an('object');
  expect((message[1] as Record<string, unknown>).message).to.be.a('string');
  expect(message[2]).to.equal(reason);
  const code = await client.waitClosed(2000);
  if (closeCode !== undefined) expect(code, 'WebSocket close code').to.equal(closeCode);
  return message;
}

/** The next message must be ERROR for (requestType, request) with `uri`. */
async function expectError(client: RawClient, requestType: number, request: number, uri: string): Promise<unknown[]> {
  const message = await client.next(2000);
  expect(message.slice(0, 3), `expected ERROR, got ${JSON.stringify(message)}`).to.deep.equal([8, requestType, request]);
  expect(message[3]).to.be.an('object');
  expect(message[4]).to.equal(uri);
  return message;
}

/** Nothing arrives within `ms` and the socket stays open. */
async function expectQuiet(client: RawClient, ms = 150): Promise<void> {
  await sleep(ms);
  expect(client.received, 'unexpected messages').to.deep.equal([]);
  expect(client.closeCode, 'socket closed unexpectedly').to.equal(undefined);
}

/** Liveness probe (reliability §2.12): a fresh client joins, registers, calls itself, gets RESULT. */
async function assertLive(url: string, ser: SerializerName): Promise<void> {
  const { client } = await join(url, ser);
  const procedure = `com.example.live${++probeCount}`;
  client.send([64, 1, {}, procedure]);
  const registered = await client.next();
  expect(registered[0], JSON.stringify(registered)).to.equal(65);
  client.send([48, 2, {}, procedure, ['ping'], { n: 1 }]);
  const invocation = await client.next();
  expect(invocation[0], JSON.stringify(invocation)).to.equal(68);
  expect(invocation.slice(4)).to.deep.equal([['ping'], { n: 1 }]);
  client.send([70, invocation[1], {}, ['pong']]);
  expect(await client.next()).to.deep.equal([50, 2, {}, ['pong']]);
  client.close();
  await client.waitClosed();
}

afterEach(async function () {
  for (const client of clients) if (client.closeCode === undefined) client.close();
  await Promise.all(clients.map((client) => client.waitClosed(3000)));
  clients = [];
  for (const tr of routers) {
    await tr.stop();
    expect(tr.router.connectionCount, 'connections left after stop').to.equal(0);
  }
  routers = [];
});

for (const ser of WIRE_SERIALIZERS) {
  const other = (s: Ser): Ser => (s === 'json' ? 'msgpack' : 'json');

  describe(`wire protocol over wamp.2.${ser}`, function () {
    this.timeout(15000);
    let tr: TestRouter;
    beforeEach(async () => {
      tr = await start();
    });

    describe('before WELCOME only HELLO (and ABORT) is accepted', () => {
      const firsts: [string, unknown[]][] = [
        ['SUBSCRIBE', [32, 1, {}, 'com.example.topic']],
        ['CALL', [48, 1, {}, 'com.example.proc', ['x']]],
        ['PUBLISH', [16, 1, { acknowledge: true }, 'com.example.topic', ['x']]],
        ['REGISTER', [64, 1, {}, 'com.example.proc']],
        ['YIELD', [70, 1, {}]],
        ['ERROR', [8, 68, 1, {}, 'com.example.error']],
        ['GOODBYE', [6, {}, 'wamp.close.close_realm']],
        ['AUTHENTICATE', [5, 'signature', {}]],
      ];
      for (const [name, message] of firsts) {
        it(`${name} as the first message gets ABORT protocol_violation and a close`, async () => {
          const client = await connect(tr.url, ser);
          client.send(message);
          await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
          expect(client.received).to.deep.equal([]);
          await waitFor(() => tr.router.connectionCount === 0, { timeoutMs: 2000, what: 'connection released' });
          await assertLive(tr.url, ser);
        });
      }

      it('an undecodable first frame gets ABORT protocol_violation and a close', async () => {
        const client = await connect(tr.url, ser);
        if (ser === 'json') client.sendRaw('[1, "realm1", {"roles": {', false);
        else client.sendRaw(Buffer.from([0x93, 0x01, 0xa6]), true);
        await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
        await assertLive(tr.url, ser);
      });

      it(`a ${ser === 'json' ? 'binary' : 'text'} frame on wamp.2.${ser} is a violation`, async () => {
        const client = await connect(tr.url, ser);
        const hello = [1, 'realm1', { roles: ROLES }];
        // A perfectly good HELLO, but in the frame kind the subprotocol does not use.
        if (ser === 'json') client.sendRaw(Buffer.from(JSON.stringify(hello)), true);
        else client.sendRaw(JSON.stringify(hello), false);
        await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
        await assertLive(tr.url, ser);
      });

      it('a silent socket is closed after helloTimeoutMs and the connection count returns to 0', async () => {
        const short = await start({ helloTimeoutMs: 200 });
        const opened = Date.now();
        const client = await connect(short.url, ser);
        await waitFor(() => short.router.connectionCount === 1, { timeoutMs: 1000, what: 'connection counted' });
        await client.waitClosed(3000);
        const elapsed = Date.now() - opened;
        expect(elapsed, 'closed too early').to.be.at.least(150);
        expect(elapsed, 'closed too late').to.be.below(2000);
        for (const message of client.received) {
          expect(message[0], 'only an ABORT may precede the close').to.equal(3);
          expect(message).to.have.length(3);
        }
        await waitFor(() => short.router.connectionCount === 0, { timeoutMs: 2000, what: 'connection count 0' });
        // A client that does say HELLO in time still joins.
        await assertLive(short.url, ser);
      });

      it('a HELLO larger than preAuthMaxMessageBytes is refused and closed; one at the limit joins', async () => {
        const small = await start({ preAuthMaxMessageBytes: 4096 });
        const s = SERIALIZERS[ser];
        const helloOfSize = (bytes: number): unknown[] => {
          let pad = bytes;
          for (let i = 0; i < 10; i++) {
            const hello = [1, 'realm1', { roles: ROLES, agent: 'x'.repeat(pad) }];
            const size = Buffer.byteLength(s.encode(hello) as Buffer | string);
            if (size === bytes) return hello;
            pad += bytes - size;
          }
          throw new Error(`could not build a HELLO of ${bytes} bytes`);
        };

        const atLimit = await connect(small.url, ser);
        atLimit.send(helloOfSize(4096));
        expect((await atLimit.next())[0], 'HELLO of exactly the limit').to.equal(2);

        const over = await connect(small.url, ser);
        over.send(helloOfSize(4097));
        const abort = await over.next();
        expect(abort[0], JSON.stringify(abort)).to.equal(3);
        expect(abort).to.have.length(3);
        expect(abort[2]).to.equal(PROTOCOL_VIOLATION);
        expect(await over.waitClosed(), 'close code 1009 (message too big)').to.equal(1009);

        const huge = await connect(small.url, ser);
        huge.send([1, 'realm1', { roles: ROLES, agent: 'y'.repeat(512 * 1024) }]);
        await huge.waitClosed(3000);
        expect(huge.received.filter((m) => m[0] === 2), 'no WELCOME for a huge HELLO').to.deep.equal([]);
        await assertLive(small.url, ser);
      });
    });

    describe('HELLO', () => {
      it('to an unknown realm gets ABORT wamp.error.no_such_realm (3 elements) and a close', async () => {
        const client = await connect(tr.url, ser);
        client.send([1, 'no.such.realm', { roles: ROLES }]);
        await expectAbort(client, 'wamp.error.no_such_realm');
        await assertLive(tr.url, ser);
      });

      const badRoles: [string, Record<string, unknown>][] = [
        ['no roles', { authmethods: ['anonymous'] }],
        ['empty roles', { roles: {} }],
        ['an unknown role key', { roles: { caller: {}, broker: {} } }],
        ['only an unknown role key', { roles: { emperor: {} } }],
        ['roles as a list', { roles: ['caller'] }],
        ['roles as a string', { roles: 'caller' }],
      ];
      for (const [what, details] of badRoles) {
        it(`with ${what} is a protocol violation`, async () => {
          const client = await connect(tr.url, ser);
          client.send([1, 'realm1', details]);
          await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
          await assertLive(tr.url, ser);
        });
      }

      it("with authmethods ['ticket'] on an anonymous-only realm gets ABORT wamp.error.no_auth_method", async () => {
        const client = await connect(tr.url, ser);
        client.send([1, 'realm1', { roles: ROLES, authmethods: ['ticket'], authid: 'peter' }]);
        await expectAbort(client, 'wamp.error.no_auth_method');
        expect(joinedSessions(tr.router)).to.equal(0);
        await assertLive(tr.url, ser);
      });

      it('a second HELLO after WELCOME is a protocol violation and ends the session', async () => {
        const { client } = await join(tr.url, ser);
        expect(joinedSessions(tr.router)).to.equal(1);
        client.send([1, 'realm1', { roles: ROLES }]);
        await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
        await waitFor(() => joinedSessions(tr.router) === 0, { timeoutMs: 2000, what: 'session gone' });
        await assertLive(tr.url, ser);
      });

      it('WELCOME details carry realm, authid, authrole, authmethod, authprovider and broker/dealer roles', async () => {
        const { welcome } = await join(tr.url, ser);
        expect(welcome).to.have.length(3);
        const details = welcome[2] as Record<string, any>;
        expect(details.realm).to.equal('realm1');
        expect(details.authid).to.be.a('string').and.not.equal('');
        expect(details.authrole).to.equal('anonymous');
        expect(details.authmethod).to.equal('anonymous');
        expect(details.authprovider).to.be.a('string').and.not.equal('');
        expect(details.roles).to.be.an('object');
        expect(Object.keys(details.roles).sort()).to.deep.equal(['broker', 'dealer']);
        expect(details.roles.broker).to.be.an('object').and.not.an('array');
        expect(details.roles.dealer).to.be.an('object').and.not.an('array');
        // Two anonymous sessions are two different principals.
        const second = await join(tr.url, ser);
        expect((second.welcome[2] as Record<string, unknown>).authid).to.not.equal(details.authid);
      });

      it('the requested authid/authrole of an anonymous client are not granted', async () => {
        const client = await connect(tr.url, ser);
        client.send([1, 'realm1', { roles: ROLES, authid: 'admin', authrole: 'admin' }]);
        const welcome = await client.next();
        expect(welcome[0]).to.equal(2);
        const details = welcome[2] as Record<string, unknown>;
        expect(details.authid).to.not.equal('admin');
        expect(details.authrole).to.equal('anonymous');
      });
    });

    describe('IDs (wamp-spec §3, reliability §2.12 item 21)', () => {
      it('session IDs are integers in [1, 2^53], and 200 concurrent sessions get distinct IDs', async () => {
        const ids: number[] = [];
        for (let batch = 0; batch < 4; batch++) {
          const joined = await Promise.all(Array.from({ length: 50 }, () => join(tr.url, ser)));
          for (const { welcome } of joined) ids.push(welcome[1] as number);
        }
        expect(ids).to.have.length(200);
        for (const id of ids) {
          expect(Number.isInteger(id), `session id ${id}`).to.equal(true);
          expect(id).to.be.within(1, MAX_ID);
        }
        expect(new Set(ids).size).to.equal(200);
        expect(joinedSessions(tr.router)).to.equal(200);
        // Random over 53 bits: 200 IDs all below 2^32 would mean a counter or a weak generator.
        expect(ids.filter((id) => id > 2 ** 32).length).to.be.greaterThan(150);
      });

      it("the router's INVOCATION request IDs toward one callee count 1, 2, 3, … per callee session", async () => {
        const callee = (await join(tr.url, ser)).client;
        const caller = (await join(tr.url, other(ser))).client;
        callee.send([64, 1, {}, 'com.example.add']);
        const registered = await callee.next();
        expect(registered[0]).to.equal(65);
        const invocationIds: number[] = [];
        for (let i = 1; i <= 5; i++) {
          caller.send([48, i, {}, 'com.example.add', [i, i]]);
          const invocation = await callee.next();
          expect(invocation[0], JSON.stringify(invocation)).to.equal(68);
          expect(invocation[2]).to.equal(registered[2]);
          expect(invocation[4]).to.deep.equal([i, i]);
          invocationIds.push(invocation[1] as number);
          callee.send([70, invocation[1], {}, [2 * i]]);
          expect(await caller.next()).to.deep.equal([50, i, {}, [2 * i]]);
        }
        expect(invocationIds).to.deep.equal([1, 2, 3, 4, 5]);

        // A second callee has its own counter starting at 1.
        const callee2 = (await join(tr.url, ser)).client;
        callee2.send([64, 1, {}, 'com.example.mul']);
        expect((await callee2.next())[0]).to.equal(65);
        caller.send([48, 6, {}, 'com.example.mul', [3, 4]]);
        const invocation = await callee2.next();
        expect(invocation[0]).to.equal(68);
        expect(invocation[1], 'first INVOCATION id toward a new callee').to.equal(1);
        callee2.send([70, 1, {}, [12]]);
        expect(await caller.next()).to.deep.equal([50, 6, {}, [12]]);
        // And the first callee continues at 6.
        caller.send([48, 7, {}, 'com.example.add', [0, 0]]);
        expect((await callee.next())[1]).to.equal(6);
      });

      it('a YIELD for an unknown invocation is ignored: the session stays up and the next call works', async () => {
        const callee = (await join(tr.url, ser)).client;
        const caller = (await join(tr.url, ser)).client;
        callee.send([64, 1, {}, 'com.example.echo']);
        expect((await callee.next())[0]).to.equal(65);
        callee.send([70, 999, {}, ['stray']]);
        callee.send([70, MAX_ID, {}]);
        await expectQuiet(callee);
        await expectQuiet(caller, 0);
        caller.send([48, 1, {}, 'com.example.echo', ['hi']]);
        const invocation = await callee.next();
        expect(invocation[0]).to.equal(68);
        callee.send([70, invocation[1], {}, ['hi']]);
        expect(await caller.next()).to.deep.equal([50, 1, {}, ['hi']]);
      });

      it('a request ID of 2^53 is valid and echoed exactly', async () => {
        const { client } = await join(tr.url, ser);
        client.send([48, MAX_ID, {}, 'com.example.nothing']);
        await expectError(client, 48, MAX_ID, 'wamp.error.no_such_procedure');
        client.send([16, MAX_ID, { acknowledge: true }, 'com.example.topic']);
        const published = await client.next();
        expect(published.slice(0, 2)).to.deep.equal([17, MAX_ID]);
      });

      for (const [what, value] of [['0', 0], ['-1', -1], ['1.5', 1.5]] as const) {
        it(`a CALL with request ID ${what} gets ABORT protocol_violation`, async () => {
          const { client } = await join(tr.url, ser);
          client.send([48, value, {}, 'com.example.proc']);
          await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
          await assertLive(tr.url, ser);
        });
      }

      it('a CALL with request ID 2^53 + 1 on the wire gets ABORT protocol_violation', async () => {
        const { client } = await join(tr.url, ser);
        // Not representable as a JS number: written as text / as a msgpack uint64.
        if (ser === 'json') client.sendRaw('[48,9007199254740993,{},"com.example.proc"]', false);
        else {
          const frame = SERIALIZERS.msgpack.encode([48, 2n ** 53n + 1n, {}, 'com.example.proc']) as Buffer;
          expect(frame.toString('hex')).to.include('0020000000000001');
          client.sendRaw(frame, true);
        }
        await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
        await assertLive(tr.url, ser);
      });
    });

    describe('malformed messages after WELCOME are protocol violations (reliability §2.12 item 11)', () => {
      const cases: [string, unknown][] = [
        ['an empty list', []],
        ['a dict instead of a list', { type: 48 }],
        ['unknown type 7', [7]],
        ['unknown type 99', [99, 1, {}]],
        ['WELCOME from a client', [2, 1, { roles: { broker: {} } }]],
        ['EVENT from a client', [36, 1, 2, {}]],
        ['RESULT from a client', [50, 1, {}]],
        ['INVOCATION from a client', [68, 1, 2, {}]],
        ['CALL with one element too few', [48, 1, {}]],
        ['SUBSCRIBE with one element too many', [32, 1, {}, 'com.example.topic', []]],
        ['CALL with a string request id', [48, '1', {}, 'com.example.proc']],
        ['PUBLISH with a list as Options', [16, 1, [], 'com.example.topic']],
        ['SUBSCRIBE with a numeric topic', [32, 1, {}, 42]],
        ['CALL with a dict as Arguments', [48, 1, {}, 'com.example.proc', { a: 1 }]],
        ['CALL with a list as ArgumentsKw', [48, 1, {}, 'com.example.proc', [], [1]]],
        ['ERROR with REQUEST.Type 48', [8, 48, 1, {}, 'com.example.error']],
        ['ERROR with REQUEST.Type 16', [8, 16, 1, {}, 'com.example.error']],
      ];
      for (const [what, message] of cases) {
        it(`${what}`, async () => {
          const { client } = await join(tr.url, ser);
          client.send(message as unknown[]);
          await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
          await waitFor(() => joinedSessions(tr.router) === 0, { timeoutMs: 2000, what: 'session gone' });
          await assertLive(tr.url, ser);
        });
      }

      it('an undecodable frame after WELCOME', async () => {
        const { client } = await join(tr.url, ser);
        if (ser === 'json') client.sendRaw('[48, 1, {}, "com.example.proc"', false);
        else client.sendRaw(Buffer.from([0x94, 0x30, 0x01, 0x80]), true);
        await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
        await assertLive(tr.url, ser);
      });

      it('the wrong frame kind after WELCOME', async () => {
        const { client } = await join(tr.url, ser);
        const call = [48, 1, {}, 'com.example.proc'];
        if (ser === 'json') client.sendRaw(Buffer.from(JSON.stringify(call)), true);
        else client.sendRaw(JSON.stringify(call), false);
        await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
        await assertLive(tr.url, ser);
      });
    });

    describe('well-formed requests with bad values get ERROR and the session stays up', () => {
      it('PUBLISH (acknowledge) to wamp.session.x gets ERROR wamp.error.not_authorized', async () => {
        const { client } = await join(tr.url, ser);
        client.send([16, 1, { acknowledge: true }, 'wamp.session.x', ['spoof']]);
        await expectError(client, 16, 1, 'wamp.error.not_authorized');
        client.send([16, 2, { acknowledge: true }, 'com.example.topic']);
        expect((await client.next()).slice(0, 2)).to.deep.equal([17, 2]);
      });

      it('PUBLISH (acknowledge) to a..b gets ERROR wamp.error.invalid_uri', async () => {
        const { client } = await join(tr.url, ser);
        client.send([16, 1, { acknowledge: true }, 'a..b']);
        await expectError(client, 16, 1, 'wamp.error.invalid_uri');
        client.send([16, 2, { acknowledge: true }, 'com.example.topic']);
        expect((await client.next()).slice(0, 2)).to.deep.equal([17, 2]);
      });

      it('PUBLISH without acknowledge to a..b is dropped silently', async () => {
        const { client } = await join(tr.url, ser);
        client.send([16, 1, {}, 'a..b']);
        await expectQuiet(client);
      });

      it('SUBSCRIBE with a 10,000-component URI gets ERROR wamp.error.invalid_uri quickly', async () => {
        const { client } = await join(tr.url, ser);
        const topic = Array.from({ length: 10_000 }, () => 'a').join('.');
        const sent = Date.now();
        client.send([32, 1, {}, topic]);
        await expectError(client, 32, 1, 'wamp.error.invalid_uri');
        expect(Date.now() - sent, 'ms to answer').to.be.below(500);
        client.send([32, 2, { match: 'wildcard' }, Array.from({ length: 10_000 }, () => '').join('.')]);
        await expectError(client, 32, 2, 'wamp.error.invalid_uri');
        client.send([32, 3, {}, 'com.example.topic']);
        expect((await client.next()).slice(0, 2)).to.deep.equal([33, 3]);
      });

      it('UNSUBSCRIBE of an unknown subscription gets ERROR wamp.error.no_such_subscription', async () => {
        const { client } = await join(tr.url, ser);
        client.send([34, 1, 123456789]);
        await expectError(client, 34, 1, 'wamp.error.no_such_subscription');
        await expectQuiet(client, 50);
      });

      it("UNSUBSCRIBE of another session's subscription gets no_such_subscription", async () => {
        const owner = (await join(tr.url, ser)).client;
        owner.send([32, 1, {}, 'com.example.topic']);
        const subscribed = await owner.next();
        expect(subscribed[0]).to.equal(33);
        const { client } = await join(tr.url, ser);
        client.send([34, 1, subscribed[2]]);
        await expectError(client, 34, 1, 'wamp.error.no_such_subscription');
      });

      it('UNREGISTER of an unknown registration gets ERROR wamp.error.no_such_registration', async () => {
        const { client } = await join(tr.url, ser);
        client.send([66, 1, 987654321]);
        await expectError(client, 66, 1, 'wamp.error.no_such_registration');
        await expectQuiet(client, 50);
      });

      it('REGISTER of the same procedure twice gets ERROR wamp.error.procedure_already_exists', async () => {
        const { client } = await join(tr.url, ser);
        client.send([64, 1, {}, 'com.example.proc']);
        expect((await client.next())[0]).to.equal(65);
        client.send([64, 2, {}, 'com.example.proc']);
        await expectError(client, 64, 2, 'wamp.error.procedure_already_exists');
        const second = (await join(tr.url, ser)).client;
        second.send([64, 1, {}, 'com.example.proc']);
        await expectError(second, 64, 1, 'wamp.error.procedure_already_exists');
      });

      it('CALL of an unknown procedure gets ERROR wamp.error.no_such_procedure', async () => {
        const { client } = await join(tr.url, ser);
        client.send([48, 1, {}, 'com.example.nothing', [1]]);
        await expectError(client, 48, 1, 'wamp.error.no_such_procedure');
        client.send([48, 2, {}, 'com.example.nothing']);
        await expectError(client, 48, 2, 'wamp.error.no_such_procedure');
      });

      it('REGISTER of a wamp.* procedure is refused', async () => {
        const { client } = await join(tr.url, ser);
        client.send([64, 1, {}, 'wamp.session.get']);
        const error = await client.next();
        expect(error.slice(0, 3)).to.deep.equal([8, 64, 1]);
        expect(error[4]).to.be.oneOf(['wamp.error.invalid_uri', 'wamp.error.not_authorized']);
      });
    });

    describe('GOODBYE', () => {
      it('client GOODBYE gets GOODBYE wamp.close.goodbye_and_out, and the connection can HELLO again', async () => {
        const { client, welcome } = await join(tr.url, ser);
        client.send([32, 1, {}, 'com.example.topic']);
        expect((await client.next())[0]).to.equal(33);

        client.send([6, { message: 'bye' }, 'wamp.close.close_realm']);
        const goodbye = await client.next();
        expect(goodbye[0], JSON.stringify(goodbye)).to.equal(6);
        expect(goodbye, 'GOODBYE must have exactly 3 elements').to.have.length(3);
        expect(goodbye[1]).to.be.an('object');
        expect(goodbye[2]).to.equal('wamp.close.goodbye_and_out');
        await expectQuiet(client, 100);
        expect(joinedSessions(tr.router)).to.equal(0);

        client.send([1, 'realm1', { roles: ROLES }]);
        const again = await client.next();
        expect(again[0], JSON.stringify(again)).to.equal(2);
        expect(again[1]).to.be.a('number').and.not.equal(welcome[1]);
        expect(again[1]).to.be.within(1, MAX_ID);
        expect(joinedSessions(tr.router)).to.equal(1);
        expect(client.closeCode).to.equal(undefined);

        // The old session's subscription went with it.
        const publisher = (await join(tr.url, ser)).client;
        publisher.send([16, 1, { acknowledge: true }, 'com.example.topic', ['after']]);
        expect((await publisher.next())[0]).to.equal(17);
        await expectQuiet(client);
      });

      it('after GOODBYE, routing messages are violations until the next HELLO', async () => {
        const { client } = await join(tr.url, ser);
        client.send([6, {}, 'wamp.close.close_realm']);
        expect((await client.next())[0]).to.equal(6);
        client.send([32, 2, {}, 'com.example.topic']);
        await expectAbort(client, PROTOCOL_VIOLATION, CLOSE_PROTOCOL_ERROR);
        await assertLive(tr.url, ser);
      });
    });
  });
}

describe('wire protocol: payload values crossing serializers', function () {
  this.timeout(15000);

  it('numbers too large for a 64-bit integer reach msgpack and cbor subscribers as numbers', async () => {
    const tr = await start();
    const subscribers: RawClient[] = [];
    for (const ser of ['json', 'msgpack', 'cbor'] as const) {
      const { client } = await join(tr.url, ser);
      client.send([32, 1, {}, 'com.example.numbers']);
      expect((await client.next())[0]).to.equal(33);
      subscribers.push(client);
    }
    const publisher = (await join(tr.url, 'json')).client;
    publisher.sendRaw('[16,1,{"acknowledge":true},"com.example.numbers",[1e300,18446744073709551616,-1e300,4503599627370496.5,9007199254740992]]', false);
    const published = await publisher.next();
    expect(published[0], `publisher got ${JSON.stringify(published)}`).to.equal(17);
    for (const subscriber of subscribers) {
      const event = await subscriber.next();
      expect(event[0]).to.equal(36);
      const args = event[4] as unknown[];
      expect(args.map((v) => typeof v), subscriber.serializer.name).to.deep.equal(['number', 'number', 'number', 'number', 'number']);
      expect(args).to.deep.equal([1e300, 2 ** 64, -1e300, 4503599627370496.5, 2 ** 53]);
    }
  });

  it('binary from a json publisher reaches msgpack and cbor subscribers as bytes, and json as the \\u0000 string', async () => {
    const tr = await start();
    const subscribers: RawClient[] = [];
    for (const ser of ['json', 'msgpack', 'cbor'] as const) {
      const { client } = await join(tr.url, ser);
      client.send([32, 1, {}, 'com.example.bin']);
      expect((await client.next())[0]).to.equal(33);
      subscribers.push(client);
    }
    const publisher = (await join(tr.url, 'json')).client;
    publisher.sendRaw('[16,1,{},"com.example.bin",["\\u0000EOP/kFMHXFJvX8BtT+N82w=="],{"b":"\\u0000AQI="}]', false);
    for (const subscriber of subscribers) {
      const event = await subscriber.next();
      expect(event[0]).to.equal(36);
      const [arg] = event[4] as Uint8Array[];
      const kw = (event[5] as Record<string, Uint8Array>).b;
      expect(ArrayBuffer.isView(arg), subscriber.serializer.name).to.equal(true);
      expect(Buffer.from(arg!).toString('hex')).to.equal('10e3ff9053075c526f5fc06d4fe37cdb');
      expect(Buffer.from(kw!).toString('hex')).to.equal('0102');
    }
  });
});

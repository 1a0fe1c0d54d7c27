import { expect } from 'chai';
import { RawClient } from '../helpers/raw-client.js';
import { joinedSessions, startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor } from '../helpers/wait.js';
import type { SerializerName } from '../../router/serializer/serializer.js';

/**
 * Reliability §2.12 item 4 (and item 2, the pre-auth gate): nothing is routed to or from a
 * connection before WELCOME. The spec case is a client mid-challenge; until a challenge-based
 * realm exists in the test config, the unauthenticated client is one that has not sent HELLO.
 * TODO: add the mid-CHALLENGE variant once wampcra/ticket realms can be configured.
 */

const ROLES = { publisher: {}, subscriber: {}, caller: {}, callee: {} };
const TOPIC = 'com.example.gate.topic';
const PROCEDURE = 'com.example.gate.proc';
/** How long "never receives" is observed after the last routed message. */
const QUIET_MS = 200;

let tr: TestRouter;
let clients: RawClient[] = [];

async function connect(ser: SerializerName): Promise<RawClient> {
  const client = await RawClient.connect(tr.url, ser);
  clients.push(client);
  return client;
}

async function join(ser: SerializerName): Promise<RawClient> {
  const client = await connect(ser);
  client.send([1, 'realm1', { roles: ROLES }]);
  const welcome = await client.next(2000);
  expect(welcome[0], `expected WELCOME, got ${JSON.stringify(welcome)}`).to.equal(2);
  return client;
}

async function expectProtocolViolationAbort(client: RawClient): Promise<void> {
  const abort = await client.next(2000);
  expect(abort[0], `expected ABORT, got ${JSON.stringify(abort)}`).to.equal(3);
  expect(abort).to.have.length(3);
  expect(abort[2]).to.equal('wamp.error.protocol_violation');
  await client.waitClosed(2000);
}

/** Type codes of the messages received and not yet taken with next(). */
const kinds = (client: RawClient) => client.received.map((m) => m[0]);

for (const ser of ['json', 'msgpack'] as const) {
  describe(`no routing before WELCOME (wamp.2.${ser})`, function () {
    this.timeout(10000);

    beforeEach(async () => {
      tr = await startRouter({ limits: { closeHandshakeTimeoutMs: 1000 } });
    });

    afterEach(async () => {
      for (const client of clients) if (client.closeCode === undefined) client.close();
      await Promise.all(clients.map((client) => client.waitClosed(3000)));
      clients = [];
      await tr.stop();
      expect(tr.router.connectionCount).to.equal(0);
    });

    it('a SUBSCRIBE before HELLO gets ABORT, and the socket never receives the EVENT published meanwhile', async () => {
      const member = await join(ser);
      const intruder = await connect(ser);
      // The intruder subscribes and, at the same time, a joined client publishes there and registers.
      intruder.send([32, 1, {}, TOPIC]);
      member.send([16, 1, { acknowledge: true }, TOPIC, ['secret'], { k: 'v' }]);
      member.send([64, 2, {}, PROCEDURE]);
      const published = await member.next();
      expect(published[0], JSON.stringify(published)).to.equal(17);
      expect((await member.next())[0]).to.equal(65);
      await expectProtocolViolationAbort(intruder);
      // Publish again after the intruder is gone, to be sure no subscription survived anywhere.
      member.send([16, 3, { acknowledge: true }, TOPIC, ['secret2']]);
      expect((await member.next())[0]).to.equal(17);
      await sleep(QUIET_MS);
      // The ABORT was taken by expectProtocolViolationAbort; nothing may follow it.
      expect(kinds(intruder), 'received after the ABORT').to.deep.equal([]);
      expect(tr.router.realms.get('realm1')!.broker.subscriptionCount, 'subscriptions on the realm').to.equal(0);
    });

    it('a REGISTER before HELLO gets ABORT, no INVOCATION ever reaches it, and callers see no_such_procedure', async () => {
      const member = await join(ser);
      const intruder = await connect(ser);
      intruder.send([64, 1, {}, PROCEDURE]);
      member.send([48, 1, {}, PROCEDURE, ['for the intruder?']]);
      await expectProtocolViolationAbort(intruder);
      const answer = await member.next();
      expect(answer.slice(0, 3), JSON.stringify(answer)).to.deep.equal([8, 48, 1]);
      expect(answer[4]).to.equal('wamp.error.no_such_procedure');
      member.send([48, 2, {}, PROCEDURE]);
      expect((await member.next())[4]).to.equal('wamp.error.no_such_procedure');
      await sleep(QUIET_MS);
      expect(kinds(intruder), 'received after the ABORT').to.deep.equal([]);
      expect(tr.router.realms.get('realm1')!.dealer.registrationCount).to.equal(0);
    });

    it('a PUBLISH or CALL before HELLO reaches no subscriber and no callee', async () => {
      const member = await join(ser);
      member.send([32, 1, {}, TOPIC]);
      expect((await member.next())[0]).to.equal(33);
      member.send([64, 2, {}, PROCEDURE]);
      expect((await member.next())[0]).to.equal(65);

      const publisher = await connect(ser);
      publisher.send([16, 1, {}, TOPIC, ['forged']]);
      const caller = await connect(ser);
      caller.send([48, 1, {}, PROCEDURE, ['forged']]);
      await expectProtocolViolationAbort(publisher);
      await expectProtocolViolationAbort(caller);
      await sleep(QUIET_MS);
      expect(member.received, 'the joined member got a forged EVENT or INVOCATION').to.deep.equal([]);

      // Positive control: the same subscription and registration do work for a joined peer.
      const peer = await join(ser);
      peer.send([16, 1, {}, TOPIC, ['real']]);
      const event = await member.next();
      expect(event[0]).to.equal(36);
      expect(event[4]).to.deep.equal(['real']);
      peer.send([48, 2, {}, PROCEDURE, ['real']]);
      const invocation = await member.next();
      expect(invocation[0]).to.equal(68);
      expect(invocation[4]).to.deep.equal(['real']);
    });

    it('an open socket that has not said HELLO receives nothing while traffic flows, then only its WELCOME', async () => {
      const silent = await connect(ser);
      const subscriber = await join(ser);
      subscriber.send([32, 1, { match: 'prefix' }, 'com.']);
      expect((await subscriber.next())[0]).to.equal(33);
      const callee = await join(ser);
      callee.send([64, 1, { match: 'prefix' }, 'com.']);
      expect((await callee.next())[0]).to.equal(65);
      const member = await join(ser);
      for (let i = 1; i <= 5; i++) {
        member.send([16, i, { acknowledge: true, exclude_me: false }, `com.example.t${i}`, [i]]);
        expect((await member.next())[0]).to.equal(17);
      }
      member.send([48, 6, {}, 'com.example.p', []]);
      const invocation = await callee.next();
      expect(invocation[0]).to.equal(68);
      callee.send([70, invocation[1], {}, ['ok']]);
      expect((await member.next())[0]).to.equal(50);
      await waitFor(() => subscriber.received.length >= 5, { timeoutMs: 2000, what: 'the 5 events' });
      await sleep(QUIET_MS);
      expect(silent.received, 'the pre-HELLO socket').to.deep.equal([]);
      expect(silent.closeCode).to.equal(undefined);
      expect(joinedSessions(tr.router)).to.equal(3);

      silent.send([1, 'realm1', { roles: ROLES }]);
      expect((await silent.next())[0]).to.equal(2);
      await sleep(QUIET_MS);
      expect(kinds(silent), 'received after WELCOME: nothing published before it is replayed').to.deep.equal([]);
    });
  });
}

// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { deriveKey, signChallenge } from '../../auth/crypto.js';
import type { RealmConfig } from '../../router/config.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { nearMisses } from '../helpers/near-misses.js';
import { DEFAULT_ROLES, RawClient } from '../helpers/raw-client.js';
import { ALLOW_ALL, joinedSessions, startRouter, type TestRouter } from '../helpers/router.js';
import { noConnections, reconfigureRealm, registeringOnEveryNode, sessionOnAnyNode, singleNodeOnly, subscriptionCount } from '../helpers/topology.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Authentication end to end (wamp-spec §6, reliability.md §2.12 items 2–4 and 14–16): WAMP-CRA
 * (plain, salted key, secret+salt), ticket and cryptosign joins with autobahn-js; refusals; the
 * pre-auth gate and timeouts on the wire with RawClient; throttling; no secret in the logs;
 * dynamic authenticators; issued credentials, revocation, expiry and re-verification.
 */

const cra = (autobahn as any).auth_cra;
const cryptosign = (autobahn as any).auth_cryptosign;

// ----- credentials (every one distinct, so the log check can look for each) -----
const PETER_SECRET = 'peter-plain-secret-7QxV2';
const SALLY_PASSWORD = 'sally-password-K9vW3m';
const SALLY_SALT = 'sally-salt-2024';
/** Only this derived key goes into the config; the password never does. */
const SALLY_KEY = deriveKey(SALLY_PASSWORD, SALLY_SALT, 1000, 32);
const LEGACY_PASSWORD = 'legacy-plain-password-Zr4q';
const LEGACY_SALT = 'legacy-salt-x1';
const LEGACY_KEY = deriveKey(LEGACY_PASSWORD, LEGACY_SALT, 500, 32);
const ISSUER_SECRET = 'issuer-secret-Hh28Jd';
const AUTHSVC_SECRET = 'authsvc-secret-Lp02Ws';
const JOE_TICKET = 'joe-ticket-Pq81-zzT';
const CAROL_SEED = createHash('sha256').update('carol cryptosign seed').digest();
const CAROL = nacl.sign.keyPair.fromSeed(CAROL_SEED);
const CAROL_PUB = Buffer.from(CAROL.publicKey).toString('hex');

const APP_PERMISSIONS = [{ uri: 'com.app.', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }];
const NO_THROTTLE = { authFailureBaseDelayMs: 0 };
/** Why the throttling tests run on one node only: their attempts alternate between the nodes in the two-node run. */
const PER_NODE_THROTTLE = 'failed-login throttles and lockouts count per node';

function realm1(): Record<string, unknown> {
  return {
    name: 'realm1',
    roles: [
      { name: 'frontend', permissions: APP_PERMISSIONS },
      { name: 'admin', permissions: ALLOW_ALL },
      { name: 'browser', permissions: APP_PERMISSIONS },
      { name: 'trusted', permissions: [{ uri: 'switchyard.auth.', match: 'prefix', allow: { call: true } }] },
    ],
    auth: {
      wampcra: {
        users: {
          peter: { secret: PETER_SECRET, role: 'frontend' },
          sally: { key: SALLY_KEY, salt: SALLY_SALT, iterations: 1000, keylen: 32, role: 'frontend' },
          legacy: { secret: LEGACY_PASSWORD, salt: LEGACY_SALT, iterations: 500, keylen: 32, role: 'frontend' },
          issuer: { secret: ISSUER_SECRET, role: 'trusted' },
        },
        issue: { roles: ['browser'], lifetimeMs: 60_000 },
      },
      ticket: { users: { joe: { ticket: JOE_TICKET, role: 'frontend' } } },
      cryptosign: { users: { carol: { pubkeys: [CAROL_PUB], role: 'frontend' } } },
    },
  };
}

/** A realm that offers WAMP-CRA only. */
const REALM2 = {
  name: 'realm2',
  roles: [{ name: 'frontend', permissions: APP_PERMISSIONS }],
  auth: { wampcra: { users: { peter: { secret: PETER_SECRET, role: 'frontend' } } } },
};

/** A realm whose unknown users are looked up by a dynamic authenticator procedure. */
const DYNREALM = {
  name: 'dynrealm',
  roles: [
    { name: 'frontend', permissions: APP_PERMISSIONS },
    { name: 'backend', permissions: [{ uri: 'com.example.authenticate', match: 'exact', allow: { register: true } }] },
  ],
  auth: {
    wampcra: { users: { authsvc: { secret: AUTHSVC_SECRET, role: 'backend' } } },
    dynamic: { procedure: 'com.example.authenticate', methods: ['wampcra', 'ticket'] },
  },
};

function overrides(limits: Record<string, number> = NO_THROTTLE, realm: Record<string, unknown> = realm1()): Record<string, unknown> {
  return { realms: [realm, REALM2, DYNREALM], limits };
}

/** The HMAC key a WAMP-CRA client uses for this CHALLENGE: derived from the password when salted. */
function craKey(secret: string, extra: Record<string, any>): string {
  return extra.salt ? cra.derive_key(secret, extra.salt, extra.iterations, extra.keylen) : secret;
}

function expectWelcomeDetails(details: Record<string, any>, expected: Record<string, string>): void {
  expect(details).to.include({ realm: 'realm1', ...expected });
  expect(details.roles, 'WELCOME.Details.roles').to.be.an('object');
  expect(details.roles).to.include.keys('broker', 'dealer');
}

describe('authentication (integration)', function () {
  let tr: TestRouter | undefined;
  let clients: AbClient[];
  let raws: RawClient[];

  beforeEach(function () {
    tr = undefined;
    clients = [];
    raws = [];
  });

  afterEach(async function () {
    for (const raw of raws) raw.close();
    for (const client of clients) await client.close().catch(() => undefined);
    if (tr) {
      await tr.stop();
      expect(tr.router.connectionCount).to.equal(0);
    }
  });

  async function start(limits: Record<string, number> = NO_THROTTLE, realm?: Record<string, unknown>): Promise<TestRouter> {
    tr = await startRouter(overrides(limits, realm));
    return tr;
  }

  async function connect(ser: SerializerName, options: Record<string, unknown>): Promise<AbClient> {
    const client = registeringOnEveryNode(tr!, await connectAutobahn(tr!.url, ser, options));
    clients.push(client);
    return client;
  }

  /** The ABORT reason of a join that must be refused (fails the test if it is welcomed). */
  async function refusal(ser: SerializerName, options: Record<string, unknown>): Promise<string> {
    let client: AbClient;
    try {
      client = await connectAutobahn(tr!.url, ser, options);
    } catch (error) {
      return (error as Error).message;
    }
    clients.push(client);
    throw new Error(`expected the join to be refused, but it was welcomed as ${JSON.stringify(client.details)}`);
  }

  /** autobahn-js options for WAMP-CRA; `signatures` collects what was sent. */
  function craOptions(authid: string, secret: string, more: { realm?: string; ignoreSalt?: boolean; signatures?: string[]; challenges?: any[] } = {}) {
    return {
      realm: more.realm ?? 'realm1',
      authmethods: ['wampcra'],
      authid,
      onchallenge: (_session: unknown, method: string, extra: Record<string, any>) => {
        if (method !== 'wampcra') throw new Error(`unexpected authmethod ${method}`);
        more.challenges?.push(extra);
        const signature = cra.sign(more.ignoreSalt ? secret : craKey(secret, extra), extra.challenge);
        more.signatures?.push(signature);
        return signature;
      },
    };
  }

  function ticketOptions(authid: string, ticket: string, realm = 'realm1') {
    return { realm, authmethods: ['ticket'], authid, onchallenge: () => ticket };
  }

  function cryptosignOptions(keyPair: nacl.SignKeyPair, authid?: string, signatures?: string[]) {
    return {
      authmethods: ['cryptosign'],
      ...(authid ? { authid } : {}),
      authextra: { pubkey: Buffer.from(keyPair.publicKey).toString('hex') },
      onchallenge: (_session: unknown, method: string, extra: Record<string, any>) => {
        if (method !== 'cryptosign') throw new Error(`unexpected authmethod ${method}`);
        const signature = cryptosign.sign_challenge(keyPair, extra);
        signatures?.push(signature);
        return signature;
      },
    };
  }

  /** A raw socket that sent HELLO; resolves with the router's first answer. */
  async function rawHello(details: Record<string, unknown>, realm = 'realm1', ser: SerializerName = 'json'): Promise<{ client: RawClient; first: unknown[] }> {
    const client = await RawClient.connect(tr!.url, ser);
    raws.push(client);
    client.send([1, realm, { roles: DEFAULT_ROLES, ...details }]);
    const first = await client.next();
    return { client, first };
  }

  function challengeOf(message: unknown[], method = 'wampcra'): Record<string, any> {
    expect(message[0], `CHALLENGE expected, got ${JSON.stringify(message)}`).to.equal(4);
    expect(message[1]).to.equal(method);
    return message[2] as Record<string, any>;
  }

  /** A raw WAMP-CRA HELLO for `authid`; resolves with the socket and the CHALLENGE extra. */
  async function rawCraChallenge(authid: string, more: Record<string, unknown> = {}, realm = 'realm1') {
    const { client, first } = await rawHello({ authmethods: ['wampcra'], authid, ...more }, realm);
    return { client, extra: challengeOf(first) };
  }

  function rawCraSign(secret: string, extra: Record<string, any>): string {
    return signChallenge(extra.salt ? deriveKey(secret, extra.salt, extra.iterations, extra.keylen) : secret, extra.challenge);
  }

  /** After an ABORT the socket must close, and nothing but the ABORT may have arrived. */
  async function expectAbort(client: RawClient, reason: string): Promise<unknown[]> {
    const message = await client.next();
    expect(message[0], `ABORT expected, got ${JSON.stringify(message)}`).to.equal(3);
    expect(message[2]).to.equal(reason);
    await client.waitClosed();
    expect(client.received.filter((m) => m[0] === 2), 'no WELCOME').to.deep.equal([]);
    return message;
  }

  // ------------------------------------------------------------------------------------------
  for (const ser of ['json', 'msgpack'] as SerializerName[]) {
    describe(`joins with autobahn-js (${ser})`, function () {
      beforeEach(async function () {
        await start();
      });

      it('a plain WAMP-CRA user (secret is the HMAC key; no salt in the CHALLENGE)', async function () {
        const challenges: any[] = [];
        const client = await connect(ser, craOptions('peter', PETER_SECRET, { challenges }));
        expectWelcomeDetails(client.details, { authid: 'peter', authrole: 'frontend', authmethod: 'wampcra', authprovider: 'static' });
        expect(challenges).to.have.length(1);
        expect(challenges[0]).to.have.keys('challenge');
        const challenge = JSON.parse(challenges[0].challenge);
        expect(challenge).to.include({ authid: 'peter', authmethod: 'wampcra', session: client.session.id });
        expect(challenge, 'the challenge names no role or provider (issue 13.2)').to.not.have.any.keys('authrole', 'authprovider');
        expect(sessionOnAnyNode(tr!, client.session.id)?.authid).to.equal('peter');
      });

      it('a salted WAMP-CRA user (config holds only key+salt; the client derives from the password)', async function () {
        const challenges: any[] = [];
        const client = await connect(ser, craOptions('sally', SALLY_PASSWORD, { challenges }));
        expectWelcomeDetails(client.details, { authid: 'sally', authrole: 'frontend', authmethod: 'wampcra', authprovider: 'static' });
        expect(challenges[0]).to.include({ salt: SALLY_SALT, iterations: 1000, keylen: 32 });
      });

      it('a secret+salt user: derived at load, with a warning that carries no secret', async function () {
        const challenges: any[] = [];
        const client = await connect(ser, craOptions('legacy', LEGACY_PASSWORD, { challenges }));
        expectWelcomeDetails(client.details, { authid: 'legacy', authrole: 'frontend', authmethod: 'wampcra', authprovider: 'static' });
        expect(challenges[0]).to.include({ salt: LEGACY_SALT, iterations: 500, keylen: 32 });
        const warnings = tr!.logs.filter((line) => line.event === 'config.plain_secret_with_salt');
        // Each node derives the key when it loads the config, and warns once.
        expect(warnings, 'one warning for user legacy (per node)').to.have.length(tr!.nodes.length);
        expect(warnings[0]).to.include({ level: 'warn', authid: 'legacy' });
        const text = JSON.stringify(warnings);
        expect(text).to.not.include(LEGACY_PASSWORD);
        expect(text).to.not.include(LEGACY_KEY);
      });

      it('a ticket user', async function () {
        const client = await connect(ser, ticketOptions('joe', JOE_TICKET));
        expectWelcomeDetails(client.details, { authid: 'joe', authrole: 'frontend', authmethod: 'ticket', authprovider: 'static' });
      });

      it('a cryptosign user, with and without naming the authid', async function () {
        const named = await connect(ser, cryptosignOptions(CAROL, 'carol'));
        expectWelcomeDetails(named.details, { authid: 'carol', authrole: 'frontend', authmethod: 'cryptosign', authprovider: 'static' });
        const unnamed = await connect(ser, cryptosignOptions(CAROL));
        expectWelcomeDetails(unnamed.details, { authid: 'carol', authrole: 'frontend', authmethod: 'cryptosign' });
        expect(unnamed.session.id).to.not.equal(named.session.id);
      });

      it('the joined sessions can use what their role allows', async function () {
        const peter = await connect(ser, craOptions('peter', PETER_SECRET));
        const joe = await connect(ser, ticketOptions('joe', JOE_TICKET));
        await peter.session.register('com.app.whoami', (_a: unknown[], _k: unknown, details: any) => details.caller_authid ?? 'hidden', { disclose_caller: true });
        expect(await withTimeout(joe.session.call('com.app.whoami'), 3000, 'call')).to.equal('joe');
      });

      it('refuses a wrong secret with wamp.error.not_authorized', async function () {
        expect(await refusal(ser, craOptions('peter', 'not-peters-secret'))).to.equal('wamp.error.not_authorized');
        expect(await refusal(ser, craOptions('sally', 'not-sallys-password'))).to.equal('wamp.error.not_authorized');
        expect(await refusal(ser, ticketOptions('joe', 'not-joes-ticket'))).to.equal('wamp.error.not_authorized');
        expect(joinedSessions(tr!)).to.equal(0);
      });

      it('refuses the raw password signed where the salted key is expected', async function () {
        expect(await refusal(ser, craOptions('sally', SALLY_PASSWORD, { ignoreSalt: true }))).to.equal('wamp.error.not_authorized');
        expect(await refusal(ser, craOptions('legacy', LEGACY_PASSWORD, { ignoreSalt: true }))).to.equal('wamp.error.not_authorized');
        // And the derived key used as if it were a password (derived again by the client) fails too.
        expect(await refusal(ser, craOptions('sally', SALLY_KEY))).to.equal('wamp.error.not_authorized');
      });
    });
  }

  // ------------------------------------------------------------------------------------------
  describe('refusals and the handshake on the wire', function () {
    beforeEach(async function () {
      await start();
    });

    it('unknown authid: a CHALLENGE shaped like a known user\'s, stable across attempts, then not_authorized', async function () {
      const unknown1 = await rawCraChallenge('nobody-here');
      const unknown2 = await rawCraChallenge('nobody-here');
      // Salted or not is drawn per authid from the realm's users (see unknown-authid.test.ts); compare like with like.
      const known = await rawCraChallenge(unknown1.extra.salt === undefined ? 'peter' : 'sally');
      expect(Object.keys(unknown1.extra).sort()).to.deep.equal(Object.keys(known.extra).sort());
      const { challenge: _c1, ...params1 } = unknown1.extra;
      const { challenge: _c2, ...params2 } = unknown2.extra;
      expect(params1, 'the same salt parameters on two attempts').to.deep.equal(params2);
      const knownInner = JSON.parse(known.extra.challenge);
      const unknownInner = JSON.parse(unknown1.extra.challenge);
      expect(Object.keys(unknownInner).sort()).to.deep.equal(Object.keys(knownInner).sort());
      expect(unknownInner).to.include({ authid: 'nobody-here', authmethod: 'wampcra' });
      expect(unknownInner.nonce).to.have.length(64);

      unknown1.client.send([5, rawCraSign('anything', unknown1.extra), {}]);
      const unknownAbort = await expectAbort(unknown1.client, 'wamp.error.not_authorized');
      known.client.send([5, rawCraSign('wrong password', known.extra), {}]);
      const knownAbort = await expectAbort(known.client, 'wamp.error.not_authorized');
      expect(unknownAbort, 'an unknown authid is refused exactly like a wrong password').to.deep.equal(knownAbort);
      unknown2.client.close();
    });

    it('unknown authid via autobahn-js is refused', async function () {
      expect(await refusal('json', craOptions('nobody-here', 'guess'))).to.equal('wamp.error.not_authorized');
    });

    it('ticket comparison: empty, one character short or long, last character changed, other case: all ABORT not_authorized (issue 13.7)', async function () {
      for (const [what, ticket] of Object.entries(nearMisses(JOE_TICKET))) {
        expect(await refusal('json', ticketOptions('joe', ticket)), what).to.equal('wamp.error.not_authorized');
      }
      expect(joinedSessions(tr!), 'no WELCOME').to.equal(0);
      const joe = await connect('json', ticketOptions('joe', JOE_TICKET));
      expect(joe.details.authid, 'the exact ticket still works').to.equal('joe');
    });

    it('missing authid is refused', async function () {
      expect(await refusal('json', { authmethods: ['wampcra'], onchallenge: () => 'x' })).to.equal('wamp.error.not_authorized');
      expect(await refusal('json', { authmethods: ['ticket'], onchallenge: () => JOE_TICKET })).to.equal('wamp.error.not_authorized');
      const { client, first } = await rawHello({ authmethods: ['wampcra'] });
      expect(first[0]).to.equal(3);
      expect(first[2]).to.equal('wamp.error.not_authorized');
      await client.waitClosed();
    });

    it('a method the realm does not offer gets wamp.error.no_auth_method', async function () {
      expect(await refusal('json', ticketOptions('peter', 'whatever', 'realm2'))).to.equal('wamp.error.no_auth_method');
      expect(await refusal('json', { realm: 'realm2' })).to.equal('wamp.error.no_auth_method'); // anonymous
      // The same user over the offered method is fine.
      const client = await connect('json', craOptions('peter', PETER_SECRET, { realm: 'realm2' }));
      expect(client.details).to.include({ realm: 'realm2', authid: 'peter', authmethod: 'wampcra' });
    });

    it('HELLO.authrole "admin" from a user configured as "frontend" is welcomed as "frontend"', async function () {
      const { client, extra } = await rawCraChallenge('peter', { authrole: 'admin' });
      expect(JSON.parse(extra.challenge)).to.not.have.property('authrole');
      client.send([5, rawCraSign(PETER_SECRET, extra), {}]);
      const welcome = await client.next();
      expect(welcome[0], JSON.stringify(welcome)).to.equal(2);
      expect(welcome[2]).to.include({ authid: 'peter', authrole: 'frontend' });
      expect(sessionOnAnyNode(tr!, welcome[1] as number)?.authrole).to.equal('frontend');
    });

    it('a replayed AUTHENTICATE from an earlier session is refused', async function () {
      const a = await rawCraChallenge('peter');
      const signatureA = rawCraSign(PETER_SECRET, a.extra);
      a.client.send([5, signatureA, {}]);
      const welcomeA = await a.client.next();
      expect(welcomeA[0], JSON.stringify(welcomeA)).to.equal(2);

      const b = await rawCraChallenge('peter');
      expect(b.extra.challenge).to.not.equal(a.extra.challenge);
      b.client.send([5, signatureA, {}]);
      await expectAbort(b.client, 'wamp.error.not_authorized');

      // Also after A has gone.
      a.client.close();
      await a.client.waitClosed();
      const c = await rawCraChallenge('peter');
      c.client.send([5, signatureA, {}]);
      await expectAbort(c.client, 'wamp.error.not_authorized');
    });

    it('a second AUTHENTICATE on the same challenge never yields a WELCOME (wrong then right, pipelined)', async function () {
      const { client, extra } = await rawCraChallenge('peter');
      client.send([5, rawCraSign('wrong secret', extra), {}]);
      client.send([5, rawCraSign(PETER_SECRET, extra), {}]);
      await expectAbort(client, 'wamp.error.not_authorized');
      await sleep(100);
      expect(client.received.filter((m) => m[0] === 2)).to.deep.equal([]);
      expect(joinedSessions(tr!)).to.equal(0);
    });

    it('after a refused AUTHENTICATE the connection is closed: the right answer cannot follow', async function () {
      const { client, extra } = await rawCraChallenge('peter');
      client.send([5, rawCraSign('wrong secret', extra), {}]);
      await expectAbort(client, 'wamp.error.not_authorized');
      expect(client.ws.readyState).to.equal(client.ws.CLOSED);
      expect(joinedSessions(tr!)).to.equal(0);
    });

    it('the right AUTHENTICATE twice: one WELCOME, the second is a protocol violation', async function () {
      const { client, extra } = await rawCraChallenge('peter');
      const signature = rawCraSign(PETER_SECRET, extra);
      client.send([5, signature, {}]);
      client.send([5, signature, {}]);
      const welcome = await client.next();
      expect(welcome[0]).to.equal(2);
      await expectAbortAfterWelcome(client, 'wamp.error.protocol_violation');
      expect(client.received.filter((m) => m[0] === 2)).to.deep.equal([]);
    });

    it('AUTHENTICATE before any HELLO is refused', async function () {
      const client = await RawClient.connect(tr!.url, 'json');
      raws.push(client);
      client.send([5, 'c2lnbmF0dXJl', {}]);
      const message = await client.next();
      expect(message[0]).to.equal(3);
      expect(message[2]).to.be.oneOf(['wamp.error.protocol_violation', 'wamp.error.not_authorized']);
      await client.waitClosed();
    });

    it('5 challenges carry 5 distinct 64-character nonces and fresh ISO timestamps', async function () {
      const before = Date.now();
      const nonces: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { client, extra } = await rawCraChallenge('peter');
        const inner = JSON.parse(extra.challenge);
        expect(inner.nonce).to.be.a('string').with.length(64);
        expect(new Date(inner.timestamp).toISOString()).to.equal(inner.timestamp);
        expect(Date.parse(inner.timestamp)).to.be.within(before - 1000, Date.now() + 1000);
        nonces.push(inner.nonce);
        client.close();
      }
      expect(new Set(nonces).size).to.equal(5);
    });

    it('the challenge\'s session equals the WELCOME session ID', async function () {
      for (const authid of ['peter', 'sally']) {
        const { client, extra } = await rawCraChallenge(authid);
        const inner = JSON.parse(extra.challenge);
        client.send([5, rawCraSign(authid === 'peter' ? PETER_SECRET : SALLY_PASSWORD, extra), {}]);
        const welcome = await client.next();
        expect(welcome[0], JSON.stringify(welcome)).to.equal(2);
        expect(welcome[1]).to.equal(inner.session);
        expect(welcome[2]).to.include({ authid, authmethod: 'wampcra', authprovider: 'static', realm: 'realm1' });
      }
    });

    it('before WELCOME only HELLO/AUTHENTICATE/ABORT: SUBSCRIBE or CALL mid-challenge is a protocol violation and nothing is routed', async function () {
      const subscriber = await connect('json', craOptions('sally', SALLY_PASSWORD));
      const events: unknown[][] = [];
      await subscriber.session.subscribe('com.app.news', (args: unknown[]) => { events.push(args); });
      const publisher = await connect('json', craOptions('peter', PETER_SECRET));
      let invocations = 0;
      await publisher.session.register('com.app.proc', () => { invocations++; return 'routed'; });
      expect(subscriptionCount(tr!)).to.equal(1);

      // A session mid-challenge tries to subscribe; meanwhile a joined client publishes.
      const p1 = await rawCraChallenge('joe-nobody');
      p1.client.send([32, 1, {}, 'com.app.news']);
      const ack1 = withTimeout(publisher.session.publish('com.app.news', ['one'], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
      await expectAbort(p1.client, 'wamp.error.protocol_violation');
      await ack1;

      // Another tries to call.
      const p2 = await rawCraChallenge('peter');
      p2.client.send([48, 1, {}, 'com.app.proc', ['x']]);
      await expectAbort(p2.client, 'wamp.error.protocol_violation');

      // A third stays pending while more is published: it receives nothing.
      const p3 = await rawCraChallenge('peter');
      await withTimeout(publisher.session.publish('com.app.news', ['two'], {}, { acknowledge: true })!, 3000, 'PUBLISHED');
      await waitFor(() => events.length === 2, { what: 'the joined subscriber got both events' });
      await sleep(50);
      expect(p1.client.received.map((m) => m[0]), 'p1 got no EVENT').to.deep.equal([]);
      expect(p2.client.received.map((m) => m[0]), 'p2 got no RESULT/INVOCATION').to.deep.equal([]);
      expect(p3.client.received, 'p3 got nothing while pending').to.deep.equal([]);
      expect(invocations).to.equal(0);
      expect(subscriptionCount(tr!), 'no subscription was created before WELCOME').to.equal(1);
      expect(events).to.deep.equal([['one'], ['two']]);

      // p3 can still complete its own handshake (it was not disturbed by the others).
      p3.client.send([5, rawCraSign(PETER_SECRET, p3.extra), {}]);
      expect((await p3.client.next())[0]).to.equal(2);
    });

    it('a 100 KiB AUTHENTICATE closes the connection (pre-auth cap 64 KiB)', async function () {
      const { client } = await rawCraChallenge('peter');
      client.send([5, 'A'.repeat(100 * 1024), {}]);
      await client.waitClosed();
      expect(client.received.filter((m) => m[0] === 2), 'no WELCOME').to.deep.equal([]);
      const abort = client.received.find((m) => m[0] === 3);
      if (abort) expect(abort[2]).to.equal('wamp.error.protocol_violation');
      expect(client.closeCode).to.equal(1009);
      expect(joinedSessions(tr!)).to.equal(0);
    });
  });

  /** After a WELCOME was taken: the next message is ABORT `reason` and the socket closes. */
  async function expectAbortAfterWelcome(client: RawClient, reason: string): Promise<void> {
    const message = await client.next();
    expect(message[0], `ABORT expected, got ${JSON.stringify(message)}`).to.equal(3);
    expect(message[2]).to.equal(reason);
    await client.waitClosed();
  }

  // ------------------------------------------------------------------------------------------
  describe('timeouts before WELCOME', function () {
    it('AUTHENTICATE after authTimeoutMs (300 ms): closed, no WELCOME', async function () {
      await start({ ...NO_THROTTLE, authTimeoutMs: 300 });
      const started = Date.now();
      const { client, extra } = await rawCraChallenge('peter');
      const signature = rawCraSign(PETER_SECRET, extra);
      await sleep(450);
      if (client.ws.readyState === client.ws.OPEN) client.send([5, signature, {}]);
      await client.waitClosed(2000);
      const elapsed = Date.now() - started;
      expect(elapsed, 'closed by the auth timer, not earlier').to.be.at.least(250);
      expect(client.received.filter((m) => m[0] === 2), 'no WELCOME').to.deep.equal([]);
      const abort = client.received.find((m) => m[0] === 3);
      expect(abort, 'an ABORT before the close').to.not.equal(undefined);
      expect(joinedSessions(tr!)).to.equal(0);
      await waitFor(() => noConnections(tr!), { what: 'connection released' });
    });

    it('an AUTHENTICATE just inside authTimeoutMs still works', async function () {
      await start({ ...NO_THROTTLE, authTimeoutMs: 300 });
      const { client, extra } = await rawCraChallenge('peter');
      await sleep(100);
      client.send([5, rawCraSign(PETER_SECRET, extra), {}]);
      expect((await client.next())[0]).to.equal(2);
      await sleep(400); // the auth timer must have been cleared by WELCOME
      expect(client.closeCode).to.equal(undefined);
      expect(joinedSessions(tr!)).to.equal(1);
    });

    it('a silent socket is closed after helloTimeoutMs (200 ms)', async function () {
      await start({ ...NO_THROTTLE, helloTimeoutMs: 200 });
      const started = Date.now();
      const client = await RawClient.connect(tr!.url, 'json');
      raws.push(client);
      await client.waitClosed(2000);
      expect(Date.now() - started).to.be.at.least(150);
      await waitFor(() => noConnections(tr!), { what: 'connection released' });
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('cryptosign on the wire', function () {
    beforeEach(async function () {
      await start();
    });

    function signCs(keyPair: nacl.SignKeyPair, challengeHex: string): string {
      const challenge = Buffer.from(challengeHex, 'hex');
      return Buffer.from(nacl.sign.detached(challenge, keyPair.secretKey)).toString('hex') + challenge.toString('hex');
    }

    async function csChallenge(keyPair: nacl.SignKeyPair, authid?: string) {
      const pubkey = Buffer.from(keyPair.publicKey).toString('hex');
      const { client, first } = await rawHello({ authmethods: ['cryptosign'], ...(authid ? { authid } : {}), authextra: { pubkey } });
      return { client, extra: challengeOf(first, 'cryptosign') };
    }

    it('the CHALLENGE is 32 random bytes as hex, channel_binding null', async function () {
      const a = await csChallenge(CAROL, 'carol');
      const b = await csChallenge(CAROL, 'carol');
      expect(a.extra).to.have.keys('challenge', 'channel_binding');
      expect(a.extra.channel_binding).to.equal(null);
      expect(a.extra.challenge).to.match(/^[0-9a-f]{64}$/);
      expect(a.extra.challenge).to.not.equal(b.extra.challenge);
      a.client.send([5, signCs(CAROL, a.extra.challenge), {}]);
      const welcome = await a.client.next();
      expect(welcome[0], JSON.stringify(welcome)).to.equal(2);
      expect(welcome[2]).to.include({ authid: 'carol', authrole: 'frontend', authmethod: 'cryptosign' });
    });

    it('a replayed signature from an earlier session is refused', async function () {
      const a = await csChallenge(CAROL, 'carol');
      const signatureA = signCs(CAROL, a.extra.challenge);
      a.client.send([5, signatureA, {}]);
      expect((await a.client.next())[0]).to.equal(2);
      const b = await csChallenge(CAROL, 'carol');
      b.client.send([5, signatureA, {}]);
      await expectAbort(b.client, 'wamp.error.not_authorized');
      // Without naming the authid too.
      const c = await csChallenge(CAROL);
      c.client.send([5, signatureA, {}]);
      await expectAbort(c.client, 'wamp.error.not_authorized');
    });

    it('an unknown pubkey gets a CHALLENGE of the same shape, then is refused even when it signs correctly', async function () {
      const known = await csChallenge(CAROL, 'carol');
      const stranger = nacl.sign.keyPair.fromSeed(randomBytes(32));
      for (const authid of [undefined, 'mallory', 'carol']) {
        const unknown = await csChallenge(stranger, authid);
        expect(Object.keys(unknown.extra).sort()).to.deep.equal(Object.keys(known.extra).sort());
        expect(unknown.extra.challenge).to.match(/^[0-9a-f]{64}$/);
        expect(unknown.extra.channel_binding).to.equal(null);
        unknown.client.send([5, signCs(stranger, unknown.extra.challenge), {}]);
        await expectAbort(unknown.client, 'wamp.error.not_authorized');
      }
      known.client.close();
    });

    it('a garbage or truncated signature is refused', async function () {
      for (const bad of ['', 'zz', 'ab'.repeat(96).slice(0, 190)]) {
        const { client } = await csChallenge(CAROL, 'carol');
        client.send([5, bad, {}]);
        await expectAbort(client, 'wamp.error.not_authorized');
      }
    });

    it('a HELLO without a valid authextra.pubkey is refused', async function () {
      for (const authextra of [{}, { pubkey: 'abc' }, { pubkey: 'g'.repeat(64) }]) {
        const { client, first } = await rawHello({ authmethods: ['cryptosign'], authid: 'carol', authextra });
        expect(first[0]).to.equal(3);
        expect(first[2]).to.equal('wamp.error.not_authorized');
        await client.waitClosed();
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('throttling failed logins', function () {
    it('two failures lock the authid: even the right secret is refused at once; after the lock it works', async function () {
      singleNodeOnly(this, PER_NODE_THROTTLE);
      await start({ authFailureBaseDelayMs: 200, authFreeFailuresPerAuthid: 1 });
      expect(await refusal('json', craOptions('peter', 'wrong-1'))).to.equal('wamp.error.not_authorized'); // free
      expect(await refusal('json', craOptions('peter', 'wrong-2'))).to.equal('wamp.error.not_authorized'); // locks 200 ms
      const lockedAt = Date.now();

      // Refused immediately: ABORT instead of a CHALLENGE.
      const { client, first } = await rawHello({ authmethods: ['wampcra'], authid: 'peter' });
      expect(first[0], `expected ABORT without CHALLENGE, got ${JSON.stringify(first)}`).to.equal(3);
      expect(first[2]).to.equal('wamp.error.not_authorized');
      await client.waitClosed();
      expect(await refusal('json', craOptions('peter', PETER_SECRET)), 'right secret while locked').to.equal('wamp.error.not_authorized');
      expect(Date.now() - lockedAt, 'still inside the lock when refused').to.be.below(200);

      // Another authid is not locked.
      const sally = await connect('json', craOptions('sally', SALLY_PASSWORD));
      expect(sally.details.authid).to.equal('sally');

      await sleep(Math.max(0, lockedAt + 300 - Date.now()));
      const peter = await connect('json', craOptions('peter', PETER_SECRET));
      expect(peter.details).to.include({ authid: 'peter', authrole: 'frontend' });
    });

    it('challenges obtained before the lock cannot be answered during it (no parallel-guessing bypass)', async function () {
      singleNodeOnly(this, PER_NODE_THROTTLE);
      await start({ authFailureBaseDelayMs: 2000, authFreeFailuresPerAuthid: 1 });
      // A guesser opens several challenges for one authid before failing any of them.
      const pending = [];
      for (let i = 0; i < 4; i++) pending.push(await rawCraChallenge('peter'));
      const [first, second, ...rest] = pending;
      first!.client.send([5, rawCraSign('guess-1', first!.extra), {}]);
      await expectAbort(first!.client, 'wamp.error.not_authorized'); // free failure
      second!.client.send([5, rawCraSign('guess-2', second!.extra), {}]);
      await expectAbort(second!.client, 'wamp.error.not_authorized'); // peter is now locked for 2 s
      // Sanity: a fresh HELLO is refused at once.
      const fresh = await rawHello({ authmethods: ['wampcra'], authid: 'peter' });
      expect(fresh.first[0], 'locked at HELLO').to.equal(3);
      // Answers on the older challenges arrive during the lock: none may be evaluated, even a right one.
      rest[0]!.client.send([5, rawCraSign('guess-3', rest[0]!.extra), {}]);
      await expectAbort(rest[0]!.client, 'wamp.error.not_authorized');
      rest[1]!.client.send([5, rawCraSign(PETER_SECRET, rest[1]!.extra), {}]);
      const answer = await rest[1]!.client.next();
      expect(answer[0], `an AUTHENTICATE during the lock was evaluated and welcomed: ${JSON.stringify(answer).slice(0, 200)}`).to.equal(3);
      expect(answer[2]).to.equal('wamp.error.not_authorized');
    });

    it('the per-address budget locks every authid from that address', async function () {
      singleNodeOnly(this, PER_NODE_THROTTLE);
      await start({ authFailureBaseDelayMs: 200, authFreeFailuresPerAuthid: 100, authFreeFailuresPerIp: 2 });
      for (const authid of ['a-user', 'b-user', 'c-user']) {
        expect(await refusal('json', craOptions(authid, 'guess'))).to.equal('wamp.error.not_authorized');
      }
      const lockedAt = Date.now();
      expect(await refusal('json', craOptions('sally', SALLY_PASSWORD))).to.equal('wamp.error.not_authorized');
      expect(Date.now() - lockedAt).to.be.below(200);
      await sleep(Math.max(0, lockedAt + 300 - Date.now()));
      const sally = await connect('json', craOptions('sally', SALLY_PASSWORD));
      expect(sally.details.authid).to.equal('sally');
    });

    it('authFailureBaseDelayMs 0 never locks', async function () {
      await start({ authFailureBaseDelayMs: 0, authFreeFailuresPerAuthid: 0, authFreeFailuresPerIp: 0 });
      for (let i = 0; i < 4; i++) expect(await refusal('json', craOptions('peter', `wrong-${i}`))).to.equal('wamp.error.not_authorized');
      const peter = await connect('json', craOptions('peter', PETER_SECRET));
      expect(peter.details.authid).to.equal('peter');
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('secrets never logged', function () {
    it('after failed and successful logins of every method the logs hold no secret, ticket, key or signature', async function () {
      await start();
      const signatures: string[] = [];
      const wrongTickets = ['wrong-ticket-Yy71', 'unknown-user-ticket-Bb02'];
      // Failed WAMP-CRA logins: wrong secret, raw password for a salted user, unknown authid, legacy user.
      await refusal('json', craOptions('peter', 'wrong-secret-Mm44', { signatures }));
      await refusal('json', craOptions('sally', SALLY_PASSWORD, { ignoreSalt: true, signatures }));
      await refusal('json', craOptions('sally', SALLY_KEY, { signatures }));
      await refusal('json', craOptions('nobody-here', 'guess-secret-Qq55', { signatures }));
      await refusal('json', craOptions('legacy', LEGACY_KEY, { signatures }));
      // Failed ticket logins.
      await refusal('json', ticketOptions('joe', wrongTickets[0]!));
      await refusal('json', ticketOptions('nobody-here', wrongTickets[1]!));
      // Failed cryptosign logins: a stranger's key, and carol's key answering with a replay.
      const stranger = nacl.sign.keyPair.fromSeed(randomBytes(32));
      await refusal('json', cryptosignOptions(stranger, 'carol', signatures));
      const carolSignatures: string[] = [];
      const carol = await connect('json', cryptosignOptions(CAROL, 'carol', carolSignatures));
      await carol.close();
      await refusal('json', { ...cryptosignOptions(CAROL, 'carol'), onchallenge: () => carolSignatures[0] });
      // Successful logins of every method.
      for (const [authid, secret] of [['peter', PETER_SECRET], ['sally', SALLY_PASSWORD], ['legacy', LEGACY_PASSWORD]] as const) {
        await (await connect('json', craOptions(authid, secret, { signatures }))).close();
      }
      await (await connect('json', ticketOptions('joe', JOE_TICKET))).close();
      signatures.push(...carolSignatures);

      const text = JSON.stringify(tr!.logs);
      expect(tr!.logs.some((line) => /auth/.test(String(line.event))), 'failed logins were logged at all').to.equal(true);
      const secrets: Record<string, string> = {
        PETER_SECRET, SALLY_PASSWORD, SALLY_KEY, LEGACY_PASSWORD, LEGACY_KEY, ISSUER_SECRET, JOE_TICKET,
        wrongSecret: 'wrong-secret-Mm44', guess: 'guess-secret-Qq55', wrongTicket0: wrongTickets[0]!, wrongTicket1: wrongTickets[1]!,
        carolSeed: CAROL_SEED.toString('hex'), carolSecretKey: Buffer.from(CAROL.secretKey).toString('hex'),
        strangerSeed: Buffer.from(stranger.secretKey).toString('hex').slice(0, 64),
      };
      expect(signatures.length).to.be.at.least(10);
      signatures.forEach((signature, i) => { secrets[`signature${i}`] = signature; });
      // Also the base64 body of each signature without padding, and the Ed25519 part alone.
      signatures.forEach((signature, i) => { secrets[`signatureCore${i}`] = signature.replace(/=+$/, '').slice(0, 40); });
      for (const [name, secret] of Object.entries(secrets)) {
        expect(text.includes(secret), `log contains ${name}`).to.equal(false);
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('a failed login is one log line with its server-side cause (issue 14.3)', function () {
    type Line = Record<string, unknown>;

    /** The log lines written while `attempt` ran (and shortly after). */
    async function linesOf(attempt: () => Promise<unknown>): Promise<Line[]> {
      const from = tr!.logs.length;
      await attempt();
      await sleep(50);
      return tr!.logs.slice(from);
    }

    /** Exactly one `auth.failed` line at info with realm, authid, authmethod, peer and cause; no other line about it. */
    function expectOneLine(lines: Line[], expected: { authid?: string; authmethod: string; cause: string; realm?: string }): Line {
      const about = lines.filter((l) => /^(auth\.|session\.(abort|auth_failed))/.test(String(l.event)));
      expect(about.map((l) => l.event), JSON.stringify(about)).to.deep.equal(['auth.failed']);
      const line = about[0]!;
      expect(line).to.include({ level: 'info', realm: expected.realm ?? 'realm1', authmethod: expected.authmethod, cause: expected.cause });
      expect(line.authid).to.equal(expected.authid);
      expect(line.peer).to.match(/^127\.0\.0\.1:\d+$/);
      expect(Object.keys(line)).to.not.include.members(['secret', 'signature', 'challenge', 'ticket']);
      return line;
    }

    it('unknown_authid, bad_signature, bad_ticket, replay, dynamic_failed; never the secret', async function () {
      await start();
      expectOneLine(await linesOf(() => refusal('json', craOptions('nobody-here', 'guess-Uu11'))), { authid: 'nobody-here', authmethod: 'wampcra', cause: 'unknown_authid' });
      expectOneLine(await linesOf(() => refusal('json', craOptions('peter', 'wrong-Vv22'))), { authid: 'peter', authmethod: 'wampcra', cause: 'bad_signature' });
      expectOneLine(await linesOf(() => refusal('json', ticketOptions('joe', 'wrong-ticket-Ww33'))), { authid: 'joe', authmethod: 'ticket', cause: 'bad_ticket' });
      const stranger = nacl.sign.keyPair.fromSeed(randomBytes(32));
      expectOneLine(await linesOf(() => refusal('json', cryptosignOptions(stranger, 'carol'))), { authid: 'carol', authmethod: 'cryptosign', cause: 'unknown_authid' });

      // A pipelined second AUTHENTICATE on a refused challenge: still one line.
      const replayLines = await linesOf(async () => {
        const { client, extra } = await rawCraChallenge('sally');
        client.send([5, rawCraSign('wrong', extra), {}]);
        client.send([5, rawCraSign(SALLY_PASSWORD, extra), {}]);
        await client.waitClosed();
      });
      expectOneLine(replayLines, { authid: 'sally', authmethod: 'wampcra', cause: 'bad_signature' });

      // No authenticator registered on dynrealm: the call fails.
      const dynamic = expectOneLine(await linesOf(() => refusal('json', craOptions('dana', 'x', { realm: 'dynrealm' }))),
        { realm: 'dynrealm', authid: 'dana', authmethod: 'wampcra', cause: 'dynamic_failed' });
      expect(dynamic.detail).to.match(/^com\.example\.authenticate: wamp\.error\.no_such_procedure/);

      const text = JSON.stringify(tr!.logs);
      for (const secret of ['guess-Uu11', 'wrong-Vv22', 'wrong-ticket-Ww33', JOE_TICKET, SALLY_PASSWORD, PETER_SECRET]) expect(text).to.not.include(secret);
    });

    it('revoked', async function () {
      await start();
      const trusted = await connect('json', craOptions('issuer', ISSUER_SECRET));
      await withTimeout(trusted.session.call('switchyard.auth.revoke', [], { authid: 'joe' }), 3000, 'revoke');
      expectOneLine(await linesOf(() => refusal('json', ticketOptions('joe', JOE_TICKET))), { authid: 'joe', authmethod: 'ticket', cause: 'revoked' });
      expect(JSON.stringify(tr!.logs)).to.not.include(JOE_TICKET);
    });

    it('throttled', async function () {
      singleNodeOnly(this, PER_NODE_THROTTLE);
      await start({ authFailureBaseDelayMs: 5000, authFreeFailuresPerAuthid: 1 });
      await refusal('json', craOptions('peter', 'wrong-1'));
      await refusal('json', craOptions('peter', 'wrong-2'));
      expectOneLine(await linesOf(() => refusal('json', craOptions('peter', PETER_SECRET))), { authid: 'peter', authmethod: 'wampcra', cause: 'throttled' });
    });

    it('expired and timeout', async function () {
      await start({ ...NO_THROTTLE, authTimeoutMs: 300 });
      const trusted = await connect('json', craOptions('issuer', ISSUER_SECRET));
      const issued = await withTimeout(trusted.session.call('switchyard.auth.issue', [], { authid: 'web-brief', role: 'browser', lifetimeMs: 1000 }), 3000, 'issue');
      const credential = issued.kwargs;
      await sleep(1100);
      expectOneLine(await linesOf(() => refusal('json', craOptions('web-brief', credential.secret))), { authid: 'web-brief', authmethod: 'wampcra', cause: 'expired' });

      expectOneLine(await linesOf(async () => {
        const { client } = await rawCraChallenge('sally');
        await client.waitClosed(2000);
      }), { authid: 'sally', authmethod: 'wampcra', cause: 'timeout' });
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('dynamic authenticator', function () {
    interface AuthCall { realm: string; authid: string; details: Record<string, any> }

    beforeEach(async function () {
      await start();
    });

    /** The backend: joins dynrealm as a static user and registers the authenticator. */
    async function backend(answer: (authid: string, details: Record<string, any>) => unknown): Promise<AuthCall[]> {
      const calls: AuthCall[] = [];
      const client = await connect('json', { ...craOptions('authsvc', AUTHSVC_SECRET, { realm: 'dynrealm' }), on_user_error: () => undefined });
      expect(client.details).to.include({ authid: 'authsvc', authrole: 'backend' });
      await withTimeout(client.session.register('com.example.authenticate', (args: any[]) => {
        const [realm, authid, details] = args;
        calls.push({ realm, authid, details });
        return answer(authid, details);
      }), 3000, 'register authenticator');
      return calls;
    }

    const dyn = (opts: Record<string, unknown>) => ({ ...opts, realm: 'dynrealm' });

    it('wampcra via dynamic {role, secret}: the join works, with details of the pending session', async function () {
      const calls = await backend((authid) => (authid === 'dana' ? { role: 'frontend', secret: 'dana-dyn-secret' } : null));
      const client = await connect('json', craOptions('dana', 'dana-dyn-secret', { realm: 'dynrealm' }));
      expect(client.details).to.include({ realm: 'dynrealm', authid: 'dana', authrole: 'frontend', authmethod: 'wampcra', authprovider: 'dynamic' });
      expect(calls).to.have.length(1);
      expect(calls[0]!.realm).to.equal('dynrealm');
      expect(calls[0]!.authid).to.equal('dana');
      expect(calls[0]!.details).to.include({ authmethod: 'wampcra', authid: 'dana', session: client.session.id });
      expect(await refusal('json', craOptions('dana', 'wrong', { realm: 'dynrealm' }))).to.equal('wamp.error.not_authorized');
    });

    it('wampcra via dynamic returning a salted key: the client derives from the password', async function () {
      const key = deriveKey('dyn-password', 'dyn-salt', 1000, 32);
      await backend(() => ({ role: 'frontend', key, salt: 'dyn-salt', iterations: 1000, keylen: 32 }));
      const challenges: any[] = [];
      const client = await connect('json', craOptions('dora', 'dyn-password', { realm: 'dynrealm', challenges }));
      expect(client.details).to.include({ authid: 'dora', authrole: 'frontend', authprovider: 'dynamic' });
      expect(challenges[0]).to.include({ salt: 'dyn-salt', iterations: 1000, keylen: 32 });
      expect(await refusal('json', craOptions('dora', 'dyn-password', { realm: 'dynrealm', ignoreSalt: true }))).to.equal('wamp.error.not_authorized');
    });

    it('an authenticator that throws refuses the login', async function () {
      const calls = await backend(() => { throw new autobahn.Error('com.example.error.no_such_user'); });
      const reason = await refusal('json', craOptions('eve', 'anything', { realm: 'dynrealm' }));
      expect(reason).to.be.oneOf(['wamp.error.not_authorized', 'com.example.error.no_such_user', 'wamp.error.authentication_failed']);
      expect(calls).to.have.length(1);
      expect(await refusal('json', dyn(ticketOptions('eve', 'any-ticket')))).to.not.equal(undefined);
      expect(joinedSessions(tr!)).to.equal(1); // the backend only
    });

    it('an authenticator answering nonsense refuses the login', async function () {
      await backend((authid) => (authid === 'n1' ? { secret: 'no-role' } : authid === 'n2' ? 42 : { role: 'no-such-role', secret: 's' }));
      for (const authid of ['n1', 'n2']) {
        expect(await refusal('json', craOptions(authid, 'no-role', { realm: 'dynrealm' }))).to.equal('wamp.error.not_authorized');
      }
      expect(await refusal('json', craOptions('n3', 's', { realm: 'dynrealm' }))).to.be.oneOf(['wamp.error.no_such_role', 'wamp.error.not_authorized']);
    });

    it('with no authenticator registered nobody is admitted', async function () {
      for (const guess of ['', 'dana', 'password', 'dana-dyn-secret']) {
        expect(await refusal('json', craOptions('dana', guess, { realm: 'dynrealm' })), `guess ${JSON.stringify(guess)}`).to.be.oneOf(['wamp.error.not_authorized', 'wamp.error.authentication_failed']);
      }
      expect(await refusal('json', dyn(ticketOptions('dana', 'any')))).to.be.oneOf(['wamp.error.not_authorized', 'wamp.error.authentication_failed']);
      expect(joinedSessions(tr!)).to.equal(0);
    });

    it('ticket via dynamic: the authenticator gets details.ticket and may answer with a role string', async function () {
      const calls = await backend((_authid, details) => {
        if (details.ticket !== 'tina-ticket') throw new autobahn.Error('com.example.error.bad_ticket');
        return 'frontend';
      });
      const client = await connect('json', dyn(ticketOptions('tina', 'tina-ticket')));
      expect(client.details).to.include({ realm: 'dynrealm', authid: 'tina', authrole: 'frontend', authmethod: 'ticket', authprovider: 'dynamic' });
      expect(calls).to.have.length(1);
      expect(calls[0]!.details).to.include({ authmethod: 'ticket', authid: 'tina', ticket: 'tina-ticket' });
      expect(await refusal('json', dyn(ticketOptions('tina', 'forged')))).to.be.oneOf(['wamp.error.not_authorized', 'com.example.error.bad_ticket']);
      expect(calls).to.have.length(2);
    });

    it('a static user is never sent to the authenticator', async function () {
      const calls = await backend(() => ({ role: 'frontend', secret: 'x' }));
      expect(await refusal('json', craOptions('authsvc', 'x', { realm: 'dynrealm' }))).to.equal('wamp.error.not_authorized');
      expect(calls.map((c) => c.authid)).to.not.include('authsvc');
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('issued credentials, revocation, expiry, re-verification', function () {
    async function issuer(): Promise<AbClient> {
      return connect('json', craOptions('issuer', ISSUER_SECRET));
    }

    async function issue(client: AbClient, kwargs: Record<string, unknown>): Promise<Record<string, any>> {
      const result = await withTimeout(client.session.call('switchyard.auth.issue', [], kwargs), 3000, 'issue');
      expect(result, 'a Result with kwargs').to.be.instanceOf(autobahn.Result);
      return result.kwargs;
    }

    /** A browser-like client: joins with the issued secret, deriving with the CHALLENGE's salt. */
    async function browser(credential: Record<string, any>, challenges: any[] = []): Promise<AbClient> {
      return connect('json', craOptions(credential.authid, credential.secret, { challenges }));
    }

    it('a trusted session issues a credential and a browser joins with it', async function () {
      await start();
      const trusted = await issuer();
      const credential = await issue(trusted, { authid: 'web-alice', role: 'browser' });
      expect(credential).to.include({ authid: 'web-alice', role: 'browser', iterations: 1000, keylen: 32 });
      expect(credential.secret).to.be.a('string').with.length.at.least(20);
      expect(credential.salt).to.be.a('string').and.not.equal('');
      const challenges: any[] = [];
      const client = await browser(credential, challenges);
      expectWelcomeDetails(client.details, { authid: 'web-alice', authrole: 'browser', authmethod: 'wampcra', authprovider: 'issued' });
      expect(challenges[0]).to.include({ salt: credential.salt, iterations: 1000, keylen: 32 });
      expect(JSON.stringify(tr!.logs)).to.not.include(credential.secret);
      // A wrong secret for the issued authid is refused.
      expect(await refusal('json', craOptions('web-alice', 'guess'))).to.equal('wamp.error.not_authorized');
    });

    it('a browser role cannot issue credentials, and only configured roles can be issued', async function () {
      await start();
      const trusted = await issuer();
      const credential = await issue(trusted, { authid: 'web-bob', role: 'browser' });
      const client = await browser(credential);
      let error: any;
      try {
        await withTimeout(client.session.call('switchyard.auth.issue', [], { authid: 'x', role: 'browser' }), 3000, 'issue');
      } catch (e) {
        error = e;
      }
      expect(error?.error).to.equal('wamp.error.not_authorized');
      error = undefined;
      try {
        await withTimeout(trusted.session.call('switchyard.auth.issue', [], { authid: 'x', role: 'admin' }), 3000, 'issue');
      } catch (e) {
        error = e;
      }
      expect(error?.error).to.equal('wamp.error.invalid_argument');
    });

    it('switchyard.auth.revoke({authid}) ends the live session with GOODBYE wamp.close.revoked and refuses new joins', async function () {
      await start();
      const trusted = await issuer();
      const alice = await issue(trusted, { authid: 'web-alice', role: 'browser' });
      const bob = await issue(trusted, { authid: 'web-bob', role: 'browser' });
      const aliceClient = await browser(alice);
      const bobClient = await browser(bob);

      const result = await withTimeout(trusted.session.call('switchyard.auth.revoke', [], { authid: 'web-alice' }), 3000, 'revoke');
      expect(result.kwargs).to.include({ credentials: 1, sessions: 1 });
      const closed = await withTimeout(aliceClient.closed, 3000, 'alice closed');
      expect(closed.reason).to.equal('wamp.close.revoked');
      expect(closed.details.reason).to.equal('wamp.close.revoked');

      expect(await refusal('json', craOptions('web-alice', alice.secret))).to.equal('wamp.error.not_authorized');
      await sleep(100);
      expect(bobClient.session.isOpen, 'bob stays').to.equal(true);
      expect(sessionOnAnyNode(tr!, bobClient.session.id)).to.not.equal(undefined);
    });

    it('revoke({credential}) ends only the session that used that credential', async function () {
      await start();
      const trusted = await issuer();
      const tab1 = await issue(trusted, { authid: 'web-carl', role: 'browser' });
      const tab2 = await issue(trusted, { authid: 'web-carl', role: 'browser' });
      expect(tab2.salt, 'one salt per authid').to.equal(tab1.salt);
      expect(tab2.secret).to.not.equal(tab1.secret);
      const client1 = await browser(tab1);
      const client2 = await browser(tab2);
      const result = await withTimeout(trusted.session.call('switchyard.auth.revoke', [], { credential: tab1.credential }), 3000, 'revoke');
      expect(result.kwargs).to.include({ credentials: 1, sessions: 1 });
      expect((await withTimeout(client1.closed, 3000, 'tab1 closed')).reason).to.equal('wamp.close.revoked');
      await sleep(100);
      expect(client2.session.isOpen, 'the other credential\'s session stays').to.equal(true);
      expect(await refusal('json', craOptions('web-carl', tab1.secret))).to.equal('wamp.error.not_authorized');
      const again = await browser(tab2);
      expect(again.details).to.include({ authid: 'web-carl', authprovider: 'issued' });
    });

    /** The WAMP error URI of a call that must fail. */
    async function callError(client: AbClient, procedure: string, kwargs: Record<string, unknown>): Promise<string> {
      try {
        await withTimeout(client.session.call(procedure, [], kwargs), 3000, procedure);
      } catch (error) {
        return (error as { error: string }).error;
      }
      throw new Error(`expected ${procedure} to fail`);
    }

    it('log out everywhere, then log in again: a credential issued after revoke({authid}) works (issue 13.8)', async function () {
      await start();
      const trusted = await issuer();
      const first = await issue(trusted, { authid: 'user-42', role: 'browser' });
      const tab = await browser(first);
      const result = await withTimeout(trusted.session.call('switchyard.auth.revoke', [], { authid: 'user-42' }), 3000, 'revoke');
      expect(result.kwargs).to.include({ credentials: 1, sessions: 1 });
      expect((await withTimeout(tab.closed, 3000, 'revoked')).reason).to.equal('wamp.close.revoked');
      // Issued right after the revoke (same millisecond, most likely): it must log in.
      const second = await issue(trusted, { authid: 'user-42', role: 'browser' });
      const again = await browser(second);
      expectWelcomeDetails(again.details, { authid: 'user-42', authrole: 'browser', authmethod: 'wampcra', authprovider: 'issued' });
      expect(await refusal('json', craOptions('user-42', first.secret)), 'the credential from before the revoke').to.equal('wamp.error.not_authorized');
      await sleep(100);
      expect(again.session.isOpen, 'the new session survives re-verification').to.equal(true);
    });

    it('ban({authid}) ends the sessions, makes issue fail with switchyard.error.authid_banned; unban lifts it (issue 13.8)', async function () {
      await start();
      const trusted = await issuer();
      const credential = await issue(trusted, { authid: 'user-66', role: 'browser' });
      const tab = await browser(credential);
      const banned = await withTimeout(trusted.session.call('switchyard.auth.ban', [], { authid: 'user-66' }), 3000, 'ban');
      expect(banned.kwargs).to.include({ banned: true, credentials: 1, sessions: 1 });
      expect((await withTimeout(tab.closed, 3000, 'banned')).reason).to.equal('wamp.close.revoked');
      expect(await callError(trusted, 'switchyard.auth.issue', { authid: 'user-66', role: 'browser' })).to.equal('switchyard.error.authid_banned');
      expect(await refusal('json', craOptions('user-66', credential.secret))).to.equal('wamp.error.not_authorized');
      // A static user can be banned too: refused even with the right secret, and a reload does not lift it.
      await withTimeout(trusted.session.call('switchyard.auth.ban', [], { authid: 'joe' }), 3000, 'ban joe');
      expect(await refusal('json', ticketOptions('joe', JOE_TICKET))).to.equal('wamp.error.not_authorized');
      reconfigureRealm(tr!, structuredClone(tr!.config.realms.find((r) => r.name === 'realm1')!) as RealmConfig);
      expect(await refusal('json', ticketOptions('joe', JOE_TICKET)), 'still banned after a reload').to.equal('wamp.error.not_authorized');

      const unbanned = await withTimeout(trusted.session.call('switchyard.auth.unban', [], { authid: 'user-66' }), 3000, 'unban');
      expect(unbanned.kwargs).to.include({ banned: false, wasBanned: true });
      const fresh = await issue(trusted, { authid: 'user-66', role: 'browser' });
      expect((await browser(fresh)).details).to.include({ authid: 'user-66', authprovider: 'issued' });
      const causes = tr!.logs.filter((l) => l.event === 'auth.failed' && (l.authid === 'user-66' || l.authid === 'joe')).map((l) => l.cause);
      expect(causes).to.deep.equal(['banned', 'banned', 'banned']);
    });

    it('revoke({authid}) of a static user ends its session and refuses it until a reload', async function () {
      await start();
      const trusted = await issuer();
      const joe = await connect('json', ticketOptions('joe', JOE_TICKET));
      const carol = await connect('json', cryptosignOptions(CAROL, 'carol'));
      const result = await withTimeout(trusted.session.call('switchyard.auth.revoke', [], { authid: 'joe' }), 3000, 'revoke');
      expect(result.kwargs).to.include({ sessions: 1 });
      expect((await withTimeout(joe.closed, 3000, 'joe closed')).reason).to.equal('wamp.close.revoked');
      expect(await refusal('json', ticketOptions('joe', JOE_TICKET))).to.equal('wamp.error.not_authorized');
      await withTimeout(trusted.session.call('switchyard.auth.revoke', [], { authid: 'carol' }), 3000, 'revoke');
      expect((await withTimeout(carol.closed, 3000, 'carol closed')).reason).to.equal('wamp.close.revoked');
      expect(await refusal('json', cryptosignOptions(CAROL, 'carol'))).to.equal('wamp.error.not_authorized');
      expect(await refusal('json', cryptosignOptions(CAROL))).to.equal('wamp.error.not_authorized');
    });

    it('an issued credential with lifetimeMs 1000 expires and its live session is closed', async function () {
      await start();
      const trusted = await issuer();
      const credential = await issue(trusted, { authid: 'web-short', role: 'browser', lifetimeMs: 1000 });
      const issuedAt = Date.now();
      const client = await browser(credential);
      expect(client.details.authid).to.equal('web-short');
      const closed = await withTimeout(client.closed, 3000, 'expiry');
      expect(closed.reason).to.equal('wamp.close.revoked');
      expect(Date.now() - issuedAt, 'not before the lifetime').to.be.at.least(900);
      expect(await refusal('json', craOptions('web-short', credential.secret))).to.equal('wamp.error.not_authorized');
      expect(trusted.session.isOpen).to.equal(true);
    });

    it('re-verification: a user removed by reconfigure gets GOODBYE revoked while others stay', async function () {
      const realm = { ...realm1(), reverifyIntervalMs: 200 };
      await start(NO_THROTTLE, realm);
      const peter = await connect('json', craOptions('peter', PETER_SECRET));
      const sally = await connect('json', craOptions('sally', SALLY_PASSWORD));
      const joe = await connect('json', ticketOptions('joe', JOE_TICKET));

      const next = structuredClone(tr!.config.realms.find((r) => r.name === 'realm1')!) as RealmConfig;
      expect(next.reverifyIntervalMs).to.equal(200);
      delete next.auth.wampcra!.users.peter;
      reconfigureRealm(tr!, next);

      const closed = await withTimeout(peter.closed, 1000, 'peter revoked');
      expect(closed.reason).to.equal('wamp.close.revoked');
      await sleep(500); // two more re-verification rounds
      expect(sally.session.isOpen && joe.session.isOpen, 'the others stay').to.equal(true);
      await sally.session.subscribe('com.app.after', () => undefined);
      expect(await refusal('json', craOptions('peter', PETER_SECRET))).to.equal('wamp.error.not_authorized');
    });

    /** Reload realm1 with `change` applied to a copy of its current config. */
    function reload(change: (config: RealmConfig) => void): void {
      const next = structuredClone(tr!.config.realms.find((r) => r.name === 'realm1')!) as RealmConfig;
      change(next);
      reconfigureRealm(tr!, next);
    }

    it('re-verification: rotating a WAMP-CRA secret ends the session that used the old one', async function () {
      await start(NO_THROTTLE, { ...realm1(), reverifyIntervalMs: 200 });
      const peter = await connect('json', craOptions('peter', PETER_SECRET));
      const sally = await connect('json', craOptions('sally', SALLY_PASSWORD));
      reload((config) => { config.auth.wampcra!.users.peter!.secret = 'peter-rotated-secret'; });
      const closed = await withTimeout(peter.closed, 1000, 'peter (old secret) revoked').catch((error: Error) => ({ reason: `still open: ${error.message}`, details: {} }));
      expect(closed.reason, 'the old secret no longer exists').to.equal('wamp.close.revoked');
      expect(sally.session.isOpen).to.equal(true);
      expect(await refusal('json', craOptions('peter', PETER_SECRET))).to.equal('wamp.error.not_authorized');
    });

    it('re-verification: replacing a cryptosign public key ends the session that used the old key', async function () {
      await start(NO_THROTTLE, { ...realm1(), reverifyIntervalMs: 200 });
      const carol = await connect('json', cryptosignOptions(CAROL, 'carol'));
      const joe = await connect('json', ticketOptions('joe', JOE_TICKET));
      const newKey = nacl.sign.keyPair.fromSeed(Buffer.alloc(32, 9));
      reload((config) => { config.auth.cryptosign!.users.carol!.pubkeys = [Buffer.from(newKey.publicKey).toString('hex')]; });
      const closed = await withTimeout(carol.closed, 1000, 'carol (old key) revoked').catch((error: Error) => ({ reason: `still open: ${error.message}`, details: {} }));
      expect(closed.reason, 'the old key is no longer configured').to.equal('wamp.close.revoked');
      expect(joe.session.isOpen).to.equal(true);
      expect(await refusal('json', cryptosignOptions(CAROL, 'carol'))).to.equal('wamp.error.not_authorized');
      const rotated = await connect('json', cryptosignOptions(newKey, 'carol'));
      expect(rotated.details.authid).to.equal('carol');
    });
  });
});

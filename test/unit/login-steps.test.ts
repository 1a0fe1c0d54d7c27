import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { deny, welcome, type Authenticator } from '../../auth/authenticator.js';
import { deriveKey } from '../../auth/crypto.js';
import { Realm, type RealmExtensions } from '../../realms/realm.js';
import { validateConfig } from '../../router/config.js';
import { DEFAULT_LIMITS } from '../../router/limits.js';
import { silentLogger } from '../../router/log.js';
import { jsonSerializer } from '../../router/serializer/json.js';
import { Session, type SessionHost } from '../../router/session.js';
import type { Transport } from '../../router/transport/transport.js';

/**
 * Issue 16: a login whose authenticator answers at once (static WAMP-CRA users, anonymous) runs
 * HELLO → CHALLENGE and AUTHENTICATE → WELCOME without a promise in between, in the turn the frame
 * arrived in; an authenticator that answers later is still awaited, with the session's frames held
 * meanwhile, and one that throws or rejects still refuses the login.
 */

const KEY = deriveKey('alice-secret', 'alice-salt', 1000, 32);

function harness(extensions: RealmExtensions = {}) {
  const config = validateConfig({
    realms: [{
      name: 'realm1', roles: [{ name: 'user', permissions: [] }],
      auth: { wampcra: { users: { alice: { role: 'user', key: KEY, salt: 'alice-salt', iterations: 1000, keylen: 32 } } } },
    }],
  });
  const realm = new Realm(config.realms[0]!, DEFAULT_LIMITS, silentLogger, extensions);
  const sent: unknown[][] = [];
  let closed = false;
  const transport: Transport = {
    info: { type: 'websocket', peer: '127.0.0.1:1', remoteAddress: '127.0.0.1', protocol: 'wamp.2.json' },
    serializer: jsonSerializer,
    send: (frame) => void sent.push(JSON.parse(frame.toString()) as unknown[]),
    close: () => void (closed = true),
    bufferedBytes: () => 0,
  };
  let nextId = 1;
  const host: SessionHost = {
    limits: DEFAULT_LIMITS, logger: silentLogger, findRealm: (name) => (name === 'realm1' ? realm : undefined),
    allocateSessionId: () => nextId++, releaseSessionId: () => undefined, sessionJoined: () => undefined, sessionClosed: () => undefined,
  };
  const session = new Session(transport, host);
  const receive = (message: unknown[]) => session.receive(Buffer.from(JSON.stringify(message)), false);
  const hello = (authmethods: string[], authid?: string) => receive([1, 'realm1', { roles: { caller: {} }, authmethods, ...(authid ? { authid } : {}) }]);
  const close = () => {
    session.transportClosed(1000, '');
    realm.close();
  };
  return { realm, session, sent, receive, hello, close, closed: () => closed };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('login steps without promises where the authenticator answers at once (issue 16)', function () {
  it('a static WAMP-CRA user gets CHALLENGE and then WELCOME in the very turn HELLO and AUTHENTICATE arrive', function () {
    const h = harness();
    h.hello(['wampcra'], 'alice');
    expect(h.sent.map((m) => m[0]), 'CHALLENGE sent before receive() returned').to.deep.equal([4]);
    const challenge = (h.sent[0]![2] as { challenge: string }).challenge;
    h.receive([5, createHmac('sha256', KEY).update(challenge).digest('base64'), {}]);
    expect(h.sent.map((m) => m[0]), 'WELCOME sent before receive() returned').to.deep.equal([4, 2]);
    expect(h.session.state).to.equal('established');
    h.close();
  });

  it('a wrong signature is refused in the same turn, with the same ABORT as before', function () {
    const h = harness();
    h.hello(['wampcra'], 'alice');
    h.receive([5, createHmac('sha256', 'not the key').update('x').digest('base64'), {}]);
    expect(h.sent[1]).to.deep.equal([3, { message: 'authentication failed' }, 'wamp.error.not_authorized']);
    expect(h.closed()).to.equal(true);
    h.close();
  });

  it('an authenticator that answers later is awaited, and frames that arrive meanwhile wait their turn', async function () {
    let answer: (() => void) | undefined;
    const later: Authenticator = {
      authmethod: 'ticket',
      hello: () => new Promise((resolve) => {
        answer = () => resolve(welcome({ authid: 'bob', authrole: 'user', authmethod: 'ticket', authprovider: 'app' }));
      }),
    };
    const h = harness({ authenticators: [later] });
    h.hello(['ticket'], 'bob');
    h.receive([6, {}, 'wamp.close.normal']); // GOODBYE before WELCOME: held until the login settles
    expect(h.sent).to.deep.equal([]);
    answer!();
    await tick();
    expect(h.sent.map((m) => m[0]), 'WELCOME, then the answer to the held GOODBYE').to.deep.equal([2, 6]);
    h.close();
  });

  for (const [what, hello] of [
    ['throws', () => { throw new Error('boom'); }],
    ['rejects', () => Promise.reject(new Error('boom'))],
    ['returns a thenable that rejects', () => ({ then: (_ok: unknown, fail: (e: Error) => void) => fail(new Error('boom')) })],
  ] as const) {
    it(`an authenticator that ${what} refuses the login (fail-secure)`, async function () {
      const failing = { authmethod: 'ticket', hello } as unknown as Authenticator;
      const h = harness({ authenticators: [failing] });
      h.hello(['ticket'], 'bob');
      await tick();
      expect(h.sent).to.deep.equal([[3, { message: 'authentication failed' }, 'wamp.error.authentication_failed']]);
      h.close();
    });
  }

  it('a deny answered at once is sent at once', function () {
    const refusing: Authenticator = { authmethod: 'ticket', hello: () => deny('wamp.error.not_authorized', 'no') };
    const h = harness({ authenticators: [refusing] });
    h.hello(['ticket'], 'bob');
    expect(h.sent).to.deep.equal([[3, { message: 'no' }, 'wamp.error.not_authorized']]);
    h.close();
  });
});

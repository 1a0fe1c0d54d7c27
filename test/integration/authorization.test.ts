// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import { validateConfig, type RealmConfig } from '../../router/config.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { reconfigureRealm, registeringOnEveryNode, retainedOnEveryNode } from '../helpers/topology.js';
import { waitFor } from '../helpers/wait.js';
import { expectError, within } from '../helpers/promises.js';
import { readmePermissionsExample } from '../helpers/readme.js';

/**
 * Authorization end to end (issue 5; style.md §1.8 lessons 4–6; reliability.md §2.12 items
 * 12–13): role permissions checked on every CALL, REGISTER, PUBLISH and SUBSCRIBE; nothing leaks
 * through pattern subscriptions or registrations (delivery-time re-check); `wamp.` reserved;
 * `disclose`; the dynamic authorizer (allow, deny, throw, timeout, caching); config reload
 * revoking what is no longer allowed.
 *
 * "Nothing arrives" is never shown with a sleep: an allowed marker travels the same ordered path
 * after the denied message, and once the marker is in, the denied message must not be.
 */

const ALL = { call: true, register: true, publish: true, subscribe: true };
const NO_THROTTLE = { authFailureBaseDelayMs: 0 };
const NOT_AUTHORIZED = 'wamp.error.not_authorized';
const NO_SUCH_PROCEDURE = 'wamp.error.no_such_procedure';

/** Ticket users: authid → [ticket, role]. */
const USERS: Record<string, [string, string]> = {
  fe: ['t1-frontend', 'frontend'],
  fe2: ['t1b-frontend', 'frontend'],
  be: ['t2-backend', 'backend'],
  be2: ['t2b-backend', 'backend'],
  vw: ['t3-viewer', 'viewer'],
  so: ['t4-svcowner', 'svcowner'],
  pa: ['t5-partner', 'partner'],
  wk: ['t6-worker', 'worker'],
};

function ticketAuth(roles: string[]) {
  const users = Object.fromEntries(Object.entries(USERS)
    .filter(([, [, role]]) => roles.includes(role))
    .map(([authid, [ticket, role]]) => [authid, { ticket, role }]));
  return { ticket: { users } };
}

/** The realm for the core tests: one role per kind of restriction. */
function mainRealm(): Record<string, unknown> {
  return {
    name: 'realm1',
    roles: [
      { name: 'anonymous', permissions: [{ uri: 'com.example.', match: 'prefix', allow: ALL }] },
      // May call and subscribe, never register or publish.
      { name: 'frontend', permissions: [{ uri: 'com.app.', match: 'prefix', allow: { call: true, subscribe: true } }] },
      {
        name: 'backend',
        permissions: [
          // Allow-all, `wamp.` included: the router must still keep `wamp.` to itself.
          { uri: '', match: 'prefix', allow: ALL },
          { uri: 'com.disc.', match: 'prefix', allow: ALL, disclose: { caller: true, publisher: true } },
        ],
      },
      {
        name: 'viewer',
        permissions: [
          { uri: 'app.', match: 'prefix', allow: { subscribe: true } },
          { uri: 'app.secret', match: 'prefix', allow: {} },
        ],
      },
      {
        name: 'svcowner',
        permissions: [
          { uri: 'svc.', match: 'prefix', allow: { register: true } },
          { uri: 'svc.admin', match: 'prefix', allow: {} },
        ],
      },
    ],
    auth: {
      anonymous: { role: 'anonymous' },
      ...ticketAuth(['frontend', 'backend', 'viewer', 'svcowner']),
      wampcra: { users: {}, issue: { roles: ['frontend'], lifetimeMs: 60_000 } },
    },
  };
}

interface Seen {
  topic: string;
  args: unknown[];
  details: Record<string, any>;
}

/** An event handler that records what arrived. */
function collector() {
  const events: Seen[] = [];
  const handler = (args: unknown[], _kwargs: unknown, details: any) => {
    events.push({ topic: details.topic, args, details: { ...details } });
  };
  return { events, handler, topics: () => events.map((e) => e.topic) };
}

/** Wait until an event on `topic` is in. */
function marker(events: Seen[], topic: string, what = `marker ${topic}`): Promise<void> {
  return waitFor(() => events.some((e) => e.topic === topic), { timeoutMs: 3000, what });
}

function clientsFor(getRouter: () => TestRouter) {
  const clients: AbClient[] = [];
  const raws: RawClient[] = [];
  async function connect(ser: SerializerName, authid?: string, options: Record<string, unknown> = {}): Promise<AbClient> {
    const auth = authid === undefined ? {} : { authmethods: ['ticket'], authid, onchallenge: () => USERS[authid]![0] };
    const client = registeringOnEveryNode(getRouter(), await connectAutobahn(getRouter().url, ser, { ...auth, ...options }));
    clients.push(client);
    return client;
  }
  async function closeAll(): Promise<void> {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    for (const raw of raws.splice(0)) raw.close();
  }
  return { connect, closeAll, raws };
}

// ---------------------------------------------------------------------------------------------
// Core refusals and leak tests, over json and msgpack
// ---------------------------------------------------------------------------------------------

for (const ser of ['json', 'msgpack'] as SerializerName[]) {
  describe(`authorization with autobahn-js (${ser})`, function () {
    let tr: TestRouter;
    const c = clientsFor(() => tr);
    const connect = (authid?: string, options: Record<string, unknown> = {}) => c.connect(ser, authid, options);

    beforeEach(async function () {
      tr = await startRouter({ realms: [mainRealm()], limits: NO_THROTTLE });
    });

    afterEach(async function () {
      await c.closeAll();
      await tr.stop();
    });

    it('denies anonymous every action under com.secret. with wamp.error.not_authorized', async function () {
      const anon = await connect();
      expect(anon.details.authrole).to.equal('anonymous');
      await expectError(anon.session.call('com.secret.proc'), NOT_AUTHORIZED, 'call');
      await expectError(anon.session.register('com.secret.mine', () => 1), NOT_AUTHORIZED, 'register');
      await expectError(anon.session.publish('com.secret.topic', ['x'], {}, { acknowledge: true }), NOT_AUTHORIZED, 'publish');
      await expectError(anon.session.subscribe('com.secret.topic', () => undefined), NOT_AUTHORIZED, 'subscribe');
      await expectError(anon.session.subscribe('com.secret.', () => undefined, { match: 'prefix' }), NOT_AUTHORIZED, 'prefix subscribe');
      // A refusal is an ERROR, not the end of the session.
      expect(anon.session.isOpen).to.equal(true);
    });

    it('allows anonymous every action under com.example.', async function () {
      const a = await connect();
      const b = await connect();
      await within(a.session.register('com.example.echo', (args: unknown[]) => args[0]), 'register');
      expect(await within(b.session.call('com.example.echo', ['hi']), 'call')).to.equal('hi');
      const got = collector();
      await within(b.session.subscribe('com.example.topic', got.handler), 'subscribe');
      await within(a.session.publish('com.example.topic', ['e1'], {}, { acknowledge: true }), 'publish');
      await marker(got.events, 'com.example.topic');
      expect(got.events[0]!.args).to.deep.equal(['e1']);
    });

    it('drops an unacknowledged denied publish: it reaches nobody', async function () {
      const anon = await connect();
      const watcher = await connect('be'); // may see everything under com.
      const got = collector();
      await within(watcher.session.subscribe('com.', got.handler, { match: 'prefix' }), 'subscribe');
      anon.session.publish('com.secret.topic', ['leak']);
      anon.session.publish('com.example.marker', ['marker']);
      await marker(got.events, 'com.example.marker');
      expect(got.topics()).to.deep.equal(['com.example.marker']);
      expect(anon.session.isOpen).to.equal(true);
    });

    it('never invokes the callee for a denied caller', async function () {
      const callee = await connect('be');
      let invoked = 0;
      await within(callee.session.register('com.secret.proc', () => ++invoked), 'register');
      const anon = await connect();
      const fe = await connect('fe');
      await expectError(anon.session.call('com.secret.proc', [1]), NOT_AUTHORIZED, 'anonymous call');
      await expectError(fe.session.call('com.secret.proc', [1]), NOT_AUTHORIZED, 'frontend call');
      expect(invoked, 'callee invocations after denied calls').to.equal(0);
      // Control: an allowed caller does reach it, so the counter can move.
      const be2 = await connect('be2');
      expect(await within(be2.session.call('com.secret.proc'), 'allowed call')).to.equal(1);
      expect(invoked).to.equal(1);
    });

    it('lets a frontend role call and subscribe but not register or publish', async function () {
      const be = await connect('be');
      const fe = await connect('fe');
      expect(fe.details.authrole).to.equal('frontend');
      const beSeen = collector();
      await within(be.session.register('com.app.echo', (args: unknown[]) => args[0]), 'register echo');
      await within(be.session.subscribe('com.app.news', beSeen.handler), 'backend subscribe');

      expect(await within(fe.session.call('com.app.echo', ['ping']), 'frontend call')).to.equal('ping');
      const feSeen = collector();
      await within(fe.session.subscribe('com.app.news', feSeen.handler), 'frontend subscribe');
      await within(be.session.publish('com.app.news', ['from-be'], {}, { acknowledge: true, exclude_me: true }), 'backend publish');
      await marker(feSeen.events, 'com.app.news');

      await expectError(fe.session.register('com.app.mine', () => 1), NOT_AUTHORIZED, 'frontend register');
      await expectError(fe.session.publish('com.app.news', ['from-fe'], {}, { acknowledge: true }), NOT_AUTHORIZED, 'frontend publish');
      // Unacknowledged: silently dropped. The router handles fe's messages in order and sends to
      // `be` in order, so by the time be has served fe's next call, an EVENT would have arrived.
      fe.session.publish('com.app.news', ['from-fe-unacked']);
      expect(await within(fe.session.call('com.app.echo', ['after']), 'frontend call after')).to.equal('after');
      expect(beSeen.events.map((e) => e.args[0]), 'events the backend saw (its own are excluded)').to.deep.equal([]);
      expect(feSeen.events.map((e) => e.args[0])).to.deep.equal(['from-be']);
    });

    it('delivery-time check: a prefix subscription to app. never receives app.secret.* (per receiver)', async function () {
      const vw = await connect('vw');
      const be2 = await connect('be2');
      const pub = await connect('be');
      // The rule really denies the concrete topic...
      await expectError(vw.session.subscribe('app.secret.x', () => undefined), NOT_AUTHORIZED, 'exact subscribe to app.secret.x');
      // ...but the broader prefix is allowed, and shared with a role that may see everything.
      const viewer = collector();
      const backend = collector();
      const s1 = await within(vw.session.subscribe('app.', viewer.handler, { match: 'prefix' }), 'viewer prefix subscribe');
      const s2 = await within(be2.session.subscribe('app.', backend.handler, { match: 'prefix' }), 'backend prefix subscribe');
      expect(s1.id, 'one shared subscription').to.equal(s2.id);

      pub.session.publish('app.secret.x', ['secret']);
      pub.session.publish('app.public.x', ['public']);
      pub.session.publish('app.public.done', ['marker']);
      await marker(viewer.events, 'app.public.done');
      await marker(backend.events, 'app.public.done');
      expect(viewer.topics(), 'viewer events').to.deep.equal(['app.public.x', 'app.public.done']);
      expect(backend.topics(), 'backend events (the secret one was published)').to.deep.equal(['app.secret.x', 'app.public.x', 'app.public.done']);
    });

    it('delivery-time check: a wildcard subscription app..x never receives app.secret.x', async function () {
      const vw = await connect('vw');
      const be2 = await connect('be2');
      const pub = await connect('be');
      const viewer = collector();
      const backend = collector();
      await within(vw.session.subscribe('app..x', viewer.handler, { match: 'wildcard' }), 'viewer wildcard subscribe');
      await within(be2.session.subscribe('app..x', backend.handler, { match: 'wildcard' }), 'backend wildcard subscribe');

      pub.session.publish('app.secret.x', ['secret']);
      pub.session.publish('app.public.x', ['public']);
      pub.session.publish('app.done.x', ['marker']);
      await marker(viewer.events, 'app.done.x');
      await marker(backend.events, 'app.done.x');
      expect(viewer.topics(), 'viewer events').to.deep.equal(['app.public.x', 'app.done.x']);
      expect(backend.topics()).to.deep.equal(['app.secret.x', 'app.public.x', 'app.done.x']);
    });

    it('pattern registration: a prefix callee is never invoked for a procedure its role may not register', async function () {
      const so = await connect('so');
      const caller = await connect('be');
      const invoked: string[] = [];
      await expectError(so.session.register('svc.admin.reset', () => 'x'), NOT_AUTHORIZED, 'exact register of svc.admin.reset');
      await within(so.session.register('svc.', (_a: unknown, _k: unknown, details: any) => {
        invoked.push(details.procedure);
        return details.procedure;
      }, { match: 'prefix' }), 'prefix register svc.');

      await expectError(caller.session.call('svc.admin.reset'), NO_SUCH_PROCEDURE, 'call svc.admin.reset');
      expect(invoked, 'callee invocations after the denied procedure').to.deep.equal([]);
      expect(await within(caller.session.call('svc.public.x'), 'call svc.public.x')).to.equal('svc.public.x');
      expect(invoked).to.deep.equal(['svc.public.x']);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// wamp. reserved, disclose (json)
// ---------------------------------------------------------------------------------------------

describe('authorization: wamp. reserved and disclose (json)', function () {
  let tr: TestRouter;
  const c = clientsFor(() => tr);
  const connect = (authid?: string, options: Record<string, unknown> = {}) => c.connect('json', authid, options);

  beforeEach(async function () {
    tr = await startRouter({ realms: [mainRealm()], limits: NO_THROTTLE });
  });

  afterEach(async function () {
    await c.closeAll();
    await tr.stop();
  });

  it('keeps wamp. to the router even for a role with a "" prefix allow-all', async function () {
    const be = await connect('be');
    await expectError(be.session.register('wamp.session.get', () => 1), NOT_AUTHORIZED, 'register wamp.session.get');
    await expectError(be.session.register('wamp.', () => 1, { match: 'prefix' }), NOT_AUTHORIZED, 'prefix register wamp.');
    await expectError(be.session.publish('wamp.x', [1], {}, { acknowledge: true }), NOT_AUTHORIZED, 'publish wamp.x');
    await expectError(be.session.publish('wamp.session.on_join', [{}], {}, { acknowledge: true }), NOT_AUTHORIZED, 'publish wamp.session.on_join');
    // Subscribing to meta events is an ordinary permission, which this role has.
    await within(be.session.subscribe('wamp.session.on_join', () => undefined), 'subscribe wamp.session.on_join');
    expect(be.session.isOpen).to.equal(true);
  });

  it('lets only a role with permission call switchyard.auth.issue', async function () {
    const be = await connect('be');
    const fe = await connect('fe');
    const anon = await connect();
    await expectError(fe.session.call('switchyard.auth.issue', ['newbie', 'frontend']), NOT_AUTHORIZED, 'frontend issue');
    await expectError(anon.session.call('switchyard.auth.issue', ['newbie', 'frontend']), NOT_AUTHORIZED, 'anonymous issue');
    const result = await within(be.session.call('switchyard.auth.issue', ['newbie', 'frontend']), 'backend issue');
    expect(result.kwargs.authid).to.equal('newbie');
    expect(result.kwargs.role).to.equal('frontend');
    expect(result.kwargs.secret).to.be.a('string').and.not.equal('');
  });

  it('discloses the caller to the callee where the permission says so, whatever disclose_me says', async function () {
    const callee = await connect('be2');
    const caller = await connect('be');
    const seen = (_a: unknown, _k: unknown, d: any) => ({ caller: d.caller ?? null, authid: d.caller_authid ?? null, authrole: d.caller_authrole ?? null });
    await within(callee.session.register('com.disc.proc', seen), 'register com.disc.proc');
    await within(callee.session.register('com.plain.proc', seen), 'register com.plain.proc');
    const disclosed = { caller: caller.session.id, authid: 'be', authrole: 'backend' };
    const hidden = { caller: null, authid: null, authrole: null };

    expect(await within(caller.session.call('com.disc.proc'), 'disc call'), 'disclose.caller, no disclose_me').to.deep.equal(disclosed);
    expect(await within(caller.session.call('com.disc.proc', [], {}, { disclose_me: false }), 'disc call'), 'disclose.caller, disclose_me false').to.deep.equal(disclosed);
    expect(await within(caller.session.call('com.plain.proc'), 'plain call'), 'no disclose, no disclose_me').to.deep.equal(hidden);
    expect(await within(caller.session.call('com.plain.proc', [], {}, { disclose_me: true }), 'plain call'), 'no disclose, disclose_me').to.deep.equal(disclosed);
  });

  it('discloses the publisher to subscribers where the permission says so, else as disclose_me says', async function () {
    const sub = await connect('be2');
    const pub = await connect('be');
    const got = collector();
    await within(sub.session.subscribe('com.disc.topic', got.handler), 'subscribe disc');
    await within(sub.session.subscribe('com.plain.topic', got.handler), 'subscribe plain');
    const publisherOf = (e: Seen) => ({ publisher: e.details.publisher ?? null, authid: e.details.publisher_authid ?? null, authrole: e.details.publisher_authrole ?? null });
    const disclosed = { publisher: pub.session.id, authid: 'be', authrole: 'backend' };
    const hidden = { publisher: null, authid: null, authrole: null };

    await within(pub.session.publish('com.disc.topic', [1], {}, { acknowledge: true }), 'publish');
    await within(pub.session.publish('com.plain.topic', [2], {}, { acknowledge: true }), 'publish');
    await within(pub.session.publish('com.plain.topic', [3], {}, { acknowledge: true, disclose_me: true }), 'publish');
    await waitFor(() => got.events.length === 3, { timeoutMs: 3000, what: 'three events' });
    const byArg = (n: number) => publisherOf(got.events.find((e) => e.args[0] === n)!);
    expect(byArg(1), 'disclose.publisher, no disclose_me').to.deep.equal(disclosed);
    expect(byArg(2), 'no disclose, no disclose_me').to.deep.equal(hidden);
    expect(byArg(3), 'no disclose, disclose_me').to.deep.equal(disclosed);
  });
});

// ---------------------------------------------------------------------------------------------
// Dynamic authorizer (json)
// ---------------------------------------------------------------------------------------------

interface AuthorizerQuestion {
  session: number;
  authid: string;
  authrole: string;
  uri: string;
  action: string;
}

function dynRealm(options: { ttlMs: number; timeoutMs: number; frontendRules?: unknown[] }): Record<string, unknown> {
  return {
    name: 'realm1',
    roles: [
      { name: 'frontend', permissions: options.frontendRules ?? [] }, // no static rules: the authorizer decides
      {
        name: 'backend',
        permissions: [
          { uri: 'com.example.authorize', match: 'exact', allow: { register: true } },
          { uri: 'com.dyn.', match: 'prefix', allow: { register: true, publish: true } },
        ],
      },
    ],
    auth: ticketAuth(['frontend', 'backend']),
    authorizer: { procedure: 'com.example.authorize', ttlMs: options.ttlMs, timeoutMs: options.timeoutMs },
  };
}

/** The test's authorizer policy, by concrete URI. */
function policy(uri: string): unknown {
  if (uri === 'com.dyn.disc') return { allow: true, disclose: true };
  if (uri === 'com.dyn.' || uri.startsWith('com.dyn.ok') || uri.startsWith('com.dyn.feed')) return true;
  if (uri === 'com.dyn.throw') throw new autobahn.Error('com.example.authorizer_crashed', ['boom']);
  if (uri === 'com.dyn.hang') return new Promise(() => undefined); // never answers
  return false;
}

describe('authorization: dynamic authorizer (json)', function () {
  let tr: TestRouter | undefined;
  const c = clientsFor(() => tr!);
  let asked: AuthorizerQuestion[];
  let invoked: Record<string, number>;

  /** Router + backend session hosting the authorizer and the target procedures. */
  async function setup(options: { ttlMs: number; timeoutMs: number; frontendRules?: unknown[] }) {
    tr = await startRouter({ realms: [dynRealm(options)], limits: NO_THROTTLE });
    asked = [];
    invoked = {};
    // autobahn reports a throwing endpoint to on_user_error (else console.error).
    const be = await c.connect('json', 'be', { on_user_error: () => undefined });
    await within(be.session.register('com.example.authorize', (args: any[]) => {
      const [details, uri, action] = args;
      asked.push({ session: details.session, authid: details.authid, authrole: details.authrole, uri, action });
      return policy(uri);
    }), 'register authorizer');
    for (const name of ['ok', 'no', 'throw', 'hang', 'disc']) {
      await within(be.session.register(`com.dyn.${name}`, (_a: unknown, _k: unknown, d: any) => {
        invoked[name] = (invoked[name] ?? 0) + 1;
        return { caller: d.caller ?? null, authrole: d.caller_authrole ?? null };
      }), `register com.dyn.${name}`);
    }
    return be;
  }

  const questions = (uri: string, action: string) => asked.filter((q) => q.uri === uri && q.action === action).length;

  afterEach(async function () {
    await c.closeAll();
    if (tr) await tr.stop();
    tr = undefined;
  });

  it('allows com.dyn.ok and denies com.dyn.no for a role with no static rules', async function () {
    await setup({ ttlMs: 60_000, timeoutMs: 2000 });
    const fe = await c.connect('json', 'fe');
    expect(await within(fe.session.call('com.dyn.ok'), 'call ok')).to.deep.equal({ caller: null, authrole: null });
    await expectError(fe.session.call('com.dyn.no'), NOT_AUTHORIZED, 'call no');
    expect(invoked.no ?? 0, 'denied procedure invocations').to.equal(0);
    expect(invoked.ok).to.equal(1);
    expect(asked.find((q) => q.uri === 'com.dyn.ok')).to.deep.equal({
      session: fe.session.id, authid: 'fe', authrole: 'frontend', uri: 'com.dyn.ok', action: 'call',
    });
    // Every action goes through it.
    await expectError(fe.session.subscribe('com.dyn.no', () => undefined), NOT_AUTHORIZED, 'subscribe no');
    await expectError(fe.session.register('com.dyn.nope', () => 1), NOT_AUTHORIZED, 'register nope');
    await within(fe.session.subscribe('com.dyn.ok.feed', () => undefined), 'subscribe ok');
    expect(questions('com.dyn.no', 'subscribe')).to.equal(1);
    expect(questions('com.dyn.ok.feed', 'subscribe')).to.equal(1);
  });

  it('honours {allow, disclose} from the authorizer', async function () {
    await setup({ ttlMs: 60_000, timeoutMs: 2000 });
    const fe = await c.connect('json', 'fe');
    expect(await within(fe.session.call('com.dyn.disc'), 'call disc')).to.deep.equal({ caller: fe.session.id, authrole: 'frontend' });
  });

  it('denies when the authorizer throws', async function () {
    await setup({ ttlMs: 60_000, timeoutMs: 2000 });
    const fe = await c.connect('json', 'fe');
    await expectError(fe.session.call('com.dyn.throw'), NOT_AUTHORIZED, 'call throw');
    expect(questions('com.dyn.throw', 'call'), 'the authorizer was asked').to.equal(1);
    expect(invoked.throw ?? 0).to.equal(0);
  });

  it('denies after authorizer.timeoutMs when the authorizer never answers', async function () {
    await setup({ ttlMs: 60_000, timeoutMs: 300 });
    const fe = await c.connect('json', 'fe');
    const started = Date.now();
    await expectError(fe.session.call('com.dyn.hang'), NOT_AUTHORIZED, 'call hang');
    const elapsed = Date.now() - started;
    expect(elapsed, 'ms until the deny').to.be.within(250, 2500);
    expect(questions('com.dyn.hang', 'call')).to.equal(1);
    expect(invoked.hang ?? 0).to.equal(0);
    // The session and the router are fine afterwards.
    expect(await within(fe.session.call('com.dyn.ok'), 'call ok after timeout')).to.deep.equal({ caller: null, authrole: null });
  });

  it('a refusal by the authorizer names the URI in the ERROR and logs "dynamic authorizer"; a static rule is named instead', async function () {
    await setup({ ttlMs: 60_000, timeoutMs: 2000, frontendRules: [{ uri: 'com.dyn.static.', match: 'prefix', allow: {} }] });
    const fe = await c.connect('json', 'fe');
    const error = await expectError(fe.session.call('com.dyn.no'), NOT_AUTHORIZED, 'call no');
    expect(error.args).to.deep.equal(['not authorized to call com.dyn.no']);
    await expectError(fe.session.call('com.dyn.static.x'), NOT_AUTHORIZED, 'call static');
    const refused = (uri: string) => tr!.logs.find((l) => l.event === 'authorization.refused' && l.uri === uri);
    await waitFor(() => refused('com.dyn.static.x') !== undefined, { what: 'refusal lines' });
    expect(refused('com.dyn.no')).to.include({ level: 'info', authid: 'fe', authrole: 'frontend', action: 'call', decidedBy: 'dynamic authorizer' });
    expect(refused('com.dyn.static.x')).to.deep.include({ decidedBy: 'rule', rule: { uri: 'com.dyn.static.', match: 'prefix' } });
  });

  it('with ttlMs 60000 asks once per node (the cache is per node) for two sessions of the same role calling the same URI', async function () {
    await setup({ ttlMs: 60_000, timeoutMs: 2000 });
    const fe = await c.connect('json', 'fe');
    const fe2 = await c.connect('json', 'fe2');
    await within(fe.session.call('com.dyn.ok'), 'first call');
    await within(fe2.session.call('com.dyn.ok'), 'second call');
    await within(fe.session.call('com.dyn.ok'), 'third call');
    expect(invoked.ok).to.equal(3);
    // The answers are cached per node: fe and fe2 are on different nodes in the two-node run.
    expect(questions('com.dyn.ok', 'call'), 'authorizer questions (one per node)').to.equal(tr!.nodes.length);
  });

  it('with ttlMs 0 asks on every call', async function () {
    await setup({ ttlMs: 0, timeoutMs: 2000 });
    const fe = await c.connect('json', 'fe');
    const fe2 = await c.connect('json', 'fe2');
    await within(fe.session.call('com.dyn.ok'), 'first call');
    await within(fe2.session.call('com.dyn.ok'), 'second call');
    await within(fe.session.call('com.dyn.ok'), 'third call');
    expect(questions('com.dyn.ok', 'call'), 'authorizer questions').to.equal(3);
  });

  it('re-checks a pattern subscription with the authorizer at delivery (publisher is not the authorizer host)', async function () {
    await setup({ ttlMs: 60_000, timeoutMs: 1000 });
    const fe = await c.connect('json', 'fe');
    const pub = await c.connect('json', 'be2');
    const got = collector();
    await within(fe.session.subscribe('com.dyn.', got.handler, { match: 'prefix' }), 'prefix subscribe com.dyn.');
    pub.session.publish('com.dyn.no.x', ['denied']);
    pub.session.publish('com.dyn.feed.x', ['allowed']);
    await marker(got.events, 'com.dyn.feed.x');
    expect(got.topics(), 'only the topic the authorizer allows').to.deep.equal(['com.dyn.feed.x']);
    expect(questions('com.dyn.no.x', 'subscribe'), 'asked about the denied topic').to.equal(1);
    expect(questions('com.dyn.feed.x', 'subscribe'), 'asked about the allowed topic').to.equal(1);
  });

  // Delivery-time re-check of a pattern subscription that only the authorizer can answer, for an
  // event published by the very session that hosts the authorizer (a backend that authorizes and
  // publishes is the normal deployment).
  it('delivers to a pattern subscriber the authorizer allows, even when the authorizer host is the publisher', async function () {
    this.timeout(8000);
    const be = await setup({ ttlMs: 60_000, timeoutMs: 1000 });
    const fe = await c.connect('json', 'fe');
    const got = collector();
    await within(fe.session.subscribe('com.dyn.feed.', got.handler, { match: 'prefix' }), 'prefix subscribe');
    const started = Date.now();
    await within(be.session.publish('com.dyn.feed.x', ['news'], {}, { acknowledge: true }), 'publish', 4000);
    const ackMs = Date.now() - started;
    await waitFor(() => got.events.length > 0 || Date.now() - started > 3000, { timeoutMs: 4000, what: 'event or 3 s' });
    const failures = tr!.logs.filter((l) => l.event === 'authorizer.failed').map((l) => String(l.error));
    expect({
      delivered: got.topics(),
      authorizerAsked: questions('com.dyn.feed.x', 'subscribe'),
      publishAckMs: ackMs >= 900 ? '>= timeoutMs' : '< timeoutMs',
      authorizerFailures: failures,
    }, 'delivery to the authorized pattern subscriber').to.deep.equal({
      delivered: ['com.dyn.feed.x'], authorizerAsked: 1, publishAckMs: '< timeoutMs', authorizerFailures: [],
    });
  });

  it('after a reload moves a subscription from a static rule to an authorizer that denies it, no more events arrive', async function () {
    const before = [{ uri: 'com.dyn.moved', match: 'exact', allow: { subscribe: true } }];
    const be = await setup({ ttlMs: 60_000, timeoutMs: 2000, frontendRules: before });
    const fe = await c.connect('json', 'fe');
    const got = collector();
    await within(fe.session.subscribe('com.dyn.moved', got.handler), 'subscribe moved (static allow)');
    await within(fe.session.subscribe('com.dyn.ok.marker', got.handler), 'subscribe marker (authorizer allows)');
    await within(be.session.publish('com.dyn.moved', ['before'], {}, { acknowledge: true }), 'publish before');
    await marker(got.events, 'com.dyn.moved');

    const after = validateConfig({ realms: [dynRealm({ ttlMs: 60_000, timeoutMs: 2000, frontendRules: [] })] }).realms[0]!;
    reconfigureRealm(tr!, after);

    await within(be.session.publish('com.dyn.moved', ['after'], {}, { acknowledge: true }), 'publish after');
    await within(be.session.publish('com.dyn.ok.marker', ['marker'], {}, { acknowledge: true }), 'publish marker');
    await marker(got.events, 'com.dyn.ok.marker');
    const askedAfter = asked.filter((q) => q.uri === 'com.dyn.moved' && q.action === 'subscribe').length;
    expect(got.events.filter((e) => e.topic === 'com.dyn.moved').map((e) => e.args[0]),
      `events on com.dyn.moved (authorizer asked about it ${askedAfter}x since the reload, answer: deny)`).to.deep.equal(['before']);
    expect(policy('com.dyn.moved'), 'the authorizer denies com.dyn.moved').to.equal(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Config reload (json)
// ---------------------------------------------------------------------------------------------

function reloadRealm(stage: 'before' | 'after'): Record<string, unknown> {
  const news = { uri: 'com.news.', match: 'prefix', allow: { subscribe: true } };
  const keep = { uri: 'com.keep.', match: 'prefix', allow: { subscribe: true } };
  const withdrawn = stage === 'before';
  return {
    name: 'realm1',
    roles: [
      { name: 'anonymous', permissions: withdrawn ? [news, keep] : [keep] },
      { name: 'frontend', permissions: withdrawn ? [news, keep] : [keep] },
      { name: 'partner', permissions: [news, { uri: 'com.keep.', match: 'prefix', allow: { subscribe: true, register: true } }] },
      { name: 'worker', permissions: withdrawn ? [{ uri: 'com.work.', match: 'prefix', allow: { register: true } }] : [] },
      { name: 'backend', permissions: [{ uri: 'com.', match: 'prefix', allow: ALL }] },
    ],
    auth: { anonymous: { role: 'anonymous' }, ...ticketAuth(['frontend', 'partner', 'worker', 'backend']) },
  };
}

describe('authorization: config reload revokes what is no longer allowed (json)', function () {
  let tr: TestRouter;
  const c = clientsFor(() => tr);
  const connect = (authid?: string) => c.connect('json', authid);

  beforeEach(async function () {
    tr = await startRouter({ realms: [reloadRealm('before')], limits: NO_THROTTLE });
  });

  afterEach(async function () {
    await c.closeAll();
    await tr.stop();
  });

  function reload(): void {
    const realmConfig: RealmConfig = validateConfig({ realms: [reloadRealm('after')] }).realms[0]!;
    reconfigureRealm(tr, realmConfig);
  }

  async function rawSubscriber(features: Record<string, unknown>): Promise<{ raw: RawClient; news: number; keep: number }> {
    const { client: raw } = await RawClient.joined(tr.url, 'json', 'realm1', { subscriber: { features } });
    c.raws.push(raw);
    raw.send([32, 1, {}, 'com.news.x']);
    const subNews = await raw.next();
    raw.send([32, 2, {}, 'com.keep.x']);
    const subKeep = await raw.next();
    expect(subNews.slice(0, 2)).to.deep.equal([33, 1]);
    expect(subKeep.slice(0, 2)).to.deep.equal([33, 2]);
    return { raw, news: subNews[2] as number, keep: subKeep[2] as number };
  }

  it('sends [35, 0, {subscription, reason}] to a raw subscriber that announced subscription_revocation, then no more events', async function () {
    const { raw, news, keep } = await rawSubscriber({ subscription_revocation: true });
    const be = await connect('be');
    await within(be.session.publish('com.news.x', ['before'], {}, { acknowledge: true }), 'publish before');
    const first = await raw.next();
    expect(first.slice(0, 2), 'EVENT before the reload').to.deep.equal([36, news]);

    reload();
    const revocation = await raw.next();
    expect(revocation.slice(0, 2), 'revocation form').to.deep.equal([35, 0]);
    expect(revocation[2]).to.include({ subscription: news });
    expect((revocation[2] as Record<string, unknown>).reason).to.be.a('string');

    await within(be.session.publish('com.news.x', ['after'], {}, { acknowledge: true }), 'publish after');
    await within(be.session.publish('com.keep.x', ['marker'], {}, { acknowledge: true }), 'publish marker');
    const next = await raw.next();
    expect(next.slice(0, 2), 'the next message is the marker EVENT, not one on the revoked subscription').to.deep.equal([36, keep]);
    expect(raw.received, 'nothing else queued').to.deep.equal([]);
    expect(raw.closeCode, 'session kept').to.equal(undefined);
  });

  it('removes silently the subscription of a raw subscriber that did not announce subscription_revocation', async function () {
    const { raw, news, keep } = await rawSubscriber({});
    const be = await connect('be');
    await within(be.session.publish('com.news.x', ['before'], {}, { acknowledge: true }), 'publish before');
    expect((await raw.next()).slice(0, 2)).to.deep.equal([36, news]);

    reload();
    await within(be.session.publish('com.news.x', ['after'], {}, { acknowledge: true }), 'publish after');
    await within(be.session.publish('com.keep.x', ['marker'], {}, { acknowledge: true }), 'publish marker');
    const next = await raw.next();
    expect(next.slice(0, 2), 'no UNSUBSCRIBED, no event on the revoked subscription: the marker comes first').to.deep.equal([36, keep]);
    expect(raw.closeCode).to.equal(undefined);
  });

  it('stops events to an autobahn-js subscriber, while a session still allowed keeps its subscription', async function () {
    const fe = await connect('fe');
    const pa = await connect('pa');
    const be = await connect('be');
    const feSeen = collector();
    const paSeen = collector();
    const feNews = await within(fe.session.subscribe('com.news.x', feSeen.handler), 'fe subscribe news');
    await within(fe.session.subscribe('com.keep.x', feSeen.handler), 'fe subscribe keep');
    await within(pa.session.subscribe('com.news.x', paSeen.handler), 'pa subscribe news');
    await within(be.session.publish('com.news.x', ['before'], {}, { acknowledge: true }), 'publish before');
    await waitFor(() => feSeen.events.length === 1 && paSeen.events.length === 1, { timeoutMs: 3000, what: 'events before reload' });

    reload();
    const reason = await within(feNews.on_unsubscribe as Promise<unknown>, 'autobahn on_unsubscribe');
    expect(reason, 'revocation reason').to.be.a('string');

    await within(be.session.publish('com.news.x', ['after'], {}, { acknowledge: true }), 'publish after');
    await within(be.session.publish('com.keep.x', ['marker'], {}, { acknowledge: true }), 'publish marker');
    await marker(feSeen.events, 'com.keep.x');
    await waitFor(() => paSeen.events.length === 2, { timeoutMs: 3000, what: 'partner event after reload' });
    expect(feSeen.events.map((e) => `${e.topic}:${String(e.args[0])}`)).to.deep.equal(['com.news.x:before', 'com.keep.x:marker']);
    expect(paSeen.events.map((e) => e.args[0])).to.deep.equal(['before', 'after']);
    expect(fe.session.isOpen && pa.session.isOpen, 'no session dropped').to.equal(true);
  });

  it('stops calls to a callee whose register permission was withdrawn; a callee still allowed keeps serving', async function () {
    const wk = await connect('wk');
    const pa = await connect('pa');
    const be = await connect('be');
    let workCalls = 0;
    const registration = await within(wk.session.register('com.work.proc', () => ++workCalls), 'register work');
    await within(pa.session.register('com.keep.proc', () => 'kept'), 'register keep');
    expect(await within(be.session.call('com.work.proc'), 'call before')).to.equal(1);

    reload();
    const reason = await within(registration.on_unregister as Promise<unknown>, 'autobahn on_unregister');
    expect(reason, 'revocation reason').to.be.a('string');
    await expectError(be.session.call('com.work.proc'), NO_SUCH_PROCEDURE, 'call after reload');
    expect(workCalls, 'invocations after the reload').to.equal(1);
    expect(await within(be.session.call('com.keep.proc'), 'call kept procedure')).to.equal('kept');
    expect(wk.session.isOpen, 'the worker session is kept').to.equal(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Issue 13 item 1: the README example roles never leak app.X.private (json)
// ---------------------------------------------------------------------------------------------

describe('authorization: the README example roles keep app.X.private from browsers (json)', function () {
  let tr: TestRouter;
  const c = clientsFor(() => tr);
  /** A browser (`frontend`) and two services (`backend`). */
  const sessions = async () => ({ fe: await c.connect('json', 'fe'), be: await c.connect('json', 'be'), be2: await c.connect('json', 'be2') });

  beforeEach(async function () {
    const realm = { name: 'realm1', roles: readmePermissionsExample().roles, auth: ticketAuth(['frontend', 'backend']) };
    tr = await startRouter({ realms: [realm], limits: NO_THROTTLE });
  });

  afterEach(async function () {
    await c.closeAll();
    await tr.stop();
  });

  it('a frontend subscribed to app. (prefix) or app.. (wildcard) gets no events for app.user.private; exact subscriptions are refused', async function () {
    const { fe, be, be2 } = await sessions();
    await expectError(fe.session.subscribe('app.user.private', () => undefined), NOT_AUTHORIZED, 'subscribe app.user.private');
    await expectError(fe.session.subscribe('app..private', () => undefined, { match: 'wildcard' }), NOT_AUTHORIZED, 'subscribe app..private');
    const byPrefix = collector();
    const byWildcard = collector();
    const control = collector();
    await within(fe.session.subscribe('app.', byPrefix.handler, { match: 'prefix' }), 'subscribe prefix app.');
    await within(fe.session.subscribe('app..', byWildcard.handler, { match: 'wildcard' }), 'subscribe wildcard app..');
    await within(be2.session.subscribe('app.', control.handler, { match: 'prefix' }), 'backend subscribes prefix app.');

    be.session.publish('app.user.private', ['secret']);
    be.session.publish('app.user.public', ['marker']);
    await marker(byPrefix.events, 'app.user.public');
    await marker(byWildcard.events, 'app.user.public');
    await marker(control.events, 'app.user.public');
    expect(byPrefix.topics(), 'prefix subscription').to.deep.equal(['app.user.public']);
    expect(byWildcard.topics(), 'wildcard subscription').to.deep.equal(['app.user.public']);
    expect(control.topics(), 'the secret event was published').to.deep.equal(['app.user.private', 'app.user.public']);
  });

  it('a frontend call to app.user.private is refused and reaches no callee, exact or pattern', async function () {
    const { fe, be, be2 } = await sessions();
    const invoked: string[] = [];
    const record = (what: string) => () => {
      invoked.push(what);
      return what;
    };
    await within(be.session.register('app.user.private', record('exact')), 'register exact');
    await within(be2.session.register('app.', record('prefix'), { match: 'prefix' }), 'register prefix app.');
    await within(be2.session.register('app..private', record('wildcard'), { match: 'wildcard' }), 'register wildcard app..private');
    await expectError(fe.session.call('app.user.private'), NOT_AUTHORIZED, 'frontend call app.user.private');
    await expectError(fe.session.call('app.orders.private'), NOT_AUTHORIZED, 'frontend call app.orders.private');
    expect(invoked, 'callees invoked by the refused calls').to.deep.equal([]);
    // Control: the callees are reachable for a role allowed to call.
    expect(await within(be2.session.call('app.user.private'), 'backend call')).to.equal('exact');
    // The dealer keeps the WAMP order among registrations (a prefix before a wildcard).
    expect(await within(be.session.call('app.orders.private'), 'backend call')).to.equal('prefix');
    expect(await within(fe.session.call('app.orders.list'), 'frontend call app.orders.list')).to.equal('prefix');
  });

  it('retained events of app.user.private are not handed to a frontend', async function () {
    const { fe, be, be2 } = await sessions();
    await within(be.session.publish('app.user.private', ['secret'], {}, { acknowledge: true, retain: true }), 'retain private');
    await within(be.session.publish('app.user.public', ['public'], {}, { acknowledge: true, retain: true }), 'retain public');
    // Across nodes the retained events reach the other node's store after PUBLISHED (retain bucket).
    await waitFor(() => retainedOnEveryNode(tr, ['app.user.private', 'app.user.public']), { what: 'retained events on every node' });
    const browser = collector();
    const service = collector();
    await expectError(fe.session.subscribe('app.user.private', () => undefined, { get_retained: true }), NOT_AUTHORIZED, 'exact get_retained');
    await within(fe.session.subscribe('app.', browser.handler, { match: 'prefix', get_retained: true }), 'frontend prefix get_retained');
    await within(be2.session.subscribe('app.', service.handler, { match: 'prefix', get_retained: true }), 'backend prefix get_retained');
    await marker(service.events, 'app.user.private', 'retained private (control)');
    await marker(browser.events, 'app.user.public');
    await marker(service.events, 'app.user.public');
    // Both subscriptions were answered (SUBSCRIBED, then the retained events) before this RESULT.
    await within(be2.session.call('wamp.session.count'), 'round trip');
    expect(browser.topics(), 'retained events the frontend got').to.deep.equal(['app.user.public']);
  });

  it('a testament on app.user.private is not delivered to a frontend', async function () {
    const { fe, be, be2 } = await sessions();
    const browser = collector();
    const service = collector();
    await within(fe.session.subscribe('app.', browser.handler, { match: 'prefix' }), 'frontend prefix subscribe');
    await within(be.session.subscribe('app.', service.handler, { match: 'prefix' }), 'backend prefix subscribe');
    await within(be2.session.call('wamp.session.add_testament', ['app.user.private', ['gone']]), 'testament private');
    await within(be2.session.call('wamp.session.add_testament', ['app.user.public', ['gone']]), 'testament public');
    await be2.close();
    await marker(service.events, 'app.user.public', 'testaments (control)');
    await marker(browser.events, 'app.user.public');
    expect(service.topics()).to.deep.equal(['app.user.private', 'app.user.public']);
    expect(browser.topics(), 'testaments the frontend got').to.deep.equal(['app.user.public']);
  });
});

// ---------------------------------------------------------------------------------------------
// Whose role `disclose` follows, and disclose_caller on REGISTER (json)
// ---------------------------------------------------------------------------------------------

describe('authorization: disclosure follows the caller\'s role; disclose_caller (json)', function () {
  let tr: TestRouter;
  const c = clientsFor(() => tr);
  const connect = (authid?: string) => c.connect('json', authid);

  beforeEach(async function () {
    const realm = {
      name: 'realm1',
      roles: [
        // Callers of this role are not disclosed by any rule.
        { name: 'frontend', permissions: [{ uri: 'app.', match: 'prefix', allow: { call: true } }] },
        // Callers of this role are; and its callees' rule discloses too, which must not matter.
        { name: 'backend', permissions: [{ uri: '', match: 'prefix', allow: ALL, disclose: { caller: true } }] },
      ],
      auth: ticketAuth(['frontend', 'backend']),
    };
    tr = await startRouter({ realms: [realm], limits: NO_THROTTLE });
  });

  afterEach(async function () {
    await c.closeAll();
    await tr.stop();
  });

  const who = (_a: unknown, _k: unknown, d: any) => [d.caller_authid ?? null, d.caller_authrole ?? null];

  it('the rule of the caller\'s role decides, not the callee\'s', async function () {
    const fe = await connect('fe');
    const be = await connect('be');
    const be2 = await connect('be2');
    await within(be.session.register('app.who', who), 'register app.who');
    expect(await within(fe.session.call('app.who'), 'frontend call'), 'frontend caller, disclosing callee role').to.deep.equal([null, null]);
    expect(await within(be2.session.call('app.who'), 'backend call'), 'backend caller').to.deep.equal(['be2', 'backend']);
    expect(await within(fe.session.call('app.who', [], {}, { disclose_me: true }), 'frontend disclose_me')).to.deep.equal(['fe', 'frontend']);
  });

  it('disclose_caller on REGISTER discloses every caller of that registration, disclose_me: false included', async function () {
    const fe = await connect('fe');
    const be = await connect('be');
    await within(be.session.register('app.asks', who, { disclose_caller: true }), 'register with disclose_caller');
    expect(await within(fe.session.call('app.asks'), 'frontend call')).to.deep.equal(['fe', 'frontend']);
    expect(await within(fe.session.call('app.asks', [], {}, { disclose_me: false }), 'disclose_me false')).to.deep.equal(['fe', 'frontend']);
  });
});

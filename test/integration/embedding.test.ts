import '../helpers/quiet-autobahn.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autobahn from 'autobahn';
import { expect } from 'chai';
import WebSocket from 'ws';
import { startApp, REALM, type App } from '../../examples/express-app/server.js';
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { sleep, waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Issue 10, embedding: Switchyard as a library inside an Express app (examples/express-app):
 * HTTP and WAMP on one port, WAMP-CRA, in-process sessions both ways, code-level authenticator
 * and authorizer, and the package's own `import { createRouter } from 'switchyard-wamp'`.
 */

const cra = (autobahn as any).auth_cra;

function craOptions(authid: string, secret: string) {
  return {
    realm: REALM, authmethods: ['wampcra'], authid,
    onchallenge: (_s: unknown, method: string, extra: Record<string, any>) => {
      if (method !== 'wampcra') throw new Error(`unexpected ${method}`);
      return cra.sign(extra.salt ? cra.derive_key(secret, extra.salt, extra.iterations, extra.keylen) : secret, extra.challenge);
    },
  };
}

function ticketOptions(authid: string, ticket: string) {
  return { realm: REALM, authmethods: ['ticket'], authid, onchallenge: () => ticket };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the join to be refused');
}

/** A promise resolved by the first call of the returned callback. */
function once<T = unknown>(what: string, ms = 3000): { hit: (value: T) => void; seen: Promise<T> } {
  let hit!: (value: T) => void;
  const seen = new Promise<T>((resolve) => { hit = resolve; });
  return { hit, seen: withTimeout(seen, ms, what) };
}

describe('embedding: Express app with Switchyard attached (examples/express-app)', function () {
  let app: App;
  const clients: AbClient[] = [];

  before(async () => {
    app = await startApp({ port: 0, host: '127.0.0.1' });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close().catch(() => {});
  });

  after(async () => {
    await withTimeout(app.close(), 10_000, 'app close');
  });

  it('serves the page over HTTP and WAMP (WAMP-CRA, autobahn-js) on the same port', async () => {
    const page = await withTimeout(fetch(app.url), 5000, 'GET /');
    expect(page.status).to.equal(200);
    const html = await page.text();
    expect(html).to.include('autobahn.Connection').and.include('/vendor/autobahn.min.js');
    const api = await withTimeout(fetch(`${app.url}api/hello`), 5000, 'GET /api/hello');
    expect(await api.json()).to.deep.equal({ hello: 'from express' });
    const vendor = await withTimeout(fetch(`${app.url}vendor/autobahn.min.js`), 5000, 'GET autobahn');
    expect(vendor.status).to.equal(200);
    expect((await vendor.text()).length).to.be.greaterThan(10_000);

    const alice = await connectAutobahn(app.wsUrl, 'json', craOptions('alice', 'alice-secret'));
    clients.push(alice);
    expect(new URL(app.wsUrl).port).to.equal(String(app.port));
    expect(alice.details).to.include({ authid: 'alice', authrole: 'frontend', authmethod: 'wampcra' });
    expect(await refusal(connectAutobahn(app.wsUrl, 'json', craOptions('alice', 'wrong-secret')))).to.match(/not_authorized|authentication_failed/);
  });

  it('answers non-WAMP upgrades and foreign origins as a WebSocket listener does', async () => {
    const status = (url: string, headers: Record<string, string>, protocol = 'wamp.2.json') => new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, protocol, { headers });
      const timer = setTimeout(() => { ws.terminate(); reject(new Error('no answer to the upgrade')); }, 3000);
      ws.on('unexpected-response', (_req, res) => { clearTimeout(timer); resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => { clearTimeout(timer); resolve(101); ws.close(); });
      ws.on('error', () => {});
    });
    expect(await status(app.wsUrl, { origin: 'http://evil.example' })).to.equal(403);
    expect(await status(app.wsUrl, {}, 'wamp.2.unknown')).to.equal(400);
    expect(await status(app.wsUrl.replace('/ws', '/other'), {})).to.equal(404);
    expect(await status(app.wsUrl, { origin: app.url.replace(/\/$/, '') })).to.equal(101);
  });

  it('an in-process session calls a remote callee, and a remote caller calls an in-process registration', async () => {
    const alice = await connectAutobahn(app.wsUrl, 'json', craOptions('alice', 'alice-secret'));
    clients.push(alice);
    await alice.session.register('app.remote.echo', (args: unknown[], kwargs: Record<string, unknown>) =>
      new (autobahn as any).Result([...args, 'via alice'], { ...kwargs, seen: true }));
    const answer = await withTimeout(app.backend.call('app.remote.echo', [1, 'x'], { k: 'v' }), 3000, 'in-process → remote call');
    expect(answer).to.deep.equal({ args: [1, 'x', 'via alice'], kwargs: { k: 'v', seen: true } });

    // The example's in-process registration, called from the remote client.
    expect(await withTimeout(alice.session.call('app.add', [2, 3]), 3000, 'remote → in-process call')).to.equal(5);

    // Errors reject with the WAMP URI, args and kwargs.
    await alice.session.register('app.remote.fail', () => { throw new (autobahn as any).Error('app.error.nope', ['bad input'], { code: 7 }); });
    const failed = await app.backend.call('app.remote.fail').then(() => undefined, (e: unknown) => e as { uri: string; args: unknown[]; kwargs: Record<string, unknown> });
    expect(failed).to.include({ uri: 'app.error.nope' });
    expect(failed!.args).to.deep.equal(['bad input']);
    expect(failed!.kwargs).to.deep.equal({ code: 7 });
    const missing = await app.backend.call('app.nobody.home').then(() => undefined, (e: unknown) => e as { uri: string });
    expect(missing?.uri).to.equal('wamp.error.no_such_procedure');

    // An in-process callee's thrown WampError reaches the remote caller as a WAMP error.
    const { WampError } = await import('switchyard-wamp');
    const reg = await app.backend.register('app.backend.fail', () => { throw new WampError('app.error.backend', 'backend says no', ['backend says no']); });
    const remoteError = await alice.session.call('app.backend.fail').then(() => undefined, (e: any) => e);
    expect(remoteError?.error).to.equal('app.error.backend');
    await reg.unregister();
    const gone = await alice.session.call('app.backend.fail').then(() => undefined, (e: any) => e);
    expect(gone?.error).to.equal('wamp.error.no_such_procedure');
  });

  it('publishes and subscribes both ways between in-process and remote sessions', async () => {
    const alice = await connectAutobahn(app.wsUrl, 'json', craOptions('alice', 'alice-secret'));
    clients.push(alice);
    const toRemote = once<unknown[]>('event at the remote subscriber');
    await alice.session.subscribe('app.news', (args: unknown[]) => toRemote.hit(args));
    await app.backend.publish('app.news', ['from backend']);
    expect(await toRemote.seen).to.deep.equal(['from backend']);

    const toLocal = once<{ args: unknown[]; details: Record<string, unknown> }>('event at the in-process subscriber');
    const sub = await app.backend.subscribe('app.feedback', (args, _kwargs, details) => toLocal.hit({ args, details }), {});
    await alice.session.publish('app.feedback', ['from alice'], {}, { acknowledge: true, disclose_me: true });
    const got = await toLocal.seen;
    expect(got.args).to.deep.equal(['from alice']);
    expect(got.details).to.include({ publisher_authid: 'alice' });
    await sub.unsubscribe();

    // The example's relay: a remote chat line comes back as an in-process notice.
    const notice = once<unknown[]>('relayed notice');
    await alice.session.subscribe('app.notice', (args: unknown[]) => notice.hit(args));
    await alice.session.publish('app.chat', ['hi'], {}, { acknowledge: true, disclose_me: true });
    expect(await notice.seen).to.deep.equal(['alice: hi']);
  });

  it('in-process sessions join like sessions: counted, meta-visible, the role must exist, authorization applies', async () => {
    const realm = app.router.realms.get(REALM)!;
    const before = realm.sessions.size;
    const worker = await app.router.session(REALM, { authid: 'worker', authrole: 'frontend' });
    expect(worker.id).to.be.a('number').and.greaterThan(0);
    expect(realm.sessions.size).to.equal(before + 1);
    expect(realm.sessions.get(worker.id)?.authid).to.equal('worker');

    // The code-level authorizer is in front of the static rules (which would allow app.*).
    const refused = await worker.publish('app.admin.reset', []).then(() => undefined, (e: { uri: string }) => e);
    expect(refused?.uri).to.equal('wamp.error.not_authorized');
    await app.backend.publish('app.admin.reset', []); // role backend: allowed
    // Static rules still apply where the code-level authorizer has no opinion.
    const outside = await worker.call('other.thing').then(() => undefined, (e: { uri: string }) => e);
    expect(outside?.uri).to.equal('wamp.error.not_authorized');

    await withTimeout(worker.close(), 3000, 'in-process close');
    await waitFor(() => realm.sessions.size === before, { what: 'in-process session left' });
    await worker.call('app.add', [1, 1]).then(() => { throw new Error('call after close succeeded'); }, () => undefined);

    const noRole = await app.router.session(REALM, { authid: 'x', authrole: 'no-such-role' }).then(() => undefined, (e: { uri: string }) => e);
    expect(noRole?.uri).to.equal('wamp.error.no_such_role');
    const noRealm = await app.router.session('no.such.realm', { authid: 'x', authrole: 'frontend' }).then(() => undefined, (e: { uri: string }) => e);
    expect(noRealm?.uri).to.equal('wamp.error.no_such_realm');
    await waitFor(() => app.router.connectionCount === before, { what: 'refused in-process sessions released' });
  });

  it('a code-level authenticator allows a user of the app store and refuses others', async () => {
    const carol = await connectAutobahn(app.wsUrl, 'json', ticketOptions('carol', 'carol-password'));
    clients.push(carol);
    expect(carol.details).to.include({ authid: 'carol', authrole: 'frontend', authmethod: 'ticket', authprovider: 'app-users' });
    expect(await withTimeout(carol.session.call('app.add', [20, 22]), 3000, 'carol call')).to.equal(42);
    expect(await refusal(connectAutobahn(app.wsUrl, 'json', ticketOptions('carol', 'wrong')))).to.match(/not_authorized/);
    expect(await refusal(connectAutobahn(app.wsUrl, 'json', ticketOptions('mallory', 'carol-password')))).to.match(/not_authorized/);
  });

  it("exposes createRouter through the package's own name", async () => {
    const pkg = await import('switchyard-wamp');
    expect(pkg.createRouter).to.be.a('function');
    expect(pkg.welcome).to.be.a('function');
    expect(pkg.deny('wamp.error.not_authorized', 'no')).to.deep.equal({ outcome: 'deny', reason: 'wamp.error.not_authorized', message: 'no' });
    // The same schema as router.config.json: a bad config is refused with the problem's path.
    expect(() => pkg.createRouter({ listeners: [], realms: [{ name: 'x' }] })).to.throw(pkg.ConfigError, /realms\/0/);
  });
});

describe('embedding: attach and close on a plain http server', function () {
  let server: Server;

  afterEach(async () => {
    await new Promise<void>((done) => { server.close(() => done()); server.closeAllConnections(); });
  });

  it('close() detaches: the app keeps serving HTTP, WAMP sessions are closed and new upgrades are not served', async () => {
    const { createRouter } = await import('switchyard-wamp');
    server = createServer((_req, res) => { res.end('app'); });
    const router = createRouter({
      listeners: [],
      realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }] }], auth: { anonymous: { role: 'anonymous' } } }],
    });
    router.attach(server, { path: '/wamp' });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as AddressInfo).port;
    const client = await connectAutobahn(`ws://127.0.0.1:${port}/wamp`);
    expect(router.connectionCount).to.equal(1);
    await withTimeout(router.close(), 10_000, 'router close');
    const closed = await withTimeout(client.closed, 5000, 'client closed by the router');
    expect(closed.reason).to.be.a('string');
    expect(server.listenerCount('upgrade')).to.equal(0);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).to.equal('app');
    const upgraded = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/wamp`, 'wamp.2.json');
      const timer = setTimeout(() => { ws.terminate(); resolve(false); }, 2000);
      ws.on('open', () => { clearTimeout(timer); ws.close(); resolve(true); });
      ws.on('error', () => { clearTimeout(timer); resolve(false); });
    });
    expect(upgraded).to.equal(false);
    await sleep(10);
  });
});

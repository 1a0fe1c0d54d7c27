// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { waitFor } from '../helpers/wait.js';
import { expectError, within } from '../helpers/promises.js';

/**
 * The meta API tells a caller only what its role may use (issue 13.6), with autobahn-js: a
 * `monitor` role that may call and subscribe to wamp.session./wamp.registration./wamp.subscription.
 * but has no permission on `app.secret.` never hears of the secret procedures and topics
 * (procedures answer as if they did not exist, events do not arrive) and sees no authextra or
 * transport of other sessions; an `admin` role with `meta: {authextra, transport}` sees everything.
 */

const ALL = { call: true, register: true, publish: true, subscribe: true };
const META_API = ['wamp.session.', 'wamp.registration.', 'wamp.subscription.'].map((uri) => ({ uri, match: 'prefix', allow: { call: true, subscribe: true } }));

const ROLES = [
  {
    name: 'monitor',
    permissions: [
      ...META_API,
      // Visible through the first action of each pair (call, subscribe) and through the second (register, publish).
      { uri: 'app.public.', match: 'prefix', allow: { call: true, subscribe: true } },
      { uri: 'app.feed.', match: 'prefix', allow: { register: true, publish: true } },
    ],
  },
  {
    name: 'admin',
    permissions: [{ uri: '', match: 'prefix', allow: ALL }, { uri: 'wamp.', match: 'prefix', allow: { call: true, subscribe: true } }],
    meta: { authextra: true, transport: true },
  },
  // Sees authextra but not transport: the two settings are independent.
  { name: 'auditor', permissions: META_API, meta: { authextra: true } },
  { name: 'service', permissions: [{ uri: '', match: 'prefix', allow: ALL }, { uri: 'wamp.', match: 'prefix', allow: {} }] },
];

const USERS: Record<string, { ticket: string; role: string; extra?: Record<string, unknown> }> = {
  svc: { ticket: 'svc-ticket', role: 'service', extra: { tenant: 'acme', plan: 'gold' } },
  root: { ticket: 'root-ticket', role: 'admin' },
  audit: { ticket: 'audit-ticket', role: 'auditor' },
};

describe('meta API visibility (autobahn-js)', function () {
  let tr: TestRouter;
  let clients: AbClient[];

  beforeEach(async function () {
    clients = [];
    tr = await startRouter({
      realms: [{ name: 'realm1', roles: ROLES, auth: { anonymous: { role: 'monitor' }, ticket: { users: USERS } } }],
      limits: { rateMessagesPerSecond: 0, authFailureBaseDelayMs: 0 },
    });
  });

  afterEach(async function () {
    for (const client of clients) await client.close().catch(() => undefined);
    await tr.stop();
  });

  async function connect(authid?: string): Promise<AbClient> {
    const auth = authid === undefined ? {} : { authmethods: ['ticket'], authid, onchallenge: () => USERS[authid]!.ticket };
    const client = await connectAutobahn(tr.url, 'json', { on_user_error: () => undefined, ...auth });
    clients.push(client);
    return client;
  }

  const call = <T = any>(client: AbClient, procedure: string, args: unknown[] = []) => within<T>(client.session.call(procedure, args), procedure);

  /** Records [topic-suffix, ...args] of the events on one prefix subscription. */
  async function watch(client: AbClient, prefix: string): Promise<unknown[][]> {
    const events: unknown[][] = [];
    await within(client.session.subscribe(prefix, (args: unknown[], _kw: unknown, details: any) => {
      events.push([String(details.topic).slice(prefix.length), ...args]);
    }, { match: 'prefix' }), `subscribe ${prefix}`);
    return events;
  }

  // ----- sessions -----

  it('wamp.session.get shows authextra and transport only to roles whose meta setting allows them', async function () {
    const svc = await connect('svc');
    const monitor = await connect();
    const root = await connect('root');
    const audit = await connect('audit');
    const who = { session: svc.session.id, authid: 'svc', authrole: 'service', authmethod: 'ticket', realm: 'realm1' };

    const seenByMonitor = await call<Record<string, any>>(monitor, 'wamp.session.get', [svc.session.id]);
    expect(seenByMonitor).to.include(who);
    expect(seenByMonitor).to.not.have.any.keys('authextra', 'transport');

    const seenByRoot = await call<Record<string, any>>(root, 'wamp.session.get', [svc.session.id]);
    expect(seenByRoot).to.include(who);
    expect(seenByRoot.authextra).to.deep.equal({ tenant: 'acme', plan: 'gold' });
    expect(seenByRoot.transport).to.include({ type: 'websocket', protocol: 'wamp.2.json' });
    expect(seenByRoot.transport.peer).to.match(/127\.0\.0\.1/);

    const seenByAuditor = await call<Record<string, any>>(audit, 'wamp.session.get', [svc.session.id]);
    expect(seenByAuditor.authextra).to.deep.equal({ tenant: 'acme', plan: 'gold' });
    expect(seenByAuditor).to.not.have.any.keys('transport');

    // Counting and listing by role stay available to the monitor.
    expect(await call(monitor, 'wamp.session.count', [['service']])).to.equal(1);
    expect(await call(monitor, 'wamp.session.list', [['service']])).to.deep.equal([svc.session.id]);
  });

  it('wamp.session.on_join carries authextra and transport only to subscribers whose role may see them', async function () {
    const monitor = await connect();
    const root = await connect('root');
    const monitorSeen = await watch(monitor, 'wamp.session.on_join');
    const rootSeen = await watch(root, 'wamp.session.on_join');
    const svc = await connect('svc');
    await waitFor(() => monitorSeen.length === 1 && rootSeen.length === 1, { what: 'on_join at both' });
    const [, toMonitor] = monitorSeen[0] as [string, Record<string, any>];
    const [, toRoot] = rootSeen[0] as [string, Record<string, any>];
    expect(toMonitor).to.include({ session: svc.session.id, authid: 'svc', authrole: 'service' });
    expect(toMonitor).to.not.have.any.keys('authextra', 'transport');
    expect(toRoot.authextra).to.deep.equal({ tenant: 'acme', plan: 'gold' });
    expect(toRoot.transport.peer).to.match(/127\.0\.0\.1/);
    expect(toRoot, 'on_join = wamp.session.get for the same viewer').to.deep.equal(await call(root, 'wamp.session.get', [svc.session.id]));
    expect(toMonitor).to.deep.equal(await call(monitor, 'wamp.session.get', [svc.session.id]));
  });

  // ----- registrations -----

  it('wamp.registration.* answers about secret procedures exactly as about missing ones; a role that may call them sees them', async function () {
    const svc = await connect('svc');
    const secret = await within<any>(svc.session.register('app.secret.proc', () => 1), 'register secret');
    const secretPrefix = await within<any>(svc.session.register('app.secret.', () => 2, { match: 'prefix' }), 'register secret prefix');
    const open = await within<any>(svc.session.register('app.public.proc', () => 3), 'register public');
    const feed = await within<any>(svc.session.register('app.feed.proc', () => 4), 'register feed');
    const monitor = await connect();
    const root = await connect('root');

    expect(await call(monitor, 'wamp.registration.list')).to.deep.equal({ exact: [open.id, feed.id], prefix: [], wildcard: [] });
    expect(await call(monitor, 'wamp.registration.get', [feed.id]), 'visible to a role that may register it').to.include({ uri: 'app.feed.proc' });
    expect(await call(monitor, 'wamp.registration.lookup', ['app.secret.proc'])).to.equal(null);
    expect(await call(monitor, 'wamp.registration.lookup', ['app.secret.', { match: 'prefix' }])).to.equal(null);
    expect(await call(monitor, 'wamp.registration.match', ['app.secret.proc'])).to.equal(null);
    expect(await call(monitor, 'wamp.registration.match', ['app.secret.other'])).to.equal(null);
    for (const id of [secret.id, secretPrefix.id, 424242]) {
      for (const name of ['get', 'list_callees', 'count_callees']) {
        await expectError(monitor.session.call(`wamp.registration.${name}`, [id]), 'wamp.error.no_such_registration', `${name} ${id}`);
      }
    }
    expect(await call(monitor, 'wamp.registration.lookup', ['app.public.proc'])).to.equal(open.id);
    expect(await call(monitor, 'wamp.registration.match', ['app.public.proc'])).to.equal(open.id);
    expect(await call(monitor, 'wamp.registration.get', [open.id])).to.include({ uri: 'app.public.proc' });
    expect(await call(monitor, 'wamp.registration.list_callees', [open.id])).to.deep.equal([svc.session.id]);
    expect(await call(monitor, 'wamp.registration.count_callees', [open.id])).to.equal(1);

    expect(await call(root, 'wamp.registration.list')).to.deep.equal({ exact: [secret.id, open.id, feed.id], prefix: [secretPrefix.id], wildcard: [] });
    expect(await call(root, 'wamp.registration.lookup', ['app.secret.proc'])).to.equal(secret.id);
    expect(await call(root, 'wamp.registration.match', ['app.secret.other'])).to.equal(secretPrefix.id);
    expect(await call(root, 'wamp.registration.get', [secret.id])).to.include({ uri: 'app.secret.proc' });
    expect(await call(root, 'wamp.registration.list_callees', [secret.id])).to.deep.equal([svc.session.id]);
    expect(await call(root, 'wamp.registration.count_callees', [secretPrefix.id])).to.equal(1);
  });

  // ----- subscriptions -----

  it('wamp.subscription.* answers about secret topics exactly as about missing ones; a role that may use them sees them', async function () {
    const svc = await connect('svc');
    const secret = await within<any>(svc.session.subscribe('app.secret.topic', () => undefined), 'subscribe secret');
    const secretPrefix = await within<any>(svc.session.subscribe('app.secret.', () => undefined, { match: 'prefix' }), 'subscribe secret prefix');
    const open = await within<any>(svc.session.subscribe('app.public.topic', () => undefined), 'subscribe public');
    const feed = await within<any>(svc.session.subscribe('app.feed.topic', () => undefined), 'subscribe feed');
    const monitor = await connect();
    const root = await connect('root');

    const monitorList = await call<Record<string, number[]>>(monitor, 'wamp.subscription.list');
    expect(monitorList.exact).to.include.members([open.id, feed.id]).and.not.include(secret.id);
    expect(await call(monitor, 'wamp.subscription.get', [feed.id]), 'visible to a role that may publish it').to.include({ uri: 'app.feed.topic' });
    expect(monitorList.prefix).to.not.include(secretPrefix.id);
    expect(await call(monitor, 'wamp.subscription.lookup', ['app.secret.topic'])).to.equal(null);
    expect(await call(monitor, 'wamp.subscription.lookup', ['app.secret.', { match: 'prefix' }])).to.equal(null);
    expect(await call(monitor, 'wamp.subscription.match', ['app.secret.topic'])).to.equal(null);
    for (const id of [secret.id, secretPrefix.id, 424242]) {
      for (const name of ['get', 'list_subscribers', 'count_subscribers']) {
        await expectError(monitor.session.call(`wamp.subscription.${name}`, [id]), 'wamp.error.no_such_subscription', `${name} ${id}`);
      }
    }
    expect(await call(monitor, 'wamp.subscription.lookup', ['app.public.topic'])).to.equal(open.id);
    expect(await call(monitor, 'wamp.subscription.match', ['app.public.topic'])).to.deep.equal([open.id]);
    expect(await call(monitor, 'wamp.subscription.get', [open.id])).to.include({ uri: 'app.public.topic' });
    expect(await call(monitor, 'wamp.subscription.list_subscribers', [open.id])).to.deep.equal([svc.session.id]);
    expect(await call(monitor, 'wamp.subscription.count_subscribers', [open.id])).to.equal(1);

    const rootList = await call<Record<string, number[]>>(root, 'wamp.subscription.list');
    expect(rootList.exact).to.include.members([secret.id, open.id]);
    expect(rootList.prefix).to.include(secretPrefix.id);
    expect(await call(root, 'wamp.subscription.match', ['app.secret.topic'])).to.have.members([secret.id, secretPrefix.id]);
    expect(await call(root, 'wamp.subscription.get', [secret.id])).to.include({ uri: 'app.secret.topic' });
    expect(await call(root, 'wamp.subscription.list_subscribers', [secretPrefix.id])).to.deep.equal([svc.session.id]);
    expect(await call(root, 'wamp.subscription.count_subscribers', [secret.id])).to.equal(1);
  });

  // ----- meta events -----

  /** How to create and remove a registration or a subscription with autobahn-js, and the events that follow. */
  const LIFECYCLES = [
    {
      kind: 'registration', uri: 'proc', events: ['on_create', 'on_register', 'on_unregister', 'on_delete'],
      add: (c: AbClient, uri: string) => c.session.register(uri, () => 1), remove: (c: AbClient, r: unknown) => c.session.unregister(r),
    },
    {
      kind: 'subscription', uri: 'topic', events: ['on_create', 'on_subscribe', 'on_unsubscribe', 'on_delete'],
      add: (c: AbClient, uri: string) => c.session.subscribe(uri, () => undefined), remove: (c: AbClient, s: unknown) => c.session.unsubscribe(s),
    },
  ];

  for (const lifecycle of LIFECYCLES) {
    it(`wamp.${lifecycle.kind}.${lifecycle.events.join('/')} about a secret URI go only to roles that may see it`, async function () {
      const monitor = await connect();
      const root = await connect('root');
      const prefix = `wamp.${lifecycle.kind}.`;
      const monitorSeen = await watch(monitor, prefix);
      const rootSeen = await watch(root, prefix);
      const svc = await connect('svc');
      const secret = await within<any>(lifecycle.add(svc, `app.secret.${lifecycle.uri}`), 'add secret');
      await within(lifecycle.remove(svc, secret), 'remove secret');
      // Marker: the public one's events are published after the secret one's, so once they are in, a leak would be too.
      const open = await within<any>(lifecycle.add(svc, `app.public.${lifecycle.uri}`), 'add public');
      await within(lifecycle.remove(svc, open), 'remove public');
      await waitFor(() => monitorSeen.length >= 4 && rootSeen.length >= 8, { what: `${lifecycle.kind} events` });
      expect(monitorSeen.map((e) => e[0])).to.deep.equal(lifecycle.events);
      expect(monitorSeen.map((e) => e[1])).to.deep.equal(lifecycle.events.map(() => svc.session.id));
      expect(JSON.stringify(monitorSeen)).to.include(String(open.id)).and.not.include('app.secret').and.not.include(String(secret.id));
      expect(rootSeen.map((e) => e[0])).to.deep.equal([...lifecycle.events, ...lifecycle.events]);
      expect((rootSeen[0]![2] as Record<string, unknown>).uri).to.equal(`app.secret.${lifecycle.uri}`);
    });
  }
});

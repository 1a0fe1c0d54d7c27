import { expect } from 'chai';
import { newNonce } from '../../auth/crypto.js';
import { SessionMeta, type MetaRealm } from '../../realms/meta/session-meta.js';
import type { Broker, Subscription } from '../../router/broker.js';
import { validateConfig } from '../../router/config.js';
import type { Dealer } from '../../router/dealer.js';
import { createLogger, type LogFields, type Logger } from '../../router/log.js';
import { createRouter, type Router } from '../../router/server.js';
import type { Session } from '../../router/session.js';
import { RawClient } from '../helpers/raw-client.js';
import { ALLOW_ALL } from '../helpers/router.js';

/**
 * Issue 16: a join does only the work somebody needs. No session meta event is built when nobody
 * subscribes to it and no other node shares the realm; no log line's fields are built below the
 * log level; what is left (the events, the lines, the counters) is exactly what it was.
 */

const ON_JOIN = 'wamp.session.on_join';
const ON_LEAVE = 'wamp.session.on_leave';

/** A SessionMeta over a fake realm that records what the meta API builds and publishes. */
function metaHarness(subscribed: string[] = []) {
  const published: { topic: string; args: unknown[]; remote: unknown }[] = [];
  const subscriber = { authrole: 'monitor' } as unknown as Session;
  const broker = {
    remote: undefined as unknown,
    matchSubscriptions: (topic: string): Subscription[] => (subscribed.includes(topic)
      ? [{ id: 1, uri: topic, match: 'exact', created: '', subscribers: new Set([subscriber]) }] : []),
    publishInternal: (topic: string, args: unknown[], _kwargs: unknown, _exclude: unknown, _filter: unknown, remote: unknown) => {
      published.push({ topic, args, remote });
    },
  };
  const realm = {
    sessions: new Map(), broker: broker as unknown as Broker, decider: {} as MetaRealm['decider'], refusals: {} as MetaRealm['refusals'],
    detailsShownTo: () => ({ authextra: false, transport: false }),
  } as MetaRealm;
  const meta = new SessionMeta(realm, { provide() {} } as unknown as Dealer);
  let detailsRead = 0;
  const session = {
    id: 7, authid: 'alice', authrole: 'user', authmethod: 'wampcra', authprovider: 'static', authextra: {}, realm: { name: 'realm1' },
    get transport() {
      detailsRead++;
      return { info: { type: 'websocket', protocol: 'wamp.2.json', peer: '127.0.0.1:1', remoteAddress: '127.0.0.1' } };
    },
  } as unknown as Session;
  return { meta, broker, published, session, detailsRead: () => detailsRead };
}

describe('lean joins (issue 16)', function () {
  describe('session meta on_join / on_leave', function () {
    it('builds no event when nobody subscribes and no other node shares the realm', function () {
      const h = metaHarness();
      h.meta.joined(h.session);
      h.meta.left(h.session);
      expect(h.detailsRead(), 'session details read for on_join').to.equal(0);
      expect(h.published).to.deep.equal([]);
    });

    it('publishes both to a local subscriber, as before', function () {
      const h = metaHarness([ON_JOIN, ON_LEAVE]);
      h.meta.joined(h.session);
      h.meta.left(h.session);
      expect(h.published.map((p) => p.topic)).to.deep.equal([ON_JOIN, ON_LEAVE]);
      expect((h.published[0]!.args[0] as Record<string, unknown>).authid).to.equal('alice');
      expect(h.published[1]!.args).to.deep.equal([7, 'alice', 'user']);
    });

    it('tells the other nodes of a cluster even without a local subscriber', function () {
      const h = metaHarness();
      const told: unknown[] = [];
      h.meta.remote = { joined: (info: unknown) => told.push(info), ask: async () => [] } as unknown as SessionMeta['remote'];
      h.broker.remote = {};
      h.meta.joined(h.session);
      h.meta.left(h.session);
      expect(told).to.have.length(1);
      expect((told[0] as Record<string, unknown>).session).to.equal(7);
      expect(h.published).to.deep.equal([{ topic: ON_LEAVE, args: [7, 'alice', 'user'], remote: {} }]);
    });
  });

  describe('log lines of a join and a leave', function () {
    let router: Router | undefined;

    afterEach(async function () {
      await router?.close();
      router = undefined;
    });

    /** Join and leave one raw client; returns the events of the info lines the logger was asked to write. */
    async function joinAndLeave(logger: Logger): Promise<{ infos: string[]; fields: LogFields[] }> {
      const infos: string[] = [];
      const fields: LogFields[] = [];
      const spy: Logger = {
        ...logger,
        info: (event, f) => {
          infos.push(event);
          fields.push(f ?? {});
          logger.info(event, f);
        },
      };
      router = createRouter(validateConfig({
        listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }],
        realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: ALLOW_ALL }], auth: { anonymous: { role: 'anonymous' } } }],
      }), { logger: spy });
      const [address] = await router.listen();
      const { client } = await RawClient.joined(address!.url);
      client.send([6, {}, 'wamp.close.normal']);
      expect((await client.next())[0]).to.equal(6);
      client.close();
      await client.closed;
      return { infos, fields };
    }

    it('below the log level the join and leave lines are not even built', async function () {
      const { infos } = await joinAndLeave(createLogger({ level: 'warn', write: () => undefined }));
      expect(infos).to.not.include('session.joined');
      expect(infos).to.not.include('session.left');
    });

    it('at the log level they are written with the same fields as before', async function () {
      const lines: Record<string, unknown>[] = [];
      const { infos } = await joinAndLeave(createLogger({ level: 'info', write: (line) => lines.push(JSON.parse(line)) }));
      expect(infos).to.include.members(['session.joined', 'session.left']);
      const joined = lines.find((l) => l.event === 'session.joined')!;
      expect(joined).to.include.keys('session', 'realm', 'authid', 'authrole', 'authmethod', 'peer');
      const left = lines.find((l) => l.event === 'session.left')!;
      expect(left).to.include({ realm: 'realm1', reason: 'wamp.close.normal' });
    });

    it('a logger that cannot tell its level (no enabled()) still gets every line', async function () {
      const plain = createLogger({ level: 'info', write: () => undefined });
      delete (plain as { enabled?: unknown }).enabled;
      const { infos } = await joinAndLeave(plain);
      expect(infos).to.include.members(['session.joined', 'session.left']);
    });

    it('logins and closes are still counted for /metrics', async function () {
      await joinAndLeave(createLogger({ level: 'warn', write: () => undefined }));
      const text = await router!.metrics.registry.metrics();
      expect(text).to.match(/switchyard_auth_success_total\{method="anonymous"\} 1\b/);
      expect(text).to.match(/switchyard_closes_total\{reason="[^"]+"\} 1\b/);
    });
  });

  it('createLogger tells whether a level is written', function () {
    const warn = createLogger({ level: 'warn', write: () => undefined });
    expect(['debug', 'info', 'warn', 'error'].map((l) => warn.enabled!(l as 'info'))).to.deep.equal([false, false, true, true]);
    const silent = createLogger({ level: 'silent', write: () => undefined });
    expect(silent.enabled!('error')).to.equal(false);
  });

  it('WAMP-CRA nonces from the pooled RNG: 48 random bytes each, never repeated across refills', function () {
    const nonces = Array.from({ length: 500 }, () => newNonce());
    for (const nonce of nonces) {
      expect(nonce).to.match(/^[A-Za-z0-9+/]{64}$/);
      expect(Buffer.from(nonce, 'base64')).to.have.length(48);
    }
    expect(new Set(nonces).size).to.equal(500);
  });
});

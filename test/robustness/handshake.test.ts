import { expect } from 'chai';
import WebSocket from 'ws';
import { validateConfig } from '../../router/config.js';
import { livenessProbe } from '../helpers/liveness.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { upgrade, type UpgradeOutcome } from '../helpers/upgrade.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Reliability §2.12 items 7, 9 and 10, all decided at the HTTP upgrade: the Origin check (CSWSH),
 * the required `wamp.2.*` subprotocol, and the connection caps (total, per IP, unauthenticated;
 * per IP from X-Forwarded-For only behind a trusted proxy).
 */

type Outcome = UpgradeOutcome;

describe('robustness: what is refused at the upgrade', function () {
  this.timeout(15000);
  let tr: TestRouter;
  const open: WebSocket[] = [];

  async function expectOpen(outcome: Promise<Outcome>): Promise<WebSocket> {
    const result = await outcome;
    expect(result.status).to.equal('open');
    const ws = (result as { ws: WebSocket }).ws;
    open.push(ws);
    return ws;
  }

  afterEach(async () => {
    for (const ws of open.splice(0)) ws.terminate();
    await tr.stop();
  });

  describe('Origin (CSWSH)', () => {
    it('a foreign Origin gets 403; same host, allowlisted and absent Origin are accepted', async () => {
      tr = await startRouter({}, { allowedOrigins: ['https://app.example'] });
      const host = new URL(tr.url).host;
      expect((await upgrade(tr.url, ['wamp.2.json'], { origin: 'https://evil.example' })).status).to.equal(403);
      // Same host on another scheme or port is still foreign only if the host differs.
      expect((await upgrade(tr.url, ['wamp.2.json'], { origin: 'https://app.example.evil.example' })).status).to.equal(403);
      expect((await upgrade(tr.url, ['wamp.2.json'], { origin: 'null' })).status).to.equal(403);
      await expectOpen(upgrade(tr.url, ['wamp.2.json'], { origin: `http://${host}` }));
      await expectOpen(upgrade(tr.url, ['wamp.2.json'], { origin: 'https://app.example' }));
      await expectOpen(upgrade(tr.url, ['wamp.2.json']));
      await livenessProbe(tr.url);
    });

    it('requireOrigin: an upgrade without Origin gets 403', async () => {
      tr = await startRouter({}, { requireOrigin: true, allowedOrigins: ['https://app.example'] });
      expect((await upgrade(tr.url, ['wamp.2.json'])).status).to.equal(403);
      await expectOpen(upgrade(tr.url, ['wamp.2.json'], { origin: 'https://app.example' }));
    });

    it('allowedOrigins: scheme, host and port all count; localhost is not 127.0.0.1; default port and case are normalized', async () => {
      tr = await startRouter({}, { allowedOrigins: ['http://127.0.0.1:8000', 'HTTPS://App.Example:443'] });
      await expectOpen(upgrade(tr.url, ['wamp.2.json'], { origin: 'http://127.0.0.1:8000' }));
      await expectOpen(upgrade(tr.url, ['wamp.2.json'], { origin: 'https://app.example' }));
      for (const origin of ['http://127.0.0.1:8001', 'https://127.0.0.1:8000', 'http://localhost:8000', 'http://[::1]:8000', 'http://127.0.0.1', 'https://app.example:8443']) {
        expect((await upgrade(tr.url, ['wamp.2.json'], { origin })).status, origin).to.equal(403);
      }
      // By default (same host:port as the request's Host), localhost and 127.0.0.1 differ too.
      expect((await upgrade(tr.url, ['wamp.2.json'], { origin: `http://localhost:${tr.port}` })).status).to.equal(403);
      const refusal = tr.logs.filter((line) => line.event === 'listener.origin_refused').pop();
      expect(refusal?.hint).to.equal(`add "http://localhost:${tr.port}" to listeners[0].allowedOrigins`);
    });

    it('"*" admits any origin, null included; wildcards inside an origin are refused by the config check', async () => {
      tr = await startRouter({}, { allowedOrigins: ['*'] });
      await expectOpen(upgrade(tr.url, ['wamp.2.json'], { origin: 'https://anything.example' }));
      await expectOpen(upgrade(tr.url, ['wamp.2.json'], { origin: 'null' }));
      for (const origin of ['https://*.example.com', 'http://127.0.0.1:8000/', 'app.example']) {
        expect(() => validateConfig({ listeners: [{ type: 'websocket', allowedOrigins: [origin] }], realms: [{ name: 'realm1' }] }), origin)
          .to.throw(/\/listeners\/0\/allowedOrigins\/0: an origin is scheme:\/\/host\[:port\] with no path.*no wildcards inside an origin/);
      }
    });

    it('with the default config a foreign Origin is refused too', async () => {
      tr = await startRouter();
      expect(tr.config.listeners[0]!.allowedOrigins).to.deep.equal([]);
      expect((await upgrade(tr.url, ['wamp.2.json'], { origin: 'https://evil.example' })).status).to.equal(403);
    });
  });

  describe('subprotocol', () => {
    it('no Sec-WebSocket-Protocol, or only `chat`, is refused', async () => {
      tr = await startRouter();
      expect((await upgrade(tr.url, undefined)).status).to.equal(400);
      expect((await upgrade(tr.url, ['chat'])).status).to.equal(400);
      expect((await upgrade(tr.url, ['wamp.2.ubjson', 'wamp.1.json'])).status).to.equal(400);
      expect(tr.router.connectionCount).to.equal(0);
    });

    it('`wamp.2.msgpack, wamp.2.json` picks msgpack; a json-only listener picks json', async () => {
      tr = await startRouter();
      const ws = await expectOpen(upgrade(tr.url, ['wamp.2.msgpack', 'wamp.2.json']));
      expect(ws.protocol).to.equal('wamp.2.msgpack');
      await tr.stop();
      tr = await startRouter({}, { serializers: ['json'] });
      const json = await expectOpen(upgrade(tr.url, ['wamp.2.msgpack', 'wamp.2.json']));
      expect(json.protocol).to.equal('wamp.2.json');
      expect((await upgrade(tr.url, ['wamp.2.msgpack'])).status).to.equal(400);
    });
  });

  describe('connection caps → 503', () => {
    it('maxConnections: the cap+1st upgrade is refused, the rest work, and a closed slot is reusable', async () => {
      tr = await startRouter({ limits: { maxConnections: 3 } });
      const first = await RawClient.joined(tr.url);
      const others = [await RawClient.joined(tr.url), await RawClient.joined(tr.url)];
      expect((await upgrade(tr.url, ['wamp.2.json'])).status).to.equal(503);
      for (const [i, { client }] of others.entries()) {
        client.send([64, 1, {}, `com.example.cap${i}`]);
        expect((await client.next())[0]).to.equal(65);
      }
      first.client.close();
      await first.client.waitClosed();
      await waitFor(() => tr.router.connectionCount === 2);
      await livenessProbe(tr.url);
      for (const { client } of others) client.close();
    });

    it('maxConnectionsPerIp: counted per remote address', async () => {
      tr = await startRouter({ limits: { maxConnectionsPerIp: 2 } });
      await expectOpen(upgrade(tr.url, ['wamp.2.json']));
      await expectOpen(upgrade(tr.url, ['wamp.2.json']));
      await waitFor(() => tr.router.connectionCount === 2);
      expect((await upgrade(tr.url, ['wamp.2.json'])).status).to.equal(503);
    });

    it('maxUnauthenticatedConnections: sockets that never joined cannot take every slot', async () => {
      tr = await startRouter({ limits: { maxUnauthenticatedConnections: 2 } });
      const idle = await RawClient.connect(tr.url);
      await expectOpen(upgrade(tr.url, ['wamp.2.json']));
      await waitFor(() => tr.router.connectionCount === 2);
      expect((await upgrade(tr.url, ['wamp.2.json'])).status).to.equal(503);
      // Once one of them joins, an unauthenticated slot is free again.
      idle.send([1, 'realm1', { roles: { caller: {} } }]);
      expect((await idle.next())[0]).to.equal(2);
      await expectOpen(upgrade(tr.url, ['wamp.2.json']));
      idle.close();
    });

    it('trustProxy: the per-IP cap counts the X-Forwarded-For address (the last hop)', async () => {
      tr = await startRouter({ limits: { maxConnectionsPerIp: 2 } }, { trustProxy: true });
      const via = (xff: string) => upgrade(tr.url, ['wamp.2.json'], { headers: { 'x-forwarded-for': xff } });
      await expectOpen(via('10.0.0.1'));
      await expectOpen(via('192.0.2.7, 10.0.0.1'));
      await waitFor(() => tr.router.connectionCount === 2);
      expect((await via('10.0.0.1')).status).to.equal(503);
      await expectOpen(via('10.0.0.2'));
    });

    it('without trustProxy, X-Forwarded-For is ignored: every connection is 127.0.0.1', async () => {
      tr = await startRouter({ limits: { maxConnectionsPerIp: 2 } });
      const via = (xff: string) => upgrade(tr.url, ['wamp.2.json'], { headers: { 'x-forwarded-for': xff } });
      await expectOpen(via('10.0.0.1'));
      await expectOpen(via('10.0.0.2'));
      await waitFor(() => tr.router.connectionCount === 2);
      expect((await via('10.0.0.3')).status).to.equal(503);
    });
  });
});

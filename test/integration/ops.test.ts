import { expect } from 'chai';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { validateConfig } from '../../router/config.js';
import { RawClient } from '../helpers/raw-client.js';
import { ALLOW_ALL, startRouter, type TestRouter } from '../helpers/router.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * Issue 10, operations: the ops endpoint (router/ops/ops-server.ts) and the Prometheus metrics
 * (router/ops/metrics.ts) after a scripted scenario; /healthz during shutdown; the bearer token;
 * off by default.
 */

const TOKEN = 'ops-token-0123456789abcdef';
const TICKET_REALM = {
  name: 'realm1',
  roles: [{ name: 'anonymous', permissions: ALLOW_ALL }],
  auth: { anonymous: { role: 'anonymous' }, ticket: { users: { joe: { ticket: 'joe-ticket-good-1234', role: 'anonymous' } } } },
};

function opsUrl(tr: TestRouter, path: string): string {
  const address = tr.router.opsAddress;
  if (!address) throw new Error('ops endpoint not listening');
  return address.url + path;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** The value of one sample line (`name{labels} value`) of Prometheus text; undefined if absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('operations: metrics and the ops endpoint', function () {
  this.timeout(20000);
  let tr: TestRouter | undefined;
  const clients: RawClient[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.ws.terminate();
    await tr?.stop();
    tr = undefined;
  });

  it('counters move as expected after join, call, failed login and a slow-consumer close', async () => {
    tr = await startRouter({
      realms: [TICKET_REALM],
      ops: { port: 0 },
      limits: { maxOutboundBytesPerSession: 64 * 1024, rateMessagesPerSecond: 0, rateBytesPerSecond: 0 },
    });
    const before = (await get(opsUrl(tr, '/metrics'))).body;
    expect(sample(before, 'switchyard_messages_in_total{type="CALL"}')).to.equal(undefined);
    expect(sample(before, 'switchyard_call_duration_seconds_count')).to.equal(0);

    // join ×2, register, call
    const { client: callee } = await RawClient.joined(tr.url);
    const { client: caller } = await RawClient.joined(tr.url);
    clients.push(callee, caller);
    callee.send([64, 1, {}, 'com.example.add']);
    expect((await callee.next())[0]).to.equal(65);
    caller.send([48, 7, {}, 'com.example.add', [2, 3]]);
    const invocation = await callee.next();
    expect(invocation[0]).to.equal(68);
    const pendingScrape = (await get(opsUrl(tr, '/metrics'))).body;
    expect(sample(pendingScrape, 'switchyard_pending_calls{realm="realm1"}'), 'one call in flight').to.equal(1);
    callee.send([70, invocation[1], {}, [5]]);
    expect(await caller.next()).to.deep.equal([50, 7, {}, [5]]);

    // failed login: ticket with the wrong secret
    const intruder = await RawClient.connect(tr.url);
    clients.push(intruder);
    intruder.send([1, 'realm1', { roles: { caller: {} }, authmethods: ['ticket'], authid: 'joe' }]);
    expect((await intruder.next())[0]).to.equal(4);
    intruder.send([5, 'wrong-ticket', {}]);
    expect((await intruder.next())[0]).to.equal(3);

    // slow consumer
    const { client: slow } = await RawClient.joined(tr.url, 'msgpack');
    const { client: publisher } = await RawClient.joined(tr.url, 'msgpack');
    clients.push(slow, publisher);
    slow.send([32, 1, {}, 'com.example.flow']);
    expect((await slow.next())[0]).to.equal(33);
    (slow.ws as any)._socket._handle.readStop();
    const payload = randomBytes(16 * 1024);
    let published = 0;
    while (tr.router.stats.closes['slow consumer'] === undefined && published < 8000) {
      publisher.send([16, ++published, {}, 'com.example.flow', [published, payload]]);
      await sleep(1);
    }
    expect(tr.router.stats.closes['slow consumer'], `closed after ${published} events`).to.equal(1);
    await waitFor(() => tr!.router.realms.get('realm1')!.sessions.size === 3, { what: 'slow consumer gone' });
    // One more publication, now with no subscriber left: a fan-out of 0.
    publisher.received.length = 0;
    publisher.send([16, ++published, { acknowledge: true }, 'com.example.flow', [published]]);
    expect((await publisher.next())[0]).to.equal(17);

    const text = (await get(opsUrl(tr, '/metrics'))).body;
    expect(sample(text, 'switchyard_messages_in_total{type="CALL"}')).to.equal(1);
    expect(sample(text, 'switchyard_messages_in_total{type="YIELD"}')).to.equal(1);
    expect(sample(text, 'switchyard_messages_in_total{type="REGISTER"}')).to.equal(1);
    expect(sample(text, 'switchyard_messages_in_total{type="HELLO"}')).to.equal(5);
    expect(sample(text, 'switchyard_messages_in_total{type="PUBLISH"}')).to.equal(published);
    expect(sample(text, 'switchyard_messages_out_total{type="INVOCATION"}')).to.equal(1);
    expect(sample(text, 'switchyard_messages_out_total{type="RESULT"}')).to.equal(1);
    expect(sample(text, 'switchyard_messages_out_total{type="WELCOME"}')).to.equal(4);
    expect(sample(text, 'switchyard_messages_out_total{type="CHALLENGE"}')).to.equal(1);
    expect(sample(text, 'switchyard_messages_out_total{type="EVENT"}')).to.be.within(1, published);
    expect(sample(text, 'switchyard_bytes_in_total')).to.be.above((published - 1) * 16 * 1024);
    expect(sample(text, 'switchyard_bytes_out_total')).to.be.above(0);
    expect(sample(text, 'switchyard_auth_success_total{method="anonymous"}')).to.equal(4);
    const failures = text.split('\n').filter((l) => l.startsWith('switchyard_auth_failure_total{'));
    expect(failures).to.have.length(1);
    expect(failures[0]).to.match(/^switchyard_auth_failure_total\{method="ticket",reason="wamp\.error\.[a-z_]+"\} 1$/);
    expect(sample(text, 'switchyard_closes_total{reason="slow consumer"}')).to.equal(1);
    const abortReason = Object.keys(tr.router.stats.closes).find((r) => r !== 'slow consumer')!;
    expect(sample(text, `switchyard_closes_total{reason="${abortReason}"}`), 'the failed login close').to.equal(1);
    expect(sample(text, 'switchyard_sessions{realm="realm1",authmethod="anonymous"}')).to.equal(3);
    expect(sample(text, 'switchyard_pending_calls{realm="realm1"}')).to.equal(0);
    expect(sample(text, 'switchyard_call_duration_seconds_count')).to.equal(1);
    expect(sample(text, 'switchyard_call_duration_seconds_bucket{le="+Inf"}')).to.equal(1);
    expect(sample(text, 'switchyard_event_fanout_receivers_count')).to.equal(published);
    expect(sample(text, 'switchyard_event_fanout_receivers_bucket{le="0"}'), 'the publication after the cut reached nobody').to.equal(1);

    const status = JSON.parse((await get(opsUrl(tr, '/status.json'))).body);
    expect(status.totals).to.include({ sessions: 3, registrations: 1, subscriptions: 0, pendingCalls: 0 });
    expect(status.realms.map((r: { name: string }) => r.name)).to.deep.equal(['realm1']);
    expect(status.counters.closes['slow consumer']).to.equal(1);
    expect(status.counters.messagesIn.CALL).to.equal(1);
  });

  it('/healthz and /readyz answer 503 while the router shuts down, and the endpoint closes with it', async () => {
    tr = await startRouter({ ops: { port: 0 }, limits: { closeHandshakeTimeoutMs: 1500 } });
    expect((await get(opsUrl(tr, '/healthz'))).status).to.equal(200);
    expect((await get(opsUrl(tr, '/readyz'))).status).to.equal(200);
    // A client that never answers GOODBYE keeps the drain going for closeHandshakeTimeoutMs.
    const { client } = await RawClient.joined(tr.url);
    clients.push(client);
    const url = opsUrl(tr, '/healthz');
    const closing = tr.router.close();
    const during = await get(url);
    expect(during.status).to.equal(503);
    expect(during.body).to.match(/shutting down/);
    expect((await get(opsUrl(tr, '/readyz'))).status).to.equal(503);
    await closing;
    let refused = false;
    try {
      await get(url);
    } catch {
      refused = true;
    }
    expect(refused, 'ops endpoint closed after shutdown').to.equal(true);
  });

  it('with a token, every path needs Authorization: Bearer <token>', async () => {
    tr = await startRouter({ ops: { port: 0, token: TOKEN } });
    for (const path of ['/metrics', '/healthz', '/readyz', '/status', '/status.json']) {
      const none = await get(opsUrl(tr, path));
      expect(none.status, `${path} without a token`).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.match(/^Bearer/);
      expect((await get(opsUrl(tr, path), { authorization: `Bearer ${TOKEN}x` })).status, `${path} wrong token`).to.equal(401);
      expect((await get(opsUrl(tr, path), { authorization: `Basic ${TOKEN}` })).status, `${path} wrong scheme`).to.equal(401);
      expect((await get(opsUrl(tr, path), { authorization: `Bearer ${TOKEN}` })).status, `${path} right token`).to.equal(200);
      // The scheme name is case-insensitive (RFC 7235 §2.1), as the README says; the token is not.
      expect((await get(opsUrl(tr, path), { authorization: `bearer ${TOKEN}` })).status, `${path} lowercase scheme`).to.equal(200);
      expect((await get(opsUrl(tr, path), { authorization: `BEARER ${TOKEN}` })).status, `${path} uppercase scheme`).to.equal(200);
      expect((await get(opsUrl(tr, path), { authorization: `Bearer ${TOKEN.toUpperCase()}` })).status, `${path} token case`).to.equal(401);
    }
    const metrics = await get(opsUrl(tr, '/metrics'), { authorization: `Bearer ${TOKEN}` });
    expect(metrics.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).to.match(/^# HELP switchyard_/m);
    // The token never reaches the logs.
    expect(JSON.stringify(tr.logs)).to.not.include(TOKEN);
  });

  it('is off by default; when on it binds to loopback, refuses foreign Host names, and can hide /status', async () => {
    const plain = validateConfig({ realms: [{ name: 'realm1', roles: [{ name: 'anonymous' }], auth: { anonymous: { role: 'anonymous' } } }] });
    expect(plain.ops).to.equal(undefined);
    tr = await startRouter();
    expect(tr.router.opsAddress).to.equal(undefined);
    await tr.stop();

    const on = validateConfig({ ops: {}, realms: plain.realms });
    expect(on.ops).to.deep.equal({ host: '127.0.0.1', port: 9090, status: true });
    expect(() => validateConfig({ ops: { token: 'short' }, realms: plain.realms })).to.throw(/ops\/token/);

    tr = await startRouter({ ops: { port: 0, status: false } });
    expect(tr.router.opsAddress!.host).to.equal('127.0.0.1');
    expect((await get(opsUrl(tr, '/status'))).status).to.equal(404);
    expect((await get(opsUrl(tr, '/status.json'))).status).to.equal(404);
    expect((await get(opsUrl(tr, '/metrics'))).status).to.equal(200);
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(opsUrl(tr!, '/metrics'), { headers: { host: 'evil.example:9090' }, timeout: 3000 }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
    expect(rebound, 'DNS-rebinding Host refused').to.equal(403);
  });
});

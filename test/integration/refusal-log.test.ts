// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { signRequest } from '../../auth/http-signature.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { waitFor } from '../helpers/wait.js';
import { expectError } from '../helpers/promises.js';

/**
 * A refused action can be debugged (issue 14.3), with autobahn-js: the ERROR names the action and
 * the URI (not the rules), and the router logs one `authorization.refused` line at info with realm,
 * session, authid, authrole, action, URI and what decided (the rule's uri and match, "no rule
 * matched", "dynamic authorizer"), never a secret; per session at most a burst of lines, then a
 * count of the ones left out.
 */

const ALL = { call: true, register: true, publish: true, subscribe: true };
const TICKET = 'fe-ticket-SECRET-7d1f0c';
const HTTP_SECRET = 'http-key-SECRET-0123456789';
const NOT_AUTHORIZED = 'wamp.error.not_authorized';

const REALM = {
  name: 'realm1',
  roles: [
    {
      name: 'frontend',
      permissions: [
        { uri: 'app.', match: 'prefix', allow: { call: true, subscribe: true } },
        { uri: 'app.admin.', match: 'prefix', allow: {} },
        { uri: 'wamp.session.add_testament', match: 'exact', allow: { call: true } },
      ],
    },
    { name: 'backend', permissions: [{ uri: 'app.', match: 'prefix', allow: ALL }] },
  ],
  auth: { ticket: { users: { 'fe-user': { ticket: TICKET, role: 'frontend', extra: { plan: 'gold' } } } } },
  http: { keys: { deployer: { secret: HTTP_SECRET, role: 'frontend' } } },
};

describe('refusals: ERROR text and the authorization.refused log line (autobahn-js)', function () {
  let tr: TestRouter;
  let clients: AbClient[];

  beforeEach(async function () {
    clients = [];
    tr = await startRouter({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'http', host: '127.0.0.1', port: 0 }],
      realms: [REALM],
      limits: { rateMessagesPerSecond: 0, authFailureBaseDelayMs: 0 },
    });
  });

  afterEach(async function () {
    for (const client of clients) await client.close().catch(() => undefined);
    await tr.stop();
  });

  async function frontend(): Promise<AbClient> {
    const client = await connectAutobahn(tr.url, 'json', { authmethods: ['ticket'], authid: 'fe-user', onchallenge: () => TICKET });
    clients.push(client);
    return client;
  }

  const refusals = () => tr.logs.filter((line) => line.event === 'authorization.refused');

  /** The refusal line for (action, uri), without its timestamp. */
  async function refusalLine(action: string, uri: string): Promise<Record<string, unknown>> {
    await waitFor(() => refusals().some((l) => l.action === action && l.uri === uri), { what: `refusal line ${action} ${uri}` });
    const { time, ...rest } = refusals().find((l) => l.action === action && l.uri === uri)!;
    expect(Date.parse(time as string)).to.be.a('number').and.not.NaN;
    return rest;
  }

  function expectNoSecretLogged(): void {
    const text = JSON.stringify(tr.logs);
    for (const secret of [TICKET, HTTP_SECRET, 'gold']) expect(text).to.not.include(secret);
  }

  it('a refused CALL: ERROR "not authorized to call <uri>", and one info line naming the deciding rule', async function () {
    const fe = await frontend();
    const error = await expectError(fe.session.call('app.admin.reset', [1]), NOT_AUTHORIZED, 'call');
    expect(error.args).to.deep.equal(['not authorized to call app.admin.reset']);
    expect(await refusalLine('call', 'app.admin.reset')).to.deep.equal({
      level: 'info', event: 'authorization.refused', realm: 'realm1', session: fe.session.id, authid: 'fe-user', authrole: 'frontend',
      action: 'call', uri: 'app.admin.reset', decidedBy: 'rule', rule: { uri: 'app.admin.', match: 'prefix' },
    });
    expect(refusals()).to.have.length(1);
    expectNoSecretLogged();
  });

  it('a URI no rule covers is logged as "no rule matched"', async function () {
    const fe = await frontend();
    const error = await expectError(fe.session.call('other.thing'), NOT_AUTHORIZED, 'call');
    expect(error.args).to.deep.equal(['not authorized to call other.thing']);
    expect(await refusalLine('call', 'other.thing')).to.include({ decidedBy: 'no rule matched', authrole: 'frontend' }).and.not.have.key('rule');
  });

  it('REGISTER, SUBSCRIBE, acknowledged and unacknowledged PUBLISH, and a testament topic are refused the same way', async function () {
    const fe = await frontend();
    const register = await expectError(fe.session.register('app.mine', () => 1), NOT_AUTHORIZED, 'register');
    expect(register.args).to.deep.equal(['not authorized to register app.mine']);
    const subscribe = await expectError(fe.session.subscribe('app.admin.audit', () => undefined), NOT_AUTHORIZED, 'subscribe');
    expect(subscribe.args).to.deep.equal(['not authorized to subscribe app.admin.audit']);
    const publish = await expectError(fe.session.publish('app.news', [], {}, { acknowledge: true }), NOT_AUTHORIZED, 'publish');
    expect(publish.args).to.deep.equal(['not authorized to publish app.news']);
    fe.session.publish('app.quiet', ['unacknowledged']); // no ERROR to the client, but the log says why nothing happened
    const testament = await expectError(fe.session.call('wamp.session.add_testament', ['app.gone', [], {}]), NOT_AUTHORIZED, 'testament');
    expect(testament.args).to.deep.equal(['not authorized to publish app.gone (testament)']);

    expect(await refusalLine('register', 'app.mine')).to.include({ decidedBy: 'rule' }).and.deep.include({ rule: { uri: 'app.', match: 'prefix' } });
    expect(await refusalLine('subscribe', 'app.admin.audit')).to.deep.include({ rule: { uri: 'app.admin.', match: 'prefix' } });
    expect(await refusalLine('publish', 'app.news')).to.include({ session: fe.session.id });
    expect(await refusalLine('publish', 'app.quiet')).to.include({ authid: 'fe-user' });
    expect(await refusalLine('publish', 'app.gone')).to.include({ context: 'testament', decidedBy: 'rule' });
    expectNoSecretLogged();
  });

  it('an HTTP bridge call its key\'s role may not make: 403 naming action and URI, and the same log line with the key id as authid', async function () {
    const base = tr.addresses[1]!.url;
    const challenge = await (await fetch(`${base}/auth/challenge?key=deployer`, { signal: AbortSignal.timeout(3000) })).json() as { nonce: string };
    const body = JSON.stringify({ realm: 'realm1', procedure: 'app.admin.reset', args: [] });
    const res = await fetch(`${base}/call`, {
      method: 'POST', body, signal: AbortSignal.timeout(3000),
      headers: {
        'content-type': 'application/json', 'x-switchyard-key': 'deployer', 'x-switchyard-nonce': challenge.nonce,
        'x-switchyard-signature': signRequest(HTTP_SECRET, 'POST', '/call', challenge.nonce, body),
      },
    });
    expect(res.status).to.equal(403);
    expect(await res.json()).to.deep.include({ error: NOT_AUTHORIZED, args: ['not authorized to call app.admin.reset'] });
    expect(await refusalLine('call', 'app.admin.reset')).to.include({ authid: 'deployer', authrole: 'frontend', decidedBy: 'rule' });
    expectNoSecretLogged();
  });

  it('a flood of refused calls from one session yields a bounded number of lines plus a suppressed count; other sessions still log', async function () {
    const flooder = await frontend();
    const flooderId = flooder.session.id;
    const calls = 300;
    const started = Date.now();
    await Promise.all(Array.from({ length: calls }, (_, i) =>
      expectError(flooder.session.call(`app.admin.x${i}`), NOT_AUTHORIZED, `flood ${i}`)));
    const seconds = (Date.now() - started) / 1000;
    const flooderLines = () => refusals().filter((l) => l.session === flooderId);
    // A burst of 10, then about one a second.
    expect(flooderLines().length).to.be.at.least(10).and.at.most(10 + Math.ceil(seconds) + 1);

    const other = await frontend();
    await expectError(other.session.call('app.admin.other'), NOT_AUTHORIZED, 'other session');
    await refusalLine('call', 'app.admin.other');

    await flooder.close();
    await waitFor(() => tr.logs.some((l) => l.event === 'authorization.refusals_suppressed'), { what: 'suppressed count on leave' });
    const summary = tr.logs.find((l) => l.event === 'authorization.refusals_suppressed')!;
    expect(summary).to.include({ level: 'info', realm: 'realm1', session: flooderId, authid: 'fe-user', authrole: 'frontend' });
    // Every refusal is either a line or counted: lines + counts in lines + the summary count = calls.
    const countedInLines = flooderLines().reduce((n, l) => n + ((l.suppressed as number | undefined) ?? 0), 0);
    expect(flooderLines().length + countedInLines + (summary.count as number)).to.equal(calls);
  });
});

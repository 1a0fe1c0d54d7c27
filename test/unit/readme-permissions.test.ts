// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { expectError, within } from '../helpers/promises.js';
import { readmePermissionsExample, readmeSection } from '../helpers/readme.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { waitFor } from '../helpers/wait.js';

/**
 * README "Permissions": the worked example, loaded exactly as written, keeps every promise of the
 * paragraph under it, with real autobahn-js sessions (issue 13 item 1: it used to leak
 * `app.<x>.private` to browsers and did not disclose browsers' calls to services).
 */

const NOT_AUTHORIZED = 'wamp.error.not_authorized';

/** The paragraph this file checks, sentence by sentence; a changed paragraph needs changed tests. */
const PROMISES = 'Browsers may call and subscribe under `app.` but not under `app.admin.` (two literal components beat one), '
  + 'may publish only to `app.chat.post`, may not register, and never call, subscribe to or receive events of `app.X.private` '
  + 'for any one component X (`app..private` beats `app.`, also for a browser subscribed to the prefix `app.`); '
  + 'services may do everything outside `wamp.`, use the meta API, and see who called them, browsers included: '
  + 'each role\'s rules disclose the calls its own sessions make.';

const TICKETS: Record<string, [string, string]> = {
  browser: ['ticket-browser', 'frontend'],
  service: ['ticket-service', 'backend'],
  service2: ['ticket-service2', 'backend'],
};

interface Event {
  topic: string;
  args: unknown[];
}

describe('README Permissions: the worked example', function () {
  const example = readmePermissionsExample();
  let tr: TestRouter;
  const clients: AbClient[] = [];

  async function as(authid: string): Promise<AbClient> {
    const client = await connectAutobahn(tr.url, 'json', { authmethods: ['ticket'], authid, onchallenge: () => TICKETS[authid]![0] });
    clients.push(client);
    return client;
  }

  function recorder() {
    const events: Event[] = [];
    return { events, handler: (args: unknown[], _k: unknown, details: any) => events.push({ topic: details.topic, args }) };
  }

  beforeEach(async function () {
    const users = Object.fromEntries(Object.entries(TICKETS).map(([authid, [ticket, role]]) => [authid, { ticket, role }]));
    tr = await startRouter({ realms: [{ name: 'realm1', roles: example.roles, auth: { ticket: { users } } }], limits: { authFailureBaseDelayMs: 0 } });
  });

  afterEach(async function () {
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    await tr.stop();
  });

  it('the paragraph under the example is the one these tests check', () => {
    expect(example.paragraph).to.equal(PROMISES);
    expect(example.roles.map((r) => r.name)).to.deep.equal(['frontend', 'backend']);
  });

  it('states the precedence the code implements (test/helpers/permission-oracle.ts quotes it)', () => {
    const text = readmeSection('Permissions').replace(/\s+/g, ' ');
    expect(text).to.include('an `exact` rule decides first; otherwise, among the matching `prefix` and `wildcard` rules, '
      + 'the one with more literal components wins');
    expect(text).to.include('then the one with the longer `uri` (in characters), and rules tied on both are merged: '
      + 'an action is allowed only if all of them allow it, and disclosed if any of them discloses it');
  });

  it('browsers may call and subscribe under app., including app.chat.post', async function () {
    const service = await as('service');
    const browser = await as('browser');
    await within(service.session.register('app.orders.list', () => 'orders'), 'register app.orders.list');
    await within(service.session.register('app.chat.post', () => 'posted'), 'register app.chat.post');
    expect(await within(browser.session.call('app.orders.list'), 'call app.orders.list')).to.equal('orders');
    expect(await within(browser.session.call('app.chat.post'), 'call app.chat.post')).to.equal('posted');
    const seen = recorder();
    await within(browser.session.subscribe('app.news', seen.handler), 'subscribe app.news');
    await within(browser.session.subscribe('app.chat.post', seen.handler), 'subscribe app.chat.post');
    await within(service.session.publish('app.news', ['n'], {}, { acknowledge: true }), 'publish app.news');
    await within(service.session.publish('app.chat.post', ['c'], {}, { acknowledge: true }), 'publish app.chat.post');
    await waitFor(() => seen.events.length === 2, { what: 'two events' });
    expect(seen.events.map((e) => e.args[0])).to.deep.equal(['n', 'c']);
  });

  it('browsers may not call or subscribe under app.admin.; the callee is never invoked', async function () {
    const service = await as('service');
    const browser = await as('browser');
    let invoked = 0;
    await within(service.session.register('app.admin.reset', () => ++invoked), 'register app.admin.reset');
    await expectError(browser.session.call('app.admin.reset'), NOT_AUTHORIZED, 'call app.admin.reset');
    await expectError(browser.session.subscribe('app.admin.log', () => undefined), NOT_AUTHORIZED, 'subscribe app.admin.log');
    await expectError(browser.session.subscribe('app.admin.', () => undefined, { match: 'prefix' }), NOT_AUTHORIZED, 'subscribe prefix app.admin.');
    expect(invoked).to.equal(0);
  });

  it('browsers may publish only to app.chat.post, and may not register', async function () {
    const service = await as('service');
    const browser = await as('browser');
    const seen = recorder();
    await within(service.session.subscribe('', seen.handler, { match: 'prefix' }), 'service subscribes to everything');
    await within(browser.session.publish('app.chat.post', ['hello'], {}, { acknowledge: true }), 'publish app.chat.post');
    for (const topic of ['app.news', 'app.chat', 'app.chat.post.x', 'app.admin.x', 'other.topic']) {
      await expectError(browser.session.publish(topic, ['no'], {}, { acknowledge: true }), NOT_AUTHORIZED, `publish ${topic}`);
    }
    await expectError(browser.session.register('app.mine', () => 1), NOT_AUTHORIZED, 'register app.mine');
    await expectError(browser.session.register('app.', () => 1, { match: 'prefix' }), NOT_AUTHORIZED, 'register prefix app.');
    // The refusals were answered before this marker was published, so nothing else can be in flight.
    await within(service.session.publish('marker', ['marker'], {}, { acknowledge: true, exclude_me: false }), 'marker');
    await waitFor(() => seen.events.some((e) => e.topic === 'marker'), { what: 'marker' });
    const published = seen.events.filter((e) => !e.topic.startsWith('wamp.')); // meta events are not the point here
    expect(published.map((e) => e.args[0])).to.deep.equal(['hello', 'marker']);
  });

  it('browsers never call, subscribe to or receive app.X.private, also through a prefix subscription to app.', async function () {
    const service = await as('service');
    const browser = await as('browser');
    let invoked = 0;
    await within(service.session.register('app.', () => ++invoked, { match: 'prefix' }), 'service registers prefix app.');
    const seen = recorder();
    await within(browser.session.subscribe('app.', seen.handler, { match: 'prefix' }), 'browser subscribes prefix app.');
    for (const x of ['user', 'admin', 'chat', 'private']) {
      const uri = `app.${x}.private`;
      await expectError(browser.session.call(uri), NOT_AUTHORIZED, `call ${uri}`);
      await expectError(browser.session.subscribe(uri, () => undefined), NOT_AUTHORIZED, `subscribe ${uri}`);
      service.session.publish(uri, [uri]);
    }
    await expectError(browser.session.subscribe('app..private', () => undefined, { match: 'wildcard' }), NOT_AUTHORIZED, 'subscribe wildcard app..private');
    expect(invoked, 'the service callee was never invoked').to.equal(0);
    await within(service.session.publish('app.user.public', ['marker'], {}, { acknowledge: true }), 'marker');
    await waitFor(() => seen.events.length >= 1, { what: 'marker' });
    expect(seen.events.map((e) => e.topic)).to.deep.equal(['app.user.public']);
  });

  it('services may do everything outside wamp. and use the meta API', async function () {
    const service = await as('service');
    const service2 = await as('service2');
    await within(service.session.register('svc.echo', (args: unknown[]) => args[0]), 'register svc.echo');
    await within(service.session.register('app.admin.', () => 'admin', { match: 'prefix' }), 'register prefix app.admin.');
    expect(await within(service2.session.call('svc.echo', ['x']), 'call svc.echo')).to.equal('x');
    expect(await within(service2.session.call('app.admin.reset'), 'call app.admin.reset')).to.equal('admin');
    const seen = recorder();
    await within(service2.session.subscribe('app.user.private', seen.handler), 'subscribe app.user.private');
    await within(service.session.publish('app.user.private', ['p'], {}, { acknowledge: true }), 'publish app.user.private');
    await waitFor(() => seen.events.length === 1, { what: 'the private event' });
    expect(await within(service.session.call('wamp.session.count'), 'wamp.session.count')).to.equal(2);
    await within(service.session.subscribe('wamp.session.on_join', () => undefined), 'subscribe wamp.session.on_join');
    await expectError(service.session.register('wamp.mine', () => 1), NOT_AUTHORIZED, 'register wamp.mine');
    await expectError(service.session.publish('wamp.mine', [], {}, { acknowledge: true }), NOT_AUTHORIZED, 'publish wamp.mine');
  });

  it('services see who called them, browsers included, without asking', async function () {
    const service = await as('service');
    const service2 = await as('service2');
    const browser = await as('browser');
    const who = (_a: unknown, _k: unknown, d: any) => [d.caller ?? null, d.caller_authid ?? null, d.caller_authrole ?? null];
    await within(service.session.register('app.whoami', who), 'register app.whoami');
    await within(service.session.register('app.chat.post', who), 'register app.chat.post');
    await within(service.session.register('svc.whoami', who), 'register svc.whoami');
    expect(await within(browser.session.call('app.whoami'), 'browser calls app.whoami')).to.deep.equal([browser.session.id, 'browser', 'frontend']);
    expect(await within(browser.session.call('app.chat.post', [], {}, { disclose_me: false }), 'browser calls app.chat.post'))
      .to.deep.equal([browser.session.id, 'browser', 'frontend']);
    expect(await within(service2.session.call('svc.whoami'), 'service calls svc.whoami')).to.deep.equal([service2.session.id, 'service2', 'backend']);
  });
});

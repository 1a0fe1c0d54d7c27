// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import { validateConfig } from '../../router/config.js';
import { RawClient } from '../helpers/raw-client.js';
import { originOutcome } from '../helpers/upgrade.js';
import { ALLOW_ALL, startRouter, type TestRouter } from '../helpers/router.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Issue 14 item 4, reloads: `allowedOrigins` and `requireOrigin` apply on reload (SIGHUP) like
 * users and roles; every change a reload cannot apply is logged as a `config.not_applied` warning
 * naming the setting by JSON path; a changed credential ends the live sessions of that user.
 */

const REALM = {
  name: 'realm1',
  roles: [{ name: 'anonymous', permissions: ALLOW_ALL }],
  auth: {
    anonymous: { role: 'anonymous' },
    ticket: { users: { joe: { ticket: 'joe-ticket-one', role: 'anonymous' }, ann: { ticket: 'ann-ticket-one', role: 'anonymous' } } },
    wampcra: { users: { joe: { secret: 'joe-wampcra-one', role: 'anonymous' }, ann: { secret: 'ann-wampcra-one', role: 'anonymous' } } },
  },
};

describe('config reload: listeners', function () {
  this.timeout(15000);
  let tr: TestRouter;
  const clients: RawClient[] = [];
  const abClients: AbClient[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.ws.terminate();
    for (const client of abClients.splice(0)) await client.close().catch(() => undefined);
    await tr.stop();
  });

  /** The running config with `listener` keys and top-level `overrides` changed. */
  const next = (listener: Record<string, unknown>, overrides: Record<string, unknown> = {}) => validateConfig({
    listeners: [{ ...tr.config.listeners[0], ...listener }], realms: [REALM], ...overrides,
  });

  it('allowedOrigins and requireOrigin take effect on reload, with nothing logged as not applied', async () => {
    tr = await startRouter({ realms: [REALM] });
    const page = 'http://127.0.0.1:28090';
    expect(await originOutcome(tr.url, page)).to.equal(403);
    const refusal = tr.logs.find((line) => line.event === 'listener.origin_refused');
    expect(refusal).to.include({ listener: 'listeners[0]', address: `127.0.0.1:${tr.port}`, origin: page });
    expect(refusal?.hint).to.equal(`add "${page}" to listeners[0].allowedOrigins`);

    expect(tr.router.reload(next({ allowedOrigins: [page] }))).to.deep.equal([]);
    expect(await originOutcome(tr.url, page)).to.equal('open');
    expect(await originOutcome(tr.url, undefined)).to.equal('open');

    expect(tr.router.reload(next({ allowedOrigins: [page], requireOrigin: true }))).to.deep.equal([]);
    expect(await originOutcome(tr.url, undefined)).to.equal(403);
    expect(tr.logs.filter((line) => line.event === 'listener.origin_refused').pop()?.hint).to.match(/no Origin header and listeners\[0\]\.requireOrigin is true/);

    tr.router.reload(next({ allowedOrigins: [] }));
    expect(await originOutcome(tr.url, page)).to.equal(403);
    expect(tr.logs.filter((line) => line.event === 'config.not_applied')).to.deep.equal([]);
  });

  it('changes a reload cannot apply are logged as warnings naming each setting; the running values stay', async () => {
    tr = await startRouter({ realms: [REALM] });
    const changed = next({ port: tr.port + 1, type: 'rawsocket', tls: { key: 'k.pem', cert: 'c.pem' } }, {
      limits: { maxMessageBytes: 4096 }, ops: { port: 0 }, log: { level: 'debug' },
    });
    changed.listeners.push({ ...changed.listeners[0]!, port: 0 });
    const paths = tr.router.reload(changed);
    const expected = ['/listeners/0/type', '/listeners/0/port', '/listeners/0/tls', '/listeners/1', '/limits/maxMessageBytes', '/ops', '/log/level'];
    expect([...paths].sort()).to.deep.equal([...expected].sort());
    const warnings = tr.logs.filter((line) => line.event === 'config.not_applied');
    expect(warnings.map((line) => line.setting).sort()).to.deep.equal([...expected].sort());
    expect(warnings.every((line) => line.level === 'warn')).to.equal(true);
    // Still the WebSocket listener on the old port, with the old limits.
    const { client } = await RawClient.joined(tr.url);
    clients.push(client);
    expect(tr.router.realms.get('realm1')).to.not.equal(undefined);
  });

  for (const method of ['ticket', 'wampcra'] as const) {
    it(`a changed ${method} credential ends the live sessions of that user (GOODBYE wamp.close.revoked); others keep theirs`, async () => {
      tr = await startRouter({ realms: [REALM] });
      const join = (authid: string, secret: string) => connectAutobahn(tr.url, 'json', {
        authmethods: [method], authid,
        onchallenge: (_session: unknown, _method: string, extra: { challenge: string }) =>
          method === 'ticket' ? secret : (autobahn as any).auth_cra.sign(secret, extra.challenge),
      });
      const joe = await join('joe', `joe-${method}-one`);
      const ann = await join('ann', `ann-${method}-one`);
      abClients.push(joe, ann);
      const realm = structuredClone(REALM);
      if (method === 'ticket') realm.auth.ticket.users.joe.ticket = 'joe-ticket-two';
      else realm.auth.wampcra.users.joe.secret = 'joe-wampcra-two';
      tr.router.reload(validateConfig({ listeners: tr.config.listeners, realms: [realm] }));
      expect((await withTimeout(joe.closed, 3000, 'joe closed')).reason).to.equal('wamp.close.revoked');
      await waitFor(() => tr.router.realms.get('realm1')!.sessions.size === 1, { what: 'joe gone, ann kept' });
      expect(ann.session.isOpen).to.equal(true);
    });
  }
});

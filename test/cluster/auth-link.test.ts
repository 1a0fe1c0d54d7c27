// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn, OpenClients, type AbClient } from '../helpers/autobahn.js';
import autobahn from 'autobahn';
import { expect } from 'chai';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { expectError, within } from '../helpers/promises.js';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 "Authentication state": credentials issued on one node log in on any node; revoke and
 * ban made on one node act on every node, also on one that was cut off from NATS at the time; an
 * unknown authid gets the same challenge from every node.
 */

const REALM = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }] },
    { name: 'frontend', permissions: [{ uri: 'app.', match: 'prefix', allow: { call: true } }] },
  ],
  // No static secrets: the key behind unknown authids' challenges comes from the cluster.
  auth: { anonymous: { role: 'anonymous' }, wampcra: { users: {}, issue: { roles: ['frontend'], lifetimeMs: 600_000 } } },
};

interface Issued { authid: string; secret: string; credential: string }

describe('cluster: issued credentials, revocations and bans reach every node (against nats-server)', function () {
  this.timeout(60_000);
  let nats: NatsServer;
  let cluster: TestCluster | undefined;
  const clients = new OpenClients();

  const url = (node: number) => cluster!.nodes[node]!.url;
  const track = (client: AbClient) => clients.track(client);
  const backend = async (node: number) => track(await connectAutobahn(url(node)));
  const issue = async (via: AbClient, authid: string): Promise<Issued> =>
    (await within<{ kwargs: Issued }>(via.session.call('switchyard.auth.issue', [], { authid, role: 'frontend' }), 'issue')).kwargs;
  const login = async (node: number, issued: Issued) => track(await connectAutobahn(url(node), 'json', {
    authmethods: ['wampcra'], authid: issued.authid,
    onchallenge: (_s: unknown, _m: string, extra: any) =>
      (autobahn as any).auth_cra.sign((autobahn as any).auth_cra.derive_key(issued.secret, extra.salt, extra.iterations, extra.keylen), extra.challenge),
  }));

  before(async function () {
    skipWithoutNats(this);
    nats = await startNats();
  });
  afterEach(async () => {
    await clients.closeAll();
    await cluster?.stop();
    cluster = undefined;
  });
  after(async () => nats?.stop());

  it('issued on a, logs in on b; revoke on b ends the sessions on both; a new credential works again', async () => {
    cluster = await startTestCluster(2, { realms: [REALM] }, nats);
    const a = await backend(0);
    const b = await backend(1);
    const first = await issue(a, 'user-42');
    const onB = await login(1, first);
    expect(onB.details.authid).to.equal('user-42');
    const onA = await login(0, first);
    await within(b.session.call('switchyard.auth.revoke', [], { authid: 'user-42' }), 'revoke');
    expect((await within(onA.closed, 'session on a closed', 3000)).reason).to.equal('wamp.close.revoked');
    expect((await within(onB.closed, 'session on b closed', 3000)).reason).to.equal('wamp.close.revoked');
    const second = await issue(a, 'user-42');
    await waitFor(() => cluster!.nodes[1]!.router.realms.get('realm1')!.issued.lookup('user-42').length === 1, { what: 'the new credential at b' });
    expect((await login(1, second)).details.authid).to.equal('user-42');
  });

  it('revoking one credential on b ends the session that used it on a, not the others', async () => {
    cluster = await startTestCluster(2, { realms: [REALM] }, nats);
    const a = await backend(0);
    const first = await issue(a, 'user-7');
    const second = await issue(a, 'user-7');
    const withFirst = await login(0, first);
    const withSecond = await login(0, second);
    await within((await backend(1)).session.call('switchyard.auth.revoke', [], { credential: first.credential }), 'revoke credential');
    expect((await within(withFirst.closed, 'first closed', 3000)).reason).to.equal('wamp.close.revoked');
    expect(withSecond.session.isOpen).to.equal(true);
  });

  it('a ban on a refuses issue on b until unban on b', async () => {
    cluster = await startTestCluster(2, { realms: [REALM] }, nats);
    const a = await backend(0);
    const b = await backend(1);
    await within(a.session.call('switchyard.auth.ban', [], { authid: 'mallory' }), 'ban');
    await waitFor(() => cluster!.nodes[1]!.router.realms.get('realm1')!.sharedAuthState.revocations.isBanned('mallory'), { what: 'the ban at b' });
    await expectError(b.session.call('switchyard.auth.issue', [], { authid: 'mallory', role: 'frontend' }), 'switchyard.error.authid_banned', 'issue while banned');
    await within(b.session.call('switchyard.auth.unban', [], { authid: 'mallory' }), 'unban');
    await waitFor(() => !cluster!.nodes[0]!.router.realms.get('realm1')!.sharedAuthState.revocations.isBanned('mallory'), { what: 'the unban at a' });
    expect((await issue(a, 'mallory')).authid).to.equal('mallory');
  });

  it('issue, revoke and ban answer once every live node has applied them; sessions counts every node', async () => {
    cluster = await startTestCluster(3, { realms: [REALM] }, nats);
    const realmAt = (node: number) => cluster!.nodes[node]!.router.realms.get('realm1')!;
    await waitFor(() => cluster!.nodes.every((n) => n.router.cluster!.status().peers.filter((p) => p.alive).length === 2), { timeoutMs: 3000, what: 'three nodes see each other' });
    const [a, c] = [await backend(0), await backend(2)];
    // No wait between the answer and the login on other nodes: the answer came after they knew.
    for (let i = 0; i < 10; i++) {
      const issued = await issue(a, `user-${i}`);
      expect((await login(1 + (i % 2), issued)).details.authid).to.equal(`user-${i}`);
    }
    const credential = await issue(a, 'alice');
    const sessions = [await login(0, credential), await login(1, credential), await login(2, credential)];
    const revoked = await within<{ kwargs: { sessions: number } }>(c.session.call('switchyard.auth.revoke', [], { authid: 'alice' }), 'revoke');
    expect(revoked.kwargs.sessions).to.equal(3);
    for (const node of [0, 1, 2]) expect([...realmAt(node).sessions.values()].filter((s) => s.authid === 'alice'), `alice at node ${node}`).to.deep.equal([]);
    for (const session of sessions) expect((await within(session.closed, 'alice closed', 3000)).reason).to.equal('wamp.close.revoked');
    const mallory = await login(1, await issue(a, 'mallory'));
    const banned = await within<{ kwargs: { sessions: number } }>(a.session.call('switchyard.auth.ban', [], { authid: 'mallory' }), 'ban');
    expect(banned.kwargs.sessions).to.equal(1);
    expect((await within(mallory.closed, 'mallory closed', 3000)).reason).to.equal('wamp.close.revoked');
    await expectError(c.session.call('switchyard.auth.issue', [], { authid: 'mallory', role: 'frontend' }), 'switchyard.error.authid_banned', 'issue on c right after the ban on a');
    await within(c.session.call('switchyard.auth.unban', [], { authid: 'mallory' }), 'unban');
    expect((await login(1, await issue(a, 'mallory'))).details.authid).to.equal('mallory');
  });

  it('a revocation made while NATS is down reaches the other node once NATS is back', async () => {
    const own = await startNats();
    const port = Number(new URL(own.url).port);
    let restarted: NatsServer | undefined;
    try {
      cluster = await startTestCluster(2, { realms: [REALM] }, own);
      const a = await backend(0);
      const alice = await login(1, await issue(a, 'alice'));
      await own.stop(false);
      await waitFor(() => !cluster!.nodes[0]!.router.cluster!.connected, { timeoutMs: 5000, what: 'a sees NATS gone' });
      await within(a.session.call('switchyard.auth.revoke', [], { authid: 'alice' }), 'revoke while cut off');
      expect(alice.session.isOpen).to.equal(true); // b has not heard of it yet
      restarted = await startNats({ port, storeDir: own.storeDir });
      expect((await within(alice.closed, 'alice closed after NATS is back', 15_000)).reason).to.equal('wamp.close.revoked');
    } finally {
      await cluster?.stop();
      cluster = undefined;
      await restarted?.stop();
      await own.stop();
    }
  });

  it('an unknown authid gets the same challenge from every node', async () => {
    cluster = await startTestCluster(2, { realms: [REALM] }, nats);
    const challengeFrom = async (node: number) => {
      const raw = await RawClient.connect(url(node));
      try {
        raw.send([1, 'realm1', { roles: { caller: {} }, authmethods: ['wampcra'], authid: 'nobody-here' }]);
        const challenge = await raw.next();
        expect(challenge[0]).to.equal(4);
        const { challenge: _text, ...shape } = challenge[2] as Record<string, unknown>;
        return shape;
      } finally {
        raw.close();
      }
    };
    const fromA = await challengeFrom(0);
    expect(fromA).to.have.property('salt');
    expect(await challengeFrom(1)).to.deep.equal(fromA);
  });
});

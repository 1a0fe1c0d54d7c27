import { expect } from 'chai';
import { OpenClients } from '../helpers/autobahn.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { skipWithoutNats } from '../helpers/nats.js';
import { expectError, within } from '../helpers/promises.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 "Meta API": wamp.session.count/list/get/kill/kill_by_authid/kill_by_authrole/kill_all
 * answer for the whole cluster, asked on one node about sessions on another.
 */

const EVERYTHING = { call: true, register: true, publish: true, subscribe: true };
const REALM = {
  name: 'realm1',
  roles: [
    { name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: EVERYTHING }] },
    { name: 'monitor', permissions: [{ uri: '', match: 'prefix', allow: EVERYTHING }], meta: { authextra: true, transport: true } },
  ],
  auth: {
    anonymous: { role: 'anonymous' },
    ticket: { users: {
      carol: { ticket: 'carol-ticket-0123', role: 'anonymous', extra: { team: 'blue' } },
      mon: { ticket: 'mon-ticket-0123456', role: 'monitor' },
    } },
  },
};

describe('cluster: the session meta API answers for every node (against nats-server)', function () {
  this.timeout(30_000);
  let cluster: TestCluster;
  const clients = new OpenClients();

  const on = (node: number, options: Record<string, unknown> = {}) => clients.connect(cluster.nodes[node]!.url, 'json', options);
  const asTicket = (authid: string, ticket: string) => ({ authmethods: ['ticket'], authid, onchallenge: () => ticket });

  before(async function () {
    skipWithoutNats(this);
    cluster = await startTestCluster(2, { realms: [REALM] });
    await waitFor(() => cluster.nodes.every((n) => n.router.cluster!.status().peers.some((p) => p.alive)), { timeoutMs: 3000, what: 'nodes see each other' });
  });
  afterEach(async () => {
    await clients.closeAll();
  });
  after(async () => cluster?.stop());

  it('count and list include the other node\'s sessions, with filter_authroles', async () => {
    const caller = await on(0);
    const remote = [await on(1), await on(1), await on(1, asTicket('mon', 'mon-ticket-0123456'))];
    const ids = remote.map((c) => c.session.id);
    expect(await within(caller.session.call('wamp.session.count'), 'count')).to.equal(4);
    expect(await within(caller.session.call('wamp.session.count', [['monitor']]), 'count monitor')).to.equal(1);
    const listed = await within<number[]>(caller.session.call('wamp.session.list'), 'list');
    expect(listed).to.include.members([caller.session.id, ...ids]);
    expect(await within(caller.session.call('wamp.session.list', [['monitor']]), 'list monitor')).to.deep.equal([ids[2]]);
  });

  it('get of a session on the other node shows authextra and transport only to roles configured to see them', async () => {
    const carol = await on(1, asTicket('carol', 'carol-ticket-0123'));
    const plain = await on(0);
    const monitor = await on(0, asTicket('mon', 'mon-ticket-0123456'));
    const seenPlain = await within<Record<string, unknown>>(plain.session.call('wamp.session.get', [carol.session.id]), 'get as anonymous');
    expect(seenPlain).to.include({ session: carol.session.id, authid: 'carol', authrole: 'anonymous', authmethod: 'ticket' });
    expect(seenPlain).not.to.have.any.keys('authextra', 'transport');
    const seenMonitor = await within<Record<string, any>>(monitor.session.call('wamp.session.get', [carol.session.id]), 'get as monitor');
    expect(seenMonitor.authextra).to.deep.equal({ team: 'blue' });
    expect(seenMonitor.transport.type).to.equal('websocket');
    expect(seenMonitor.transport.peer).to.match(/^127\.0\.0\.1:\d+$/);
    await expectError(plain.session.call('wamp.session.get', [123456789]), 'wamp.error.no_such_session', 'get unknown');
  });

  it('kill, kill_by_authid and kill_all reach sessions on the other node', async () => {
    const caller = await on(0);
    const victim = await on(1);
    await within(caller.session.call('wamp.session.kill', [victim.session.id], { reason: 'wamp.close.killed', message: 'bye' }), 'kill');
    expect((await within(victim.closed, 'victim closed')).reason).to.equal('wamp.close.killed');
    await expectError(caller.session.call('wamp.session.kill', [victim.session.id]), 'wamp.error.no_such_session', 'kill again');

    const carols = [await on(0, asTicket('carol', 'carol-ticket-0123')), await on(1, asTicket('carol', 'carol-ticket-0123'))];
    const carolIds = carols.map((c) => c.session.id).sort();
    const killed = await within<number[]>(caller.session.call('wamp.session.kill_by_authid', ['carol']), 'kill_by_authid');
    expect(killed.sort()).to.deep.equal(carolIds);
    for (const carol of carols) expect((await within(carol.closed, 'carol closed')).reason).to.equal('wamp.close.killed');

    const others = [await on(0), await on(1), await on(1)];
    expect(await within(caller.session.call('wamp.session.kill_all'), 'kill_all')).to.equal(3);
    for (const other of others) await within(other.closed, 'closed by kill_all');
    expect(caller.session.isOpen).to.equal(true);
  });

  it('on_join reaches subscribers on other nodes, with the details each one\'s role may see', async () => {
    const plain = await on(0);
    const monitor = await on(0, asTicket('mon', 'mon-ticket-0123456'));
    const seen: { plain: Record<string, unknown>[]; monitor: Record<string, unknown>[] } = { plain: [], monitor: [] };
    await within(plain.session.subscribe('wamp.session.on_join', (args: any[]) => seen.plain.push(args[0])), 'subscribe plain');
    await within(monitor.session.subscribe('wamp.session.on_join', (args: any[]) => seen.monitor.push(args[0])), 'subscribe monitor');
    const carol = await on(1, asTicket('carol', 'carol-ticket-0123'));
    const id = carol.session.id;
    await waitFor(() => seen.plain.some((d) => d.session === id) && seen.monitor.some((d) => d.session === id), { what: 'on_join at a' });
    const [forPlain, forMonitor] = [seen.plain.find((d) => d.session === id)!, seen.monitor.find((d) => d.session === id)!];
    expect(forPlain).to.include({ authid: 'carol', authrole: 'anonymous' });
    expect(forPlain).not.to.have.any.keys('authextra', 'transport');
    expect(forMonitor.authextra).to.deep.equal({ team: 'blue' });
    expect(seen.plain.filter((d) => d.session === id)).to.have.length(1);
  });

  it('a node that stops answering makes the answer partial, not late: logged, the rest still counted', async () => {
    const caller = await on(0);
    await on(1);
    expect(await within(caller.session.call('wamp.session.count'), 'count')).to.equal(2);
    // b keeps its sessions but leaves NATS without a goodbye: until deadAfterMs it is still expected.
    await cluster.nodes[1]!.router.cluster!.node.crash();
    expect(await within(caller.session.call('wamp.session.count'), 'partial count')).to.equal(1);
    expect(cluster.nodes[0]!.logs.some((line) => line.event === 'cluster.meta_partial')).to.equal(true);
  });
});

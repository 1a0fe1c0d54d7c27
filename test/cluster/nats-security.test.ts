import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { encodeEnvelope } from '../../router/cluster/envelope.js';
import { eventSubject } from '../../router/cluster/subjects.js';
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';
import { rejection, within } from '../helpers/promises.js';
import { waitFor } from '../helpers/wait.js';
import { codeBlocks, README } from '../helpers/readme.js';

/**
 * Issue 15 "Security": whoever can publish to the cluster's subjects can bypass WAMP authentication,
 * so the NATS user the nodes share gets only the subjects a node needs (the README's NATS config,
 * loaded here as written), and another NATS user of the same server cannot inject an event.
 */

/** The README's NATS authorization block, as written (passwords from the environment). */
const NATS_AUTHORIZATION = codeBlocks(README, 'conf').find((block) => block.startsWith('authorization {'))!;

describe('cluster: NATS users with subject permissions (against nats-server)', function () {
  this.timeout(30_000);
  let nats: NatsServer;
  let cluster: TestCluster | undefined;
  let dir: string;
  let clients: AbClient[] = [];

  before(async function () {
    skipWithoutNats(this);
    dir = mkdtempSync(join(tmpdir(), 'switchyard-nats-auth-'));
    writeFileSync(join(dir, 'nats.conf'), `max_payload: 2MB\n${NATS_AUTHORIZATION}\n`);
    process.env.SWITCHYARD_NATS_PASSWORD = 'node-password-0123';
    process.env.APP_NATS_PASSWORD = 'app-password-0123';
    nats = await startNats({ args: ['-c', join(dir, 'nats.conf')], maxPayload: false });
    cluster = await startTestCluster(2, {
      realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: [{ uri: 'com.', match: 'prefix', allow: { publish: true, subscribe: true } }] }], auth: { anonymous: { role: 'anonymous' } } }],
      cluster: { auth: { user: 'switchyard', pass: '${SWITCHYARD_NATS_PASSWORD}' } },
    }, nats);
    await waitFor(() => cluster!.nodes[0]!.router.cluster!.status().peers.some((p) => p.alive), { timeoutMs: 3000, what: 'nodes see each other' });
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await cluster?.stop();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('nodes with the restricted user route events across nodes', async () => {
    const subscriber = await connectAutobahn(cluster!.nodes[1]!.url);
    const publisher = await connectAutobahn(cluster!.nodes[0]!.url);
    clients.push(subscriber, publisher);
    const got: unknown[] = [];
    await within(subscriber.session.subscribe('com.news', (args: unknown[]) => got.push(args[0])), 'subscribe');
    await within(publisher.session.publish('com.news', ['hello'], {}, { acknowledge: true }), 'publish');
    await waitFor(() => got.length === 1, { what: 'the event on the other node' });
    expect(got).to.deep.equal(['hello']);
  });

  it('another NATS user cannot inject an event; a connection without credentials is refused', async () => {
    const subscriber = await connectAutobahn(cluster!.nodes[1]!.url);
    const publisher = await connectAutobahn(cluster!.nodes[0]!.url);
    clients.push(subscriber, publisher);
    const got: unknown[] = [];
    await within(subscriber.session.subscribe('com.alerts', (args: unknown[]) => got.push(args[0])), 'subscribe');
    const app = await connect({ servers: nats.url, user: 'app', pass: 'app-password-0123' });
    const forged = encodeEnvelope({ realm: 'realm1', topic: 'com.alerts', publication: 1, publisher: undefined, args: ['forged'], kwargs: undefined, filter: {} });
    app.publish(eventSubject({ prefix: 'sy' }, 'realm1', 'com.alerts'), forged);
    await app.flush().catch(() => undefined);
    await app.close().catch(() => undefined);
    await within(publisher.session.publish('com.alerts', ['marker'], {}, { acknowledge: true }), 'marker');
    await waitFor(() => got.includes('marker'), { what: 'the marker' });
    expect(got).to.deep.equal(['marker']);
    expect(String(await rejection(connect({ servers: nats.url, maxReconnectAttempts: 0 }), 5000, 'anonymous connect'))).to.match(/AUTHORIZATION_VIOLATION|Authorization Violation/i);
  });
});

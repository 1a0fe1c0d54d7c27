import { expect } from 'chai';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { skipWithoutNats, startNats, type NatsServer } from '../helpers/nats.js';

/**
 * The NATS behaviour the cluster design (shared/cluster-nats.md §2) builds on, checked against the
 * server CI installs: if an upgrade changes one of these, this fails before the cluster code does.
 */
describe('cluster: NATS facts the design relies on', function () {
  this.timeout(20_000);
  let server: NatsServer;
  let nc: NatsConnection;

  before(async function () {
    skipWithoutNats(this);
    server = await startNats({ maxPayload: false });
    nc = await connect({ servers: server.url, noEcho: true, name: 'facts' });
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('serves JetStream, with a 1 MiB default max_payload', () => {
    expect(nc.info?.jetstream).to.equal(true);
    expect(nc.info?.max_payload).to.equal(1024 * 1024);
  });

  it('KV create is compare-and-set: a second create of one key fails', async () => {
    const kv = await nc.jetstream().views.kv('facts_claims', { history: 1 });
    await kv.create('c.realm1.x.com=2Eexample', StringCodec().encode('first'));
    let refused: Error | undefined;
    try {
      await kv.create('c.realm1.x.com=2Eexample', StringCodec().encode('second'));
    } catch (error) {
      refused = error as Error;
    }
    expect(refused?.message).to.match(/wrong last sequence/);
    expect(StringCodec().decode((await kv.get('c.realm1.x.com=2Eexample'))!.value)).to.equal('first');
  });

  it('noEcho: a connection does not receive its own publishes, another one does', async () => {
    const other = await connect({ servers: server.url });
    try {
      const seen: string[] = [];
      nc.subscribe('sy.facts', { callback: (_err, msg) => seen.push(`self:${StringCodec().decode(msg.data)}`) });
      other.subscribe('sy.facts', { callback: (_err, msg) => seen.push(`other:${StringCodec().decode(msg.data)}`) });
      await nc.flush();
      await other.flush();
      nc.publish('sy.facts', StringCodec().encode('x'));
      await nc.flush();
      await other.flush();
      expect(seen).to.deep.equal(['other:x']);
    } finally {
      await other.close();
    }
  });
});

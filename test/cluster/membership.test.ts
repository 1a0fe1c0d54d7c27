import { expect } from 'chai';
import { Membership, type Heartbeat } from '../../router/cluster/membership.js';

const DEAD_AFTER = 3000;
const beat = (node: string, incarnation: string, startedAt: number, more: Partial<Heartbeat> = {}): Heartbeat => ({ node, incarnation, startedAt, ...more });

describe('cluster membership (fake clock)', () => {
  let m: Membership;
  beforeEach(() => {
    m = new Membership('a', DEAD_AFTER);
  });

  it('ignores its own heartbeats', () => {
    expect(m.heartbeat(beat('a', 'i1', 0), 0)).to.deep.equal([]);
    expect(m.alivePeers()).to.deep.equal([]);
  });

  it('a first heartbeat brings a node up; more beats change nothing', () => {
    expect(m.heartbeat(beat('b', 'b1', 0), 100)).to.deep.equal([{ kind: 'up', node: 'b', incarnation: 'b1' }]);
    expect(m.heartbeat(beat('b', 'b1', 0), 1100)).to.deep.equal([]);
    expect(m.isAlive('b')).to.equal(true);
    expect(m.liveIncarnation('b')).to.equal('b1');
  });

  it('silence longer than deadAfterMs is death, not before', () => {
    m.heartbeat(beat('b', 'b1', 0), 0);
    expect(m.tick(DEAD_AFTER)).to.deep.equal([]);
    expect(m.tick(DEAD_AFTER + 1)).to.deep.equal([{ kind: 'down', node: 'b', incarnation: 'b1', reason: 'silent' }]);
    expect(m.tick(DEAD_AFTER + 5000)).to.deep.equal([]);
    expect(m.isAlive('b')).to.equal(false);
    expect(m.liveIncarnation('b')).to.equal(undefined);
  });

  it('a dead node beating again with the same incarnation is back (its entries stay valid)', () => {
    m.heartbeat(beat('b', 'b1', 0), 0);
    m.tick(DEAD_AFTER + 1);
    expect(m.heartbeat(beat('b', 'b1', 0), 9000)).to.deep.equal([{ kind: 'back', node: 'b', incarnation: 'b1' }]);
    expect(m.isAlive('b')).to.equal(true);
  });

  it('entries are known gone only for a node declared dead or restarted, never for one not heard yet', () => {
    expect(m.knownGone('b', 'b1'), 'never heard').to.equal(false);
    expect(m.liveIncarnation('b'), 'but not routed to').to.equal(undefined);
    m.heartbeat(beat('b', 'b1', 0), 0);
    expect(m.knownGone('b', 'b1')).to.equal(false);
    m.tick(DEAD_AFTER + 1);
    expect(m.knownGone('b', 'b1'), 'declared dead').to.equal(true);
    m.heartbeat(beat('b', 'b1', 0), 9000);
    expect(m.knownGone('b', 'b1'), 'back').to.equal(false);
    m.heartbeat(beat('b', 'b2', 9500), 9600);
    expect(m.knownGone('b', 'b1'), 'an older incarnation').to.equal(true);
    expect(m.knownGone('b', 'b2')).to.equal(false);
  });

  it('a new incarnation means a restart, alive or dead before', () => {
    m.heartbeat(beat('b', 'b1', 0), 0);
    expect(m.heartbeat(beat('b', 'b2', 500), 600)).to.deep.equal([{ kind: 'restarted', node: 'b', previous: 'b1', incarnation: 'b2' }]);
    m.tick(10_000);
    expect(m.heartbeat(beat('b', 'b3', 20_000), 20_000)).to.deep.equal([{ kind: 'restarted', node: 'b', previous: 'b2', incarnation: 'b3' }]);
  });

  it('a late beat of a replaced process is ignored', () => {
    m.heartbeat(beat('b', 'b1', 0), 0);
    m.heartbeat(beat('b', 'b2', 500), 600);
    expect(m.heartbeat(beat('b', 'b1', 0), 700)).to.deep.equal([]);
    expect(m.liveIncarnation('b')).to.equal('b2');
  });

  it('goodbye is death at once; a new process after it is simply up', () => {
    m.heartbeat(beat('b', 'b1', 0), 0);
    expect(m.heartbeat(beat('b', 'b1', 0, { bye: true }), 10)).to.deep.equal([{ kind: 'down', node: 'b', incarnation: 'b1', reason: 'bye' }]);
    expect(m.isAlive('b')).to.equal(false);
    expect(m.tick(DEAD_AFTER + 100)).to.deep.equal([]);
    expect(m.heartbeat(beat('b', 'b2', 50), 60)).to.deep.equal([{ kind: 'up', node: 'b', incarnation: 'b2' }]);
  });

  it('goodbye from an unknown or already dead node changes nothing', () => {
    expect(m.heartbeat(beat('c', 'c1', 0, { bye: true }), 0)).to.deep.equal([]);
    m.heartbeat(beat('b', 'b1', 0), 0);
    m.tick(DEAD_AFTER + 1);
    expect(m.heartbeat(beat('b', 'b1', 0, { bye: true }), DEAD_AFTER + 2)).to.deep.equal([]);
  });

  it('the lowest live node id is the janitor', () => {
    expect(m.isJanitor()).to.equal(true);
    m.heartbeat(beat('c', 'c1', 0), 0);
    expect(m.isJanitor()).to.equal(true);
    const b = new Membership('b', DEAD_AFTER);
    b.heartbeat(beat('a', 'a1', 0), 0);
    b.heartbeat(beat('c', 'c1', 0), 0);
    expect(b.isJanitor()).to.equal(false);
    b.tick(DEAD_AFTER + 1);
    expect(b.isJanitor()).to.equal(true);
    expect(b.alivePeers().map((p) => p.node)).to.deep.equal([]);
  });
});

import { expect } from 'chai';
import { parseBenchArgs, SCENARIOS, UsageError } from '../../bench/lib/args.js';

describe('bench command line', () => {
  it('defaults: every scenario, 5 s windows, fox-wamp on, 20,000 sessions', () => {
    const o = parseBenchArgs([]);
    expect(o.scenarios).to.deep.equal([...SCENARIOS]);
    expect(o).to.deep.include({ seconds: 5, quick: false, peer: true, profile: false, sessions: 20_000, fanoutSubscribers: 1000, fanoutRate: 50 });
    expect(o.warmupSeconds).to.be.within(1, 2);
  });

  it('--scenario is repeatable and comma-separated, and keeps the canonical order', () => {
    expect(parseBenchArgs(['--scenario', 'sessions', '--scenario', 'rpc']).scenarios).to.deep.equal(['rpc', 'sessions']);
    expect(parseBenchArgs(['--scenario', 'handshake,pubsub']).scenarios).to.deep.equal(['pubsub', 'handshake']);
  });

  it('--quick shortens windows and sessions unless given explicitly', () => {
    const q = parseBenchArgs(['--quick']);
    expect(q).to.deep.include({ quick: true, seconds: 2, sessions: 5000, baselineSeconds: 1 });
    expect(parseBenchArgs(['--quick', '--seconds', '3']).seconds).to.equal(3);
  });

  it('--no-peer, --profile and the sizes', () => {
    const o = parseBenchArgs(['--no-peer', '--profile', '--callers', '8', '--window', '50', '--sessions', '1000', '--subscribers', '200', '--rate', '20']);
    expect(o).to.deep.include({ peer: false, profile: true, callers: 8, window: 50, sessions: 1000, fanoutSubscribers: 200, fanoutRate: 20 });
  });

  it('refuses unknown scenarios, unknown flags and out-of-range numbers', () => {
    expect(() => parseBenchArgs(['--scenario', 'nope'])).to.throw(UsageError, /unknown scenario/);
    expect(() => parseBenchArgs(['--frobnicate'])).to.throw(UsageError);
    expect(() => parseBenchArgs(['--seconds', '0'])).to.throw(UsageError, /--seconds/);
    expect(() => parseBenchArgs(['--seconds', 'ten'])).to.throw(UsageError);
    expect(() => parseBenchArgs(['--window', '100000'])).to.throw(UsageError);
  });
});

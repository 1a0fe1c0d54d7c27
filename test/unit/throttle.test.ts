import { expect } from 'chai';
import { FailureThrottle, type ThrottleOptions } from '../../auth/throttle.js';

/**
 * FailureThrottle (auth/throttle.ts) with an injected clock: free failures, exponential lockout
 * growth, the cap, reset on success, forgetting after a quiet period, and the bound on tracked keys.
 */

function throttle(options: Partial<ThrottleOptions> = {}) {
  const clock = { t: 1_000_000 };
  const t = new FailureThrottle({ baseDelayMs: 100, maxDelayMs: 1_000, freeFailures: 3, now: () => clock.t, ...options });
  return { t, clock };
}

function fail(t: FailureThrottle, key: string, times: number): void {
  for (let i = 0; i < times; i++) t.recordFailure(key);
}

describe('FailureThrottle', function () {
  it('an unknown key is not blocked', function () {
    const { t } = throttle();
    expect(t.blockedFor('nobody')).to.equal(0);
    expect(t.size).to.equal(0);
  });

  it('the free failures never block; the next one blocks for baseDelayMs', function () {
    const { t } = throttle();
    for (let i = 1; i <= 3; i++) {
      t.recordFailure('alice');
      expect(t.blockedFor('alice'), `after free failure ${i}`).to.equal(0);
    }
    t.recordFailure('alice');
    expect(t.blockedFor('alice')).to.equal(100);
  });

  it('freeFailures 0 blocks from the first failure', function () {
    const { t } = throttle({ freeFailures: 0 });
    t.recordFailure('alice');
    expect(t.blockedFor('alice')).to.equal(100);
  });

  it('each further failure doubles the lockout', function () {
    const { t } = throttle({ maxDelayMs: 100_000 });
    fail(t, 'alice', 3);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      t.recordFailure('alice');
      seen.push(t.blockedFor('alice'));
    }
    expect(seen).to.deep.equal([100, 200, 400, 800, 1_600, 3_200]);
  });

  it('the lockout counts down with the clock and ends exactly when due', function () {
    const { t, clock } = throttle();
    fail(t, 'alice', 5); // over by 2 → 200 ms
    expect(t.blockedFor('alice')).to.equal(200);
    clock.t += 150;
    expect(t.blockedFor('alice')).to.equal(50);
    clock.t += 50;
    expect(t.blockedFor('alice')).to.equal(0);
  });

  it('the lockout is capped at maxDelayMs however many failures', function () {
    const { t } = throttle({ baseDelayMs: 100, maxDelayMs: 1_000 });
    fail(t, 'alice', 3 + 4);
    expect(t.blockedFor('alice')).to.equal(800);
    t.recordFailure('alice');
    expect(t.blockedFor('alice')).to.equal(1_000);
    fail(t, 'alice', 100); // exponent far past 2^30: still the cap, never Infinity or NaN
    expect(t.blockedFor('alice')).to.equal(1_000);
  });

  it('keys are independent', function () {
    const { t } = throttle();
    fail(t, 'alice', 4);
    expect(t.blockedFor('alice')).to.equal(100);
    expect(t.blockedFor('bob')).to.equal(0);
    t.recordFailure('bob');
    expect(t.blockedFor('bob')).to.equal(0);
  });

  it('a success resets the key: blocked no more, and the free failures are free again', function () {
    const { t } = throttle();
    fail(t, 'alice', 5);
    expect(t.blockedFor('alice')).to.be.greaterThan(0);
    t.recordSuccess('alice');
    expect(t.blockedFor('alice')).to.equal(0);
    expect(t.size).to.equal(0);
    fail(t, 'alice', 3);
    expect(t.blockedFor('alice')).to.equal(0);
    t.recordFailure('alice');
    expect(t.blockedFor('alice')).to.equal(100);
  });

  it('a success of one key does not reset another', function () {
    const { t } = throttle();
    fail(t, 'alice', 4);
    t.recordSuccess('bob');
    expect(t.blockedFor('alice')).to.equal(100);
  });

  it('remembers failures until a quiet period of maxDelayMs after the lockout ends', function () {
    const { t, clock } = throttle({ freeFailures: 1 });
    const start = clock.t;
    fail(t, 'alice', 2); // blocked until start + 100
    clock.t = start + 100 + 1_000; // the last remembered instant
    t.recordFailure('alice'); // third failure: over by 2 → 200 ms
    expect(t.blockedFor('alice')).to.equal(200);
  });

  it('forgets a key after the quiet period: the next failure is free again', function () {
    const { t, clock } = throttle({ freeFailures: 1 });
    const start = clock.t;
    fail(t, 'alice', 2);
    expect(t.size).to.equal(1);
    clock.t = start + 100 + 1_000 + 1;
    expect(t.blockedFor('alice')).to.equal(0);
    expect(t.size, 'entry dropped').to.equal(0);
    t.recordFailure('alice');
    expect(t.blockedFor('alice')).to.equal(0);
    t.recordFailure('alice');
    expect(t.blockedFor('alice')).to.equal(100);
  });

  it('a guesser failing during the lockout keeps extending it', function () {
    const { t, clock } = throttle({ freeFailures: 1 });
    fail(t, 'alice', 2);
    clock.t += 50;
    t.recordFailure('alice');
    expect(t.blockedFor('alice')).to.equal(200);
  });

  it('tracks at most maxEntries keys, evicting the least recently failed', function () {
    const { t } = throttle({ maxEntries: 3, freeFailures: 0 });
    for (let i = 0; i < 10; i++) {
      t.recordFailure(`k${i}`);
      expect(t.size).to.be.at.most(3);
    }
    expect(t.size).to.equal(3);
    expect(t.blockedFor('k9')).to.equal(100);
    expect(t.blockedFor('k8')).to.equal(100);
    expect(t.blockedFor('k7')).to.equal(100);
    expect(t.blockedFor('k0')).to.equal(0);
  });

  it('a renewed failure moves a key to the back of the eviction order', function () {
    const { t } = throttle({ maxEntries: 3, freeFailures: 0, maxDelayMs: 100_000 });
    fail(t, 'a', 1);
    fail(t, 'b', 1);
    fail(t, 'c', 1);
    t.recordFailure('a'); // a is now the most recent
    t.recordFailure('d'); // evicts b, the least recently failed
    expect(t.size).to.equal(3);
    expect(t.blockedFor('a')).to.equal(200);
    expect(t.blockedFor('b')).to.equal(0);
    expect(t.blockedFor('c')).to.equal(100);
    expect(t.blockedFor('d')).to.equal(100);
  });

  it('a spray of 100,000 distinct keys stays within the default bound', function () {
    const { t } = throttle({ maxEntries: 1_000 });
    for (let i = 0; i < 100_000; i++) t.recordFailure(`spray-${i}`);
    expect(t.size).to.equal(1_000);
  });

  it('baseDelayMs 0 turns throttling off and tracks nothing', function () {
    const { t } = throttle({ baseDelayMs: 0, freeFailures: 0 });
    fail(t, 'alice', 50);
    expect(t.blockedFor('alice')).to.equal(0);
    expect(t.size).to.equal(0);
  });
});

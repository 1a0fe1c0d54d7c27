import { expect } from 'chai';
import { Revocations, tick } from '../../auth/revocations.js';

/** Issue 13.8: revoke is "not before", ordered by a counter, not by the clock; a ban is separate. */
describe('revocations', function () {
  it('a credential minted before a revoke is dead, one minted after it lives, within the same millisecond', function () {
    const revocations = new Revocations();
    const before = tick();
    revocations.revoke('user-42');
    const after = tick(); // most likely the same millisecond: the counter orders it anyway
    expect(revocations.deadCause('user-42', before)).to.equal('revoked');
    expect(revocations.deadCause('user-42', after)).to.equal(undefined);
    expect(revocations.deadCause('user-42', undefined), 'a credential without a mint time').to.equal('revoked');
    expect(revocations.deadCause('someone-else', before)).to.equal(undefined);
  });

  it('a ban refuses every credential of the authid until unban; unban does not revive older credentials', function () {
    const revocations = new Revocations();
    const old = tick();
    revocations.ban('mallory');
    expect(revocations.isBanned('mallory')).to.equal(true);
    expect(revocations.deadCause('mallory', tick())).to.equal('banned');
    expect(revocations.unban('mallory')).to.equal(true);
    expect(revocations.unban('mallory')).to.equal(false);
    expect(revocations.deadCause('mallory', old)).to.equal('revoked');
    expect(revocations.deadCause('mallory', tick())).to.equal(undefined);
  });
});

import { expect } from 'chai';
import { clientFeatures, hasClientFeature, NO_FEATURES } from '../../router/protocol/client-features.js';

/**
 * HELLO.Details.roles is kept per session as one shared value per distinct announcement (issue
 * 16: the HELLO dicts were four to five objects of every idle session). Sharing must never change
 * an answer: what hasFeature said of the dicts, it says of the shared value.
 */
describe('client features announced in HELLO (router/protocol/client-features.ts)', function () {
  const autobahnLike = {
    caller: { features: { caller_identification: true, progressive_call_results: true, call_canceling: true } },
    callee: { features: { call_canceling: true, progressive_call_invocations: true, registration_revocation: false } },
    subscriber: { features: { subscription_revocation: true } },
    publisher: {},
  };

  it('answers exactly what the HELLO dicts say: only features announced as true, per role', function () {
    const features = clientFeatures(autobahnLike);
    expect(hasClientFeature(features, 'caller', 'call_canceling')).to.equal(true);
    expect(hasClientFeature(features, 'callee', 'progressive_call_invocations')).to.equal(true);
    expect(hasClientFeature(features, 'callee', 'registration_revocation'), 'false is not announced').to.equal(false);
    expect(hasClientFeature(features, 'callee', 'caller_identification'), 'another role\'s feature').to.equal(false);
    expect(hasClientFeature(features, 'publisher', 'publisher_exclusion')).to.equal(false);
    expect(hasClientFeature(features, 'subscriber', 'subscription_revocation')).to.equal(true);
  });

  it('ignores what is not a features dict of true flags (strings, numbers, lists, missing)', function () {
    const features = clientFeatures({
      caller: { features: { call_canceling: 'yes', call_timeout: 1, progressive_call_results: [true] } },
      callee: { features: ['call_canceling'] },
      subscriber: 'x',
      publisher: { features: null },
    });
    expect(features).to.equal(NO_FEATURES);
    expect(hasClientFeature(features, 'caller', 'call_canceling')).to.equal(false);
  });

  it('sessions announcing the same features share one value, whatever the order of roles and features', function () {
    const reordered = {
      publisher: {},
      subscriber: { features: { subscription_revocation: true } },
      callee: { features: { registration_revocation: false, progressive_call_invocations: true, call_canceling: true } },
      caller: { features: { call_canceling: true, progressive_call_results: true, caller_identification: true } },
    };
    expect(clientFeatures(reordered)).to.equal(clientFeatures(autobahnLike));
    expect(clientFeatures({ caller: {}, callee: {} })).to.equal(NO_FEATURES);
  });

  it('different announcements never share a value (no key collisions from odd feature names)', function () {
    const a = clientFeatures({ caller: { features: { 'x","callee': true } } });
    const b = clientFeatures({ caller: { features: { x: true } }, callee: { features: {} } });
    expect(a).to.not.equal(b);
    expect(hasClientFeature(a, 'caller', 'x')).to.equal(false);
    expect(hasClientFeature(b, 'caller', 'x')).to.equal(true);
  });

  it('past the shared-value bound, new announcements still get correct answers', function () {
    for (let i = 0; i < 300; i++) {
      const features = clientFeatures({ callee: { features: { [`feature_${i}`]: true } } });
      expect(hasClientFeature(features, 'callee', `feature_${i}`)).to.equal(true);
      expect(hasClientFeature(features, 'callee', `feature_${i + 1}`)).to.equal(false);
    }
  });
});

// The helper must load before 'autobahn' itself: it installs the console filter autobahn binds.
import { connectAutobahn } from '../helpers/autobahn.js';
import { expect } from 'chai';
import { BROKER_FEATURES, DEALER_FEATURES, routerRoles } from '../../router/protocol/features.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';

/**
 * What WELCOME announces is exactly routerRoles() (router/protocol/features.ts), whatever the
 * client announced: clients branch on these flags, so the announcement must come from one place
 * (issue 6). The flags themselves are spec feature names of the right role (wamp-spec §5).
 */

/** wamp-spec §5: the features a broker or dealer may announce (plus Crossbar's payload names). */
const SPEC_BROKER = new Set([
  'publisher_exclusion', 'subscriber_blackwhite_listing', 'publisher_identification', 'publication_trustlevels',
  'pattern_based_subscription', 'sharded_subscription', 'event_history', 'event_retention', 'subscription_revocation',
  'subscription_meta_api', 'session_meta_api', 'payload_passthru_mode', 'payload_transparency', 'payload_encryption_cryptobox',
]);
const SPEC_DEALER = new Set([
  'progressive_call_results', 'progressive_call_invocations', 'call_timeout', 'call_canceling', 'caller_identification',
  'call_trustlevels', 'pattern_based_registration', 'shared_registration', 'sharded_registration', 'registration_revocation',
  'registration_meta_api', 'testament_meta_api', 'session_meta_api', 'call_reroute', 'payload_passthru_mode',
  'payload_transparency', 'payload_encryption_cryptobox',
]);

describe('router features announced in WELCOME.roles', function () {
  let tr: TestRouter;
  const raws: RawClient[] = [];

  beforeEach(async function () {
    tr = await startRouter();
  });

  afterEach(async function () {
    for (const raw of raws.splice(0)) raw.close();
    await tr.stop();
  });

  for (const ser of ['json', 'msgpack', 'cbor'] as SerializerName[]) {
    it(`WELCOME.roles from a real join (raw ${ser}) equals routerRoles()`, async function () {
      const { client, welcome } = await RawClient.joined(tr.url, ser);
      raws.push(client);
      expect(welcome[0]).to.equal(2);
      const details = welcome[2] as Record<string, any>;
      expect(details.roles).to.deep.equal(routerRoles());
      expect(details.roles).to.deep.equal({ broker: { features: BROKER_FEATURES }, dealer: { features: DEALER_FEATURES } });
    });
  }

  it('announces the same roles whatever the client announced (every client role and feature, or a bare subscriber)', async function () {
    const rich = await RawClient.joined(tr.url, 'json', 'realm1', {
      caller: { features: { call_canceling: true, progressive_call_invocations: true, caller_identification: true } },
      callee: { features: { call_canceling: true, registration_revocation: true, shared_registration: true } },
      publisher: { features: { publisher_exclusion: true } },
      subscriber: { features: { pattern_based_subscription: true, subscription_revocation: true } },
    });
    const bare = await RawClient.joined(tr.url, 'json', 'realm1', { subscriber: {} });
    raws.push(rich.client, bare.client);
    expect((rich.welcome[2] as Record<string, any>).roles).to.deep.equal(routerRoles());
    expect((bare.welcome[2] as Record<string, any>).roles).to.deep.equal(routerRoles());
  });

  it('autobahn-js sees the same roles in its welcome details', async function () {
    const client = await connectAutobahn(tr.url, 'json');
    try {
      expect(client.details.roles).to.deep.equal(routerRoles());
    } finally {
      await client.close();
    }
  });

  it('routerRoles() has only broker and dealer, every flag true, every name a spec feature of that role, and returns a fresh copy', function () {
    const roles = routerRoles();
    expect(Object.keys(roles).sort()).to.deep.equal(['broker', 'dealer']);
    for (const [role, spec] of [['broker', SPEC_BROKER], ['dealer', SPEC_DEALER]] as const) {
      const features = roles[role]!.features;
      for (const [name, value] of Object.entries(features)) {
        expect(value, `${role}.${name}`).to.equal(true);
        expect(spec.has(name), `${role}.${name} is a ${role} feature of wamp-spec §5`).to.equal(true);
      }
    }
    // session_meta_api goes on both roles or neither (wamp-spec §5).
    expect(roles.broker!.features.session_meta_api === true).to.equal(roles.dealer!.features.session_meta_api === true);
    roles.broker!.features.injected = true;
    expect(routerRoles().broker!.features).to.not.have.property('injected');
  });
});

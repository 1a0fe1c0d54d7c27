import { expect } from 'chai';
import type { ChallengeStep, HelloContext } from '../../auth/authenticator.js';
import { Realm } from '../../realms/realm.js';
import { validateConfig } from '../../router/config.js';
import { DEFAULT_LIMITS } from '../../router/limits.js';
import { nearMisses } from '../helpers/near-misses.js';

/**
 * The ticket comparison itself (issue 13.7): a realm's ticket authenticator welcomes the exact
 * ticket and refuses every near miss with `wamp.error.not_authorized`.
 */

const TICKET = 'carol-Ticket-3xQ9-end';

describe('ticket: the comparison accepts the exact ticket only', function () {
  let realm: Realm;

  beforeEach(function () {
    const config = validateConfig({
      realms: [{
        name: 'realm1', roles: [{ name: 'frontend', permissions: [] }],
        auth: { ticket: { users: { carol: { ticket: TICKET, role: 'frontend' } } } },
      }],
    });
    realm = new Realm(config.realms[0]!, { ...DEFAULT_LIMITS, authFailureBaseDelayMs: 0 });
  });

  afterEach(function () {
    realm.close();
  });

  async function answer(ticket: string) {
    const context: HelloContext = {
      realm: 'realm1', sessionId: 7, authid: 'carol', authextra: {}, details: { authmethods: ['ticket'] },
      transport: { type: 'websocket', peer: '127.0.0.1:1', remoteAddress: '127.0.0.1', protocol: 'wamp.2.json' },
    };
    const step = await realm.selectAuthenticator(['ticket'])!.hello(context);
    expect(step.outcome).to.equal('challenge');
    return (step as ChallengeStep).verify(ticket, {});
  }

  for (const [what, ticket] of Object.entries(nearMisses(TICKET))) {
    it(`refuses: ${what}`, async function () {
      const outcome = await answer(ticket);
      expect(outcome.outcome).to.equal('deny');
      if (outcome.outcome === 'deny') expect(outcome.reason).to.equal('wamp.error.not_authorized');
    });
  }

  it('welcomes the exact ticket', async function () {
    const outcome = await answer(TICKET);
    expect(outcome.outcome).to.equal('welcome');
    if (outcome.outcome === 'welcome') expect(outcome.identity).to.include({ authid: 'carol', authrole: 'frontend', authmethod: 'ticket' });
  });
});

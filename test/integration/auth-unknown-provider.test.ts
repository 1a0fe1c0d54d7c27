import { expect } from 'chai';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';

// An unknown authid must not be told apart from a real user by the challenge's authprovider:
// in a realm whose WAMP-CRA users are all issued at runtime, the fake challenge says "issued" too.
describe('wampcra: the challenge to an unknown authid names the realm\'s usual provider', () => {
  let tr: TestRouter;
  afterEach(async () => tr.stop());

  async function challengeFor(authid: string): Promise<Record<string, unknown>> {
    const client = await RawClient.connect(tr.url);
    client.send([1, 'realm1', { roles: { caller: {} }, authmethods: ['wampcra'], authid }]);
    const challenge = await client.next();
    client.close();
    expect(challenge[0]).to.equal(4);
    return JSON.parse((challenge[2] as { challenge: string }).challenge);
  }

  it('issued-only realm: a real issued user and an unknown one both show authprovider "issued"', async () => {
    tr = await startRouter({
      limits: { authFailureBaseDelayMs: 0 },
      realms: [{
        name: 'realm1',
        roles: [{ name: 'frontend', permissions: [] }],
        auth: { wampcra: { users: {}, issue: { roles: ['frontend'] } } },
      }],
    });
    tr.router.realms.get('realm1')!.issued.issue('user-42', 'frontend', 60_000);
    const real = await challengeFor('user-42');
    const unknown = await challengeFor('mallory');
    expect(real.authprovider).to.equal('issued');
    expect(unknown.authprovider).to.equal(real.authprovider);
    expect(unknown.authrole).to.equal(real.authrole);
    expect(Object.keys(unknown).sort()).to.deep.equal(Object.keys(real).sort());
  });
});

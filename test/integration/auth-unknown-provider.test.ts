import { expect } from 'chai';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';

// An unknown authid must not be told apart from a real user by the challenge: the challenge string
// names no role and no provider, and in a realm whose WAMP-CRA users are all issued at runtime the
// unknown authid gets salt parameters of the same shape as an issued user's.
describe('wampcra: the challenge to an unknown authid looks like an issued user\'s', () => {
  let tr: TestRouter;
  afterEach(async () => tr.stop());

  async function challengeFor(authid: string): Promise<Record<string, any>> {
    const client = await RawClient.connect(tr.url);
    client.send([1, 'realm1', { roles: { caller: {} }, authmethods: ['wampcra'], authid }]);
    const challenge = await client.next();
    client.close();
    expect(challenge[0]).to.equal(4);
    const extra = challenge[2] as Record<string, any>;
    return { ...extra, challenge: JSON.parse(extra.challenge) };
  }

  it('issued-only realm: a real issued user and an unknown one show the same keys and salt shape, no provider', async () => {
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
    expect(real.challenge).to.not.have.any.keys('authrole', 'authprovider');
    expect(Object.keys(unknown.challenge).sort()).to.deep.equal(Object.keys(real.challenge).sort());
    expect(Object.keys(unknown).sort()).to.deep.equal(Object.keys(real).sort());
    expect(unknown).to.include({ iterations: real.iterations, keylen: real.keylen });
    expect(unknown.salt).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(real.salt).to.match(/^[A-Za-z0-9_-]{22}$/);
  });
});

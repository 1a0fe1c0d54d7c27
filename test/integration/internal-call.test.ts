import { expect } from 'chai';
import { connectAutobahn, type AbClient } from '../helpers/autobahn.js';
import { startRouter, type TestRouter } from '../helpers/router.js';

// The router calls procedures itself (dynamic authenticator and authorizer): each such call uses
// a one-shot caller, which must leave nothing behind in the dealer once answered.
describe('dealer: calls made by the router itself', () => {
  let tr: TestRouter;
  let callee: AbClient;

  afterEach(async () => {
    await callee?.close();
    await tr.stop();
  });

  it('answer with the result or the error and leave no per-caller state behind', async () => {
    tr = await startRouter();
    callee = await connectAutobahn(tr.url);
    await callee.session.register('com.example.echo', (args: unknown[]) => {
      if (args[0] === 'fail') throw new Error('boom');
      return args[0];
    });
    const dealer = tr.router.realms.get('realm1')!.dealer;
    const before = dealer.trackedPeerCount;
    for (let i = 0; i < 20; i++) {
      const result = await dealer.callInternal('com.example.echo', [i], {}, 2000);
      expect(result.args).to.deep.equal([i]);
    }
    const failure = await dealer.callInternal('com.example.echo', ['fail'], {}, 2000).catch((e: Error & { uri?: string }) => e);
    expect((failure as { uri?: string }).uri).to.be.a('string');
    const missing = await dealer.callInternal('com.example.nobody', [], {}, 2000).catch((e: Error & { uri?: string }) => e);
    expect((missing as { uri?: string }).uri).to.equal('wamp.error.no_such_procedure');
    expect(dealer.trackedPeerCount).to.equal(before);
    expect(dealer.pendingCallCount).to.equal(0);
  });
});

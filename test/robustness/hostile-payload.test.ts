import { expect } from 'chai';
import { HOSTILE_SHAPES, hostileCall } from '../../bench/lib/hostile-shapes.js';
import { DEFAULT_LIMITS } from '../../router/limits.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';
import { SERIALIZER_NAMES } from '../helpers/autobahn.js';

/**
 * Issue 13.4: the costliest shapes that fit in maxMessageBytes, in every serializer. Each CALL is
 * answered (RESULT) or refused (ERROR `wamp.error.payload_size_exceeded`), the sender stays
 * joined, and another session's call still works. No timing assertions: speed is in bench/.
 */

const MAX_BYTES = DEFAULT_LIMITS.maxMessageBytes;

/** A raw callee that answers every INVOCATION with an empty YIELD, without decoding the payload. */
async function emptyYieldCallee(tr: TestRouter, procedures: string[]): Promise<{ client: RawClient; invoked: () => number }> {
  const { client } = await RawClient.joined(tr.url, 'json');
  procedures.forEach((procedure, i) => client.send([64, i + 1, {}, procedure]));
  for (const _ of procedures) expect((await client.next())[0]).to.equal(65);
  let invocations = 0;
  client.ws.removeAllListeners('message');
  client.ws.on('message', (data: Buffer) => {
    const request = /^\[68,(\d+),/.exec(data.subarray(0, 40).toString('latin1'))?.[1];
    if (!request) return;
    invocations++;
    client.sendRaw(`[70,${request},{}]`, false);
  });
  return { client, invoked: () => invocations };
}

describe('hostile payload shapes (issue 13.4)', function () {
  this.timeout(30_000);
  let tr: TestRouter;
  const clients: RawClient[] = [];

  before(async function () {
    tr = await startRouter({ limits: { rateBytesPerSecond: 0, rateMessagesPerSecond: 0 } });
  });

  after(async function () {
    for (const client of clients) client.close();
    await tr.stop();
  });

  for (const serializer of SERIALIZER_NAMES) {
    it(`${serializer}: every hostile shape is answered or refused, and another session's call still works`, async function () {
      const callee = await emptyYieldCallee(tr, [`com.hostile.${serializer}`, `com.probe.${serializer}`]);
      const { client: hostile } = await RawClient.joined(tr.url, serializer);
      const { client: other } = await RawClient.joined(tr.url, 'json');
      clients.push(callee.client, hostile, other);
      for (const [i, shape] of HOSTILE_SHAPES.entries()) {
        const request = i + 1;
        hostile.sendRaw(hostileCall(shape, serializer, request, `com.hostile.${serializer}`, MAX_BYTES));
        other.send([48, request, {}, `com.probe.${serializer}`, [1]]);
        const answer = await hostile.next(10_000);
        expect([50, 8], `${shape}: ${JSON.stringify(answer).slice(0, 200)}`).to.include(answer[0]);
        expect(answer[0] === 50 ? answer[1] : answer[2]).to.equal(request);
        if (answer[0] === 8) {
          expect(answer[4], shape).to.equal('wamp.error.payload_size_exceeded');
          expect(String((answer[5] as unknown[])[0])).to.match(/limits\.maxPayload(Elements|Depth)/);
        }
        const probe = await other.next(10_000);
        expect(probe.slice(0, 2), `probe after ${shape}`).to.deep.equal([50, request]);
      }
      expect(hostile.closeCode).to.equal(undefined);
    });
  }

  it('refuses a CALL over the element cap without invoking the callee; the same CALL under it is routed', async function () {
    const callee = await emptyYieldCallee(tr, ['com.capped']);
    const { client } = await RawClient.joined(tr.url, 'msgpack');
    clients.push(callee.client, client);
    client.send([48, 1, {}, 'com.capped', new Array(DEFAULT_LIMITS.maxPayloadElements).fill(0)]);
    const refused = await client.next(5000);
    expect(refused.slice(0, 5)).to.deep.equal([8, 48, 1, { message: refused[3] && (refused[3] as any).message }, 'wamp.error.payload_size_exceeded']);
    expect(String((refused[3] as any).message)).to.contain(`more than ${DEFAULT_LIMITS.maxPayloadElements} values (limits.maxPayloadElements)`);
    expect(callee.invoked()).to.equal(0);
    client.send([48, 2, {}, 'com.capped', new Array(DEFAULT_LIMITS.maxPayloadElements - 100).fill(0)]);
    expect((await client.next(5000)).slice(0, 2)).to.deep.equal([50, 2]);
    expect(callee.invoked()).to.equal(1);
  });

  it('an acknowledged PUBLISH over the cap is refused and reaches no subscriber; a YIELD over it becomes an ERROR for the caller', async function () {
    const { client: subscriber } = await RawClient.joined(tr.url, 'cbor');
    const { client: publisher } = await RawClient.joined(tr.url, 'json');
    const { client: callee } = await RawClient.joined(tr.url, 'cbor');
    clients.push(subscriber, publisher, callee);
    subscriber.send([32, 1, {}, 'com.capped.topic']);
    expect((await subscriber.next())[0]).to.equal(33);
    const nested = JSON.parse(`${'['.repeat(DEFAULT_LIMITS.maxPayloadDepth + 1)}${']'.repeat(DEFAULT_LIMITS.maxPayloadDepth + 1)}`);
    publisher.send([16, 1, { acknowledge: true }, 'com.capped.topic', [nested]]);
    const refused = await publisher.next();
    expect(refused.slice(0, 3)).to.deep.equal([8, 16, 1]);
    expect(refused[4]).to.equal('wamp.error.payload_size_exceeded');
    expect(String((refused[3] as any).message)).to.contain('limits.maxPayloadDepth');

    callee.send([64, 1, {}, 'com.capped.result']);
    const registered = await callee.next();
    publisher.send([48, 2, {}, 'com.capped.result']);
    const invocation = await callee.next();
    expect(invocation.slice(0, 3)).to.deep.equal([68, 1, registered[2]]);
    callee.send([70, 1, {}, new Array(DEFAULT_LIMITS.maxPayloadElements + 1).fill(1)]);
    const error = await publisher.next();
    expect(error.slice(0, 3)).to.deep.equal([8, 48, 2]);
    expect(error[4]).to.equal('wamp.error.payload_size_exceeded');
    expect(subscriber.received).to.have.length(0);
    expect(callee.closeCode).to.equal(undefined);
  });
});

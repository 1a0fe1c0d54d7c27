import { expect } from 'chai';
import type WebSocket from 'ws';
import { startTarget, type Target } from '../../bench/lib/harness.js';
import { CODECS, join, openSocket, request, type WireFormat } from '../../bench/lib/wire.js';
import { minimalDealerNote } from '../../bench/scenarios.js';

/**
 * The bench's minimal WAMP dealer (bench/minimal-dealer-child.ts) is a baseline the rpc figures
 * are compared with, so it has to route what the bench sends, in both formats, on a real socket.
 */
describe('bench minimal WAMP dealer', function () {
  this.timeout(30_000);
  let target: Target;
  const sockets: WebSocket[] = [];

  before(async () => {
    target = await startTarget('minimal-dealer');
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    await target?.child.stop(3000);
  });

  async function joined(format: WireFormat): Promise<WebSocket> {
    const ws = await openSocket(target.url, CODECS[format].protocol);
    sockets.push(ws);
    await join(ws, CODECS[format], { realm: 'realm1', timeoutMs: 5000 });
    return ws;
  }

  /** The next frame on `ws`, decoded. */
  function next(ws: WebSocket, format: WireFormat): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame within 5 s')), 5000);
      ws.once('message', (data: Buffer) => {
        clearTimeout(timer);
        resolve(CODECS[format].decode(data));
      });
    });
  }

  for (const format of ['json', 'msgpack'] as const) {
    it(`routes CALL → INVOCATION → YIELD → RESULT with the payloads (${format})`, async () => {
      const codec = CODECS[format];
      const callee = await joined(format);
      const [, , registration] = await request(callee, codec, [64, 1, {}, `bench.${format}.echo`], [65]);
      const caller = await joined(format);

      const invocation = next(callee, format);
      caller.send(codec.encode([48, 7, {}, `bench.${format}.echo`, ['ping', 2], { k: 'v' }]), { binary: codec.binary });
      const [type, invocationId, registrationId, , args, kwargs] = await invocation;
      expect([type, registrationId, args, kwargs]).to.deep.equal([68, registration, ['ping', 2], { k: 'v' }]);

      const result = next(caller, format);
      callee.send(codec.encode([70, invocationId, {}, ['pong']]), { binary: codec.binary });
      expect(await result).to.deep.equal([50, 7, {}, ['pong']]);
    });
  }

  it('answers a call without a callee with no_such_procedure', async () => {
    const caller = await joined('json');
    const reply = next(caller, 'json');
    caller.send(JSON.stringify([48, 9, {}, 'bench.nobody', []]));
    expect(await reply).to.deep.equal([8, 48, 9, {}, 'wamp.error.no_such_procedure']);
  });

  it('the rpc note compares it with the corked relay and Switchyard with it', () => {
    const figures = (callsPerSecond: number, routerCpuSecondsPer1k: number) => ({ callsPerSecond, routerCpuSecondsPer1k });
    const note = minimalDealerNote(
      { relayCorked: figures(200_000, 0.0025), minimalDealer: figures(130_000, 0.0055) },
      figures(143_000, 0.0058),
    );
    expect(note).to.equal('minimal WAMP dealer (same round): 130,000 calls/s = 0.65x corked relay, 5.50 µs router CPU per call '
      + '(corked relay 2.50, Switchyard 5.80); Switchyard = 1.10x minimal dealer');
  });
});

import { expect } from 'chai';
import { RawClient } from './raw-client.js';

let probes = 0;

/**
 * Reliability §2.12 liveness probe: a fresh client completes HELLO → WELCOME and a CALL round trip
 * (it registers a procedure and calls it, so the call goes through the dealer and back).
 */
export async function livenessProbe(url: string, timeoutMs = 3000): Promise<void> {
  const { client } = await RawClient.joined(url, 'json');
  try {
    const procedure = `com.example.probe.p${++probes}`;
    client.send([64, 1, {}, procedure]);
    const registered = await client.next(timeoutMs);
    expect(registered[0], JSON.stringify(registered)).to.equal(65);
    client.send([48, 2, {}, procedure, ['ping']]);
    const invocation = await client.next(timeoutMs);
    expect(invocation[0], JSON.stringify(invocation)).to.equal(68);
    client.send([70, invocation[1], {}, ['pong']]);
    const result = await client.next(timeoutMs);
    expect(result[0], JSON.stringify(result)).to.equal(50);
    expect(result[3]).to.deep.equal(['pong']);
  } finally {
    client.close();
    await client.waitClosed(timeoutMs).catch(() => undefined);
  }
}

import { expect } from 'chai';
import { Encoder } from 'cbor-x';
import { decodeEnvelope, encodeEnvelope, type EventEnvelope } from '../../router/cluster/envelope.js';

const plain = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

const event = (over: Partial<EventEnvelope> = {}): EventEnvelope => ({
  realm: 'realm1', topic: 'com.app.x', publication: 2 ** 53, publisher: undefined, args: [1], kwargs: undefined, filter: {}, ...over,
});

/** The wire layout with one field replaced, to forge what a node would never write. */
function forged(index: number, value: unknown): Uint8Array {
  const fields: unknown[] = [1, 'realm1', 'com.app.x', 7, null, null, null, {}];
  fields[index] = value;
  return plain.encode(fields);
}

describe('cluster event envelope (CBOR between nodes)', () => {
  it('carries every field, binary and integers of any size exactly', () => {
    const sent = event({
      publisher: { publisher: 42, publisher_authid: 'alice', publisher_authrole: 'user' },
      args: [Buffer.from([0, 1, 255]), 2 ** 53, 2n ** 64n + 1n, -(2n ** 70n), 1.5, 'größe', null, [true, { a: [] }]],
      kwargs: { bytes: new Uint8Array([9, 8]), big: 2n ** 63n, nested: { deep: [1, 2] } },
      filter: { exclude: [1, 2], eligible_authrole: ['user'], exclude_authid: ['bob'] },
    });
    const received = decodeEnvelope(encodeEnvelope(sent))!;
    expect(received).to.deep.equal({ ...sent, args: [Buffer.from([0, 1, 255]), ...sent.args!.slice(1)], kwargs: { ...sent.kwargs, bytes: Buffer.from([9, 8]) } });
    expect(typeof received.args![2]).to.equal('bigint');
    expect(Buffer.isBuffer(received.args![0])).to.equal(true);
  });

  it('leaves absent args, kwargs and publisher absent', () => {
    const received = decodeEnvelope(encodeEnvelope(event({ args: undefined })))!;
    expect(received).to.include({ args: undefined, kwargs: undefined, publisher: undefined, publication: 2 ** 53 });
  });

  it('answers undefined, never throws, for anything that is not an envelope it wrote', () => {
    // [1, 'realm1', 'com.app.x', 7, null, [[[…50,000 levels…]]], null, {}], written by hand (no encoder recurses that deep).
    const head = [1, 'realm1', 'com.app.x', 7, null].map((v) => plain.encode(v));
    const deep = Buffer.concat([Buffer.from([0x88]), ...head, Buffer.alloc(50_000, 0x81), Buffer.from([0x80]), plain.encode(null), plain.encode({})]);
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array()],
      ['not CBOR', Buffer.from([0xff, 0x00, 0x12])],
      ['truncated', encodeEnvelope(event()).subarray(0, 10)],
      ['JSON', Buffer.from(JSON.stringify([1, 'realm1', 'com.app.x', 7, null, null, null, {}]))],
      ['not a list', plain.encode({ realm: 'realm1' })],
      ['wrong length', plain.encode([1, 'realm1', 'com.app.x', 7])],
      ['nested beyond the stack', deep],
      ['other version', forged(0, 2)],
      ['realm not a string', forged(1, 5)],
      ['empty topic', forged(2, '')],
      ['publication 0', forged(3, 0)],
      ['publication beyond 2^53', forged(3, 2 ** 53 + 2)],
      ['publication a string', forged(3, '7')],
      ['publisher with an extra key', forged(4, { publisher: 1, publisher_authid: 'a', publisher_authrole: 'r', admin: true })],
      ['publisher id not an id', forged(4, { publisher: -1, publisher_authid: 'a', publisher_authrole: 'r' })],
      ['args a dict', forged(5, { a: 1 })],
      ['kwargs a list', forged(6, [1])],
      ['filter missing', forged(7, null)],
      ['filter with an unknown key', forged(7, { exclude_me: [1] })],
      ['filter of the wrong type', forged(7, { exclude: ['x'] })],
    ];
    for (const [what, data] of bad) expect(decodeEnvelope(data), what).to.equal(undefined);
  });
});

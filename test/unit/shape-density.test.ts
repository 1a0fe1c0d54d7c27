import { expect } from 'chai';
import fc from 'fast-check';
import { SERIALIZERS } from '../../router/serializer/registry.js';
import type { Serializer, SerializerName } from '../../router/serializer/serializer.js';

/**
 * The session skips the shape scan of a frame too short to pass maxPayloadElements or
 * maxPayloadDepth, trusting each serializer's `density`: a frame of n bytes holds at most
 * n × weightPerByte values (keys weighted) and n × depthPerByte levels. If that bound were wrong a
 * short frame could slip past the caps, so it is checked here against the scanner itself, on the
 * densest frames each format allows (built byte by byte, as a hostile client would) and on
 * arbitrary messages.
 */

const UNBOUNDED = { maxElements: Number.MAX_SAFE_INTEGER, maxDepth: Number.MAX_SAFE_INTEGER };

function expectWithinDensity(serializer: Serializer, frame: Buffer | string): void {
  const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
  const shape = serializer.scan!(frame, UNBOUNDED);
  const density = serializer.density!;
  expect(shape.elements, `${serializer.name} values of ${bytes} bytes`).to.be.at.most(bytes * density.weightPerByte);
  expect(shape.depth, `${serializer.name} depth of ${bytes} bytes`).to.be.at.most(bytes * density.depthPerByte);
}

const repeat = (unit: string, n: number) => unit.repeat(n);

/** The densest JSON frames: one-byte values, empty keys, bracket-only nesting. */
const denseJson = (n: number) => [
  `[${repeat('0,', n)}0]`,
  `[${repeat('[', n)}${repeat(']', n)}]`,
  `[${repeat('{"":', n)}0${repeat('}', n)}]`,
  `[{${repeat('"":0,', n)}"":0}]`,
  `[${repeat('{},', n)}{}]`,
];

/** The densest binary frames: fixarray/fixmap headers (msgpack 0x9N/0x8N, CBOR 0x8N/0xaN), one-byte keys and values. */
function denseBinary(list1: number, map1: number, list: (count: number) => number, n: number): Buffer[] {
  return [
    Buffer.from([list1, ...Array<number>(n).fill(list1), 0]),
    Buffer.from([list1, ...Array<number>(n).fill(0).flatMap(() => [map1, 0]), 0]),
    Buffer.from([list(Math.min(n, 15)), ...Array<number>(Math.min(n, 15)).fill(0)]),
    Buffer.from([list1, map1 + Math.min(n, 14), ...Array<number>(Math.min(n, 14)).fill(0).flatMap((_, i) => [i, 0])]),
  ];
}

const DENSE: Record<SerializerName, (n: number) => (Buffer | string)[]> = {
  json: denseJson,
  msgpack: (n) => denseBinary(0x91, 0x81, (c) => 0x90 + c, n),
  cbor: (n) => denseBinary(0x81, 0xa1, (c) => 0x80 + c, n),
};

describe('serializer density: a short frame cannot pass the payload caps unscanned', () => {
  for (const name of Object.keys(SERIALIZERS) as SerializerName[]) {
    const serializer = SERIALIZERS[name];

    it(`${name}: the densest frames a client can build stay within the declared density`, () => {
      for (const n of [0, 1, 2, 5, 14, 64, 200]) for (const frame of DENSE[name](n)) expectWithinDensity(serializer, frame);
    });

    it(`${name}: so do arbitrary messages`, () => {
      const value = fc.letrec((tie) => ({
        any: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 3 }),
          fc.array(tie('any'), { maxLength: 5 }), fc.dictionary(fc.string({ maxLength: 2 }), tie('any'), { maxKeys: 5 })),
      })).any;
      fc.assert(fc.property(fc.array(value, { maxLength: 6 }), (message) => expectWithinDensity(serializer, serializer.encode(message))), { numRuns: 300 });
    });
  }

  it('is what the denser formats really reach: a declared density far above it would let nothing skip the scan', () => {
    // Guards the other direction too: density is a bound, not a guess, and close to the real worst case.
    const worst = (name: SerializerName) => Math.max(...DENSE[name](200).map((frame) => {
      const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
      return SERIALIZERS[name].scan!(frame, UNBOUNDED).elements / bytes;
    }));
    expect(worst('json')).to.be.above(SERIALIZERS.json.density!.weightPerByte * 0.8);
    expect(worst('msgpack')).to.be.above(SERIALIZERS.msgpack.density!.weightPerByte * 0.8);
    expect(worst('cbor')).to.be.above(SERIALIZERS.cbor.density!.weightPerByte * 0.8);
  });
});

import { expect } from 'chai';
import fc from 'fast-check';
import { SERIALIZERS } from '../../router/serializer/registry.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { KEY_WEIGHT } from '../../router/serializer/shape.js';

/**
 * The byte scans behind maxPayloadElements / maxPayloadDepth (router/serializer/shape.ts) count
 * what decoding would build: every value once, every dict key KEY_WEIGHT times, and the nesting
 * depth with the message array at depth 1. Checked against a walk of the value itself, for
 * messages each serializer encodes (lengths of every size class: short, 8-, 16- and 32-bit).
 */

const UNBOUNDED = { maxElements: Number.MAX_SAFE_INTEGER, maxDepth: Number.MAX_SAFE_INTEGER };

/** [values, depth] of a decoded value, as the scans should count them. */
function walk(value: unknown, depth = 1): [number, number] {
  if (Array.isArray(value)) {
    let [count, deepest] = [1, depth];
    for (const item of value) {
      const [c, d] = walk(item, depth + 1);
      count += c;
      deepest = Math.max(deepest, d);
    }
    return [count, deepest];
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    let [count, deepest] = [1, depth];
    for (const item of Object.values(value)) {
      const [c, d] = walk(item, depth + 1);
      count += KEY_WEIGHT + c;
      deepest = Math.max(deepest, d);
    }
    return [count, deepest];
  }
  return [1, depth - 1];
}

const leaf = fc.oneof(
  fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null),
  fc.string({ maxLength: 40 }), fc.string({ minLength: 256, maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);
const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, leaf,
    fc.array(tie('tree'), { maxLength: 20 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('tree'), { maxKeys: 20 })),
}));
// Containers past the 16-bit length classes, and past msgpack's fixarray/fixmap sizes.
const big = fc.constantFrom(Array.from({ length: 70_000 }, (_, i) => i % 3), Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, [i]])));

for (const name of ['json', 'msgpack', 'cbor'] as SerializerName[]) {
  describe(`payload shape scan (${name})`, () => {
    const serializer = SERIALIZERS[name];
    it('counts values, dict keys and depth exactly as the decoded message holds them', () => {
      fc.assert(
        fc.property(fc.oneof({ weight: 9, arbitrary: fc.array(tree, { maxLength: 6 }) }, { weight: 1, arbitrary: big.map((b) => [b]) }), (args) => {
          if (name === 'json' && JSON.stringify(args).includes('"\\u0000')) return; // JSON's binary convention
          const message = [48, 1, {}, 'com.example.procedure', args];
          const shape = serializer.scan!(serializer.encode(message), UNBOUNDED);
          const [elements, depth] = walk(message);
          expect({ elements: shape.elements, depth: shape.depth }).to.deep.equal({ elements, depth });
        }),
        { numRuns: 200 },
      );
    });
  });
}

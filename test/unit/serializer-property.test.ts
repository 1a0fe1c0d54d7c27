import { expect } from 'chai';
import fc from 'fast-check';
import { SERIALIZERS } from '../../router/serializer/registry.js';
import { encodeFailureText, type SerializerName } from '../../router/serializer/serializer.js';
import { exceeds } from '../../router/serializer/shape.js';

/**
 * Issue 13.3 at the serializer level: any payload decoded from one serializer is either encoded
 * for another and read back with every integer exact (where the target keeps it exact), or refused
 * with an error that says what could not be carried; it never throws anything else. The shape scan
 * never refuses what the caps allow.
 */

const NAMES: SerializerName[] = ['json', 'msgpack', 'cbor'];
const BOUNDS = { maxElements: 100_000, maxDepth: 64 };

const leaf = fc.oneof(
  fc.integer(), fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }), fc.double(), fc.string({ unit: 'grapheme' }),
  fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
);
const payload = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 8 }), fc.dictionary(fc.string(), tie('value'), { maxKeys: 6 })),
})).value;

describe('serializers: arbitrary payloads between every pair (property, issue 13.3)', function () {
  for (const from of NAMES) {
    for (const to of NAMES) {
      it(`${from} → ${to}: carried or refused with a reason`, function () {
        fc.assert(fc.property(fc.array(payload, { maxLength: 6 }), (args) => {
          let inbound: unknown[];
          try {
            const frame = SERIALIZERS[from].encode([48, 1, {}, 'p', args]);
            expect(exceeds(SERIALIZERS[from].scan!(frame, BOUNDS), BOUNDS)).to.equal(false);
            inbound = SERIALIZERS[from].decode(frame) as unknown[];
          } catch (error) {
            // The source format itself cannot carry it (the client could not have sent it).
            expect(encodeFailureText(from, error)).to.be.a('string');
            return;
          }
          let outbound: Buffer | string;
          try {
            outbound = SERIALIZERS[to].encode([68, 1, 2, {}, inbound[4]]);
          } catch (error) {
            expect(encodeFailureText(to, error)).to.match(/cannot be carried|nested too deeply|could not encode/);
            return;
          }
          const delivered = SERIALIZERS[to].decode(outbound) as unknown[];
          expect(delivered.slice(0, 4)).to.deep.equal([68, 1, 2, {}]);
          if (to !== 'json' && from !== 'json') expect(normalize(delivered[4])).to.deep.equal(normalize(inbound[4]));
        }), { numRuns: 150 });
      });
    }
  }
});

/** Compare integers by value (a small BigInt may come back as a number) and binary by bytes. */
function normalize(value: unknown): unknown {
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) return `int:${BigInt(value)}`;
  if (value instanceof Uint8Array) return `bin:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

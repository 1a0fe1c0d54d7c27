import { Decoder, Encoder } from 'cbor-x';
import { binaryHead, scanCbor } from './shape.js';
import { checkMaxIdExact, narrowSafeIntegers, widenLargeIntegers, type Serializer } from './serializer.js';

// Same choices as msgpack: no record/structure extensions, plain objects, and no tag for typed
// arrays so binary stays a plain CBOR byte string for every client. BigInt is written as a 64-bit
// integer when it fits and as a bignum (tag 2/3) beyond; bignums decode to BigInt.
const OPTIONS = { useRecords: false, mapsAsObjects: true, tagUint8Array: false };
// 64-bit integers as numbers: fast, and exact up to 2^53 (every WAMP ID).
const encoder = new Encoder({ ...OPTIONS, int64AsNumber: true } as ConstructorParameters<typeof Encoder>[0]);
// For the rare frame whose scan saw a 64-bit integer beyond 2^53: BigInt, so it stays exact.
const wideDecoder = new Decoder({ ...OPTIONS, int64AsNumber: false } as ConstructorParameters<typeof Decoder>[0]);

// 2^53 as a CBOR unsigned integer with an 8-byte argument.
const MAX_ID_LITERALS = [Buffer.from('1b0020000000000000', 'hex')];
const UNBOUNDED = { maxElements: Infinity, maxDepth: Infinity };

export const cborSerializer: Serializer = {
  name: 'cbor',
  subprotocol: 'wamp.2.cbor',
  rawSocketId: 3,
  binary: true,
  encode(message) {
    return encoder.encode(widenLargeIntegers(message));
  },
  decode(frame, shape) {
    if (typeof frame === 'string') throw new Error('cbor frame must be binary');
    const wide = (shape ?? scanCbor(frame, UNBOUNDED)).wideIntegers;
    const value = wide ? narrowSafeIntegers(wideDecoder.decode(frame)) : encoder.decode(frame);
    checkMaxIdExact(value, frame, MAX_ID_LITERALS);
    return value;
  },
  scan: scanCbor,
  // One byte can be a whole value or open a level; a map entry needs 2 bytes (a one-byte map header
  // and key) for weight 9: at most 4.5 per byte (shape-density.test.ts).
  density: { weightPerByte: 5, depthPerByte: 1 },
  head: (frame, shape, count) => binaryHead(frame, shape, count, 0x80),
};

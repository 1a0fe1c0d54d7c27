import { Encoder } from 'cbor-x';
import { checkMaxIdExact, widenLargeIntegers, type Serializer } from './serializer.js';

// Same choices as msgpack: no record/structure extensions, plain objects, 64-bit ints as numbers,
// and no tag for typed arrays so binary stays a plain CBOR byte string for every client.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, int64AsNumber: true, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);

// 2^53 as a CBOR unsigned integer with an 8-byte argument.
const MAX_ID_LITERALS = [Buffer.from('1b0020000000000000', 'hex')];

export const cborSerializer: Serializer = {
  name: 'cbor',
  subprotocol: 'wamp.2.cbor',
  rawSocketId: 3,
  binary: true,
  encode(message) {
    return encoder.encode(widenLargeIntegers(message));
  },
  decode(frame) {
    if (typeof frame === 'string') throw new Error('cbor frame must be binary');
    const value = encoder.decode(frame);
    checkMaxIdExact(value, frame, MAX_ID_LITERALS);
    return value;
  },
};

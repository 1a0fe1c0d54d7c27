import { C1, Packr } from 'msgpackr';
import { binaryHead, scanMsgpack } from './shape.js';
import { checkMaxIdExact, widenLargeIntegers, type Serializer } from './serializer.js';

// Plain maps as objects, no record extension (clients do not speak it). 64-bit integers decode
// as numbers when a number holds them exactly (every WAMP ID does) and as BigInt beyond that, so
// a big integer crosses to other serializers unchanged. Beyond 64 bits msgpack cannot carry an
// integer: encoding throws and only that receiver's delivery fails.
// (`auto` is missing from msgpackr's typings but documented and implemented.)
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number', moreTypes: false });

// 2^53 as uint64 and as int64.
const MAX_ID_LITERALS = [Buffer.from('cf0020000000000000', 'hex'), Buffer.from('d30020000000000000', 'hex')];

export const msgpackSerializer: Serializer = {
  name: 'msgpack',
  subprotocol: 'wamp.2.msgpack',
  rawSocketId: 2,
  binary: true,
  encode(message) {
    return packr.pack(widenLargeIntegers(message));
  },
  decode(frame) {
    if (typeof frame === 'string') throw new Error('msgpack frame must be binary');
    const value = packr.unpack(frame);
    // msgpackr yields a marker object for the reserved byte 0xc1 instead of failing.
    if (value === undefined || value === C1) throw new Error('not a msgpack value');
    checkMaxIdExact(value, frame, MAX_ID_LITERALS);
    return value;
  },
  scan: scanMsgpack,
  // One byte can be a whole value or open a level; a map entry needs 2 bytes (a one-byte map header
  // and key) for weight 9: at most 4.5 per byte (shape-density.test.ts).
  density: { weightPerByte: 5, depthPerByte: 1 },
  head: (frame, shape, count) => binaryHead(frame, shape, count, 0x90),
};

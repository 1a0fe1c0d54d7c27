import { C1, Packr } from 'msgpackr';
import { checkMaxIdExact, widenLargeIntegers, type Serializer } from './serializer.js';

// Plain maps as objects, no record extension (clients do not speak it), and 64-bit integers
// decoded as numbers: WAMP IDs stop at 2^53, which a JS number holds exactly.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', moreTypes: false });

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
};

import { expect } from 'chai';
import { Packr } from 'msgpackr';
import { decodeClientMessage } from '../../router/protocol/decode.js';
import { ProtocolViolation } from '../../router/protocol/errors.js';
import { chooseSubprotocol, SERIALIZERS } from '../../router/serializer/registry.js';
import type { Serializer, SerializerName } from '../../router/serializer/serializer.js';

/** wamp-spec §11.2: json/msgpack/cbor, binary convention, integers up to 2^53 as integers. */

const NAMES: SerializerName[] = ['json', 'msgpack', 'cbor'];
const { json, msgpack, cbor } = SERIALIZERS;

/** The spec's binary vector: these bytes travel in JSON as "\u0000EOP/kFMHXFJvX8BtT+N82w==". */
const SPEC_HEX = '10e3ff9053075c526f5fc06d4fe37cdb';
const SPEC_B64 = 'EOP/kFMHXFJvX8BtT+N82w==';

/** Replace every binary value by `{ $bin: hex }` so deep.equal compares bytes, not classes. */
function normalize(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

function roundTrip(s: Serializer, message: unknown[]): unknown {
  const frame = s.encode(message);
  expect(typeof frame === 'string', `${s.name} frame kind`).to.equal(!s.binary);
  return s.decode(frame);
}

const hex = (frame: Buffer | string) => Buffer.from(frame as Buffer).toString('hex');

const nestedPayload = (): unknown[] => [
  36, 5512315355, 4429313566, { topic: 'com.example.topic' },
  [
    1, -2, 3.25, 'text ✓ ünïcödé', true, false, null,
    [[[]], { deep: { deeper: { deepest: [1, [2, [3]]] } } }],
    Buffer.from(SPEC_HEX, 'hex'),
    new Uint8Array([0, 255, 1, 254]),
    Buffer.alloc(0),
  ],
  {
    bin: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    nested: { list: [new Uint8Array([7]), { inner: Buffer.from('hello') }], n: 2 ** 31, s: '' },
    empty: {},
    unicode: '日本語',
  },
];

describe('serializers: round trips', () => {
  for (const name of NAMES) {
    const s = SERIALIZERS[name];

    it(`${name}: nested payload with binary in Arguments and ArgumentsKw survives a round trip`, () => {
      const message = nestedPayload();
      const decoded = roundTrip(s, message) as unknown[];
      expect(normalize(decoded)).to.deep.equal(normalize(message));
      // Binary comes back as bytes, not as a string, list or {type, data} object.
      const args = decoded[4] as unknown[];
      const kwargs = decoded[5] as Record<string, any>;
      for (const value of [args[8], args[9], args[10], kwargs.bin, kwargs.nested.list[0], kwargs.nested.list[1].inner]) {
        expect(ArrayBuffer.isView(value), `${name}: ${String(value)}`).to.equal(true);
      }
      expect(Buffer.from(args[8] as Uint8Array).toString('hex')).to.equal(SPEC_HEX);
    });

    it(`${name}: a Uint8Array view into a larger buffer sends only its own bytes`, () => {
      const backing = new Uint8Array([9, 9, 1, 2, 3, 9, 9]);
      const view = backing.subarray(2, 5);
      const decoded = roundTrip(s, [50, 1, {}, [view]]) as unknown[];
      expect(normalize(decoded)).to.deep.equal([50, 1, {}, [{ $bin: '010203' }]]);
    });

    it(`${name}: typical WAMP messages (IDs up to 2^53) round-trip exactly`, () => {
      for (const message of [
        [2, 2 ** 53, { roles: { broker: { features: {} }, dealer: { features: {} } }, realm: 'realm1' }],
        [33, 713845233, 5512315355],
        [17, 1, 2 ** 53 - 1],
        [8, 48, 7814135, {}, 'wamp.error.no_such_procedure', ['msg'], { a: 1 }],
        [3, { message: 'The realm does not exist.' }, 'wamp.error.no_such_realm'],
      ]) {
        expect(roundTrip(s, message), JSON.stringify(message)).to.deep.equal(message);
      }
    });

    it(`${name}: garbage input to decode throws`, () => {
      const garbage: (Buffer | string)[] = name === 'json'
        ? ['', '{', '[1,', 'not json', '[1, "a",]', "['single']", Buffer.from([0xff, 0xfe, 0x00])]
        : name === 'msgpack'
          ? [Buffer.alloc(0), Buffer.from([0x92, 0x01]), Buffer.from([0xdc, 0xff]), Buffer.from([0xa5, 0x61]), 'text frame']
          : [Buffer.alloc(0), Buffer.from([0x82, 0x01]), Buffer.from([0xff]), Buffer.from([0x9f, 0x01]), Buffer.from([0x7a, 0, 0, 0, 9]), 'text frame'];
      for (const frame of garbage) {
        expect(() => s.decode(frame), `${name} decode(${typeof frame === 'string' ? JSON.stringify(frame) : hex(frame)})`).to.throw();
      }
    });
  }

  it('msgpack: the reserved byte 0xc1 ("never used") as a whole frame is rejected', () => {
    let decoded: unknown;
    expect(() => { decoded = msgpack.decode(Buffer.from([0xc1])); }, `decode(c1) returned ${JSON.stringify(decoded)}`).to.throw();
  });

  it('msgpack: 0xc1 where a message element belongs makes the message a protocol violation', () => {
    // Inside a payload it is forwarded as an opaque value (the router does not walk payloads).
    for (const frame of [Buffer.from([0x91, 0xc1]), Buffer.from([0x92, 0x30, 0xc1])]) {
      expect(() => decodeClientMessage(msgpack.decode(frame))).to.throw(ProtocolViolation);
    }
  });
});

describe('serializers: JSON binary convention (wamp-spec §11.2)', () => {
  it('encodes the spec vector as "\\u0000" + base64, exactly', () => {
    const frame = json.encode([50, 1, {}, [Buffer.from(SPEC_HEX, 'hex')]]);
    expect(frame).to.equal(`[50,1,{},["\\u0000${SPEC_B64}"]]`);
  });

  it('encodes a plain Uint8Array (not a Buffer) the same way, in Arguments and ArgumentsKw', () => {
    const bytes = new Uint8Array(Buffer.from(SPEC_HEX, 'hex'));
    const frame = json.encode([50, 1, {}, [bytes], { k: bytes }]);
    expect(frame).to.equal(`[50,1,{},["\\u0000${SPEC_B64}"],{"k":"\\u0000${SPEC_B64}"}]`);
  });

  it('decodes "\\u0000" + base64 into the spec bytes', () => {
    const decoded = json.decode(`[16,1,{},"com.example.topic",["\\u0000${SPEC_B64}"],{"k":{"deep":["\\u0000${SPEC_B64}"]}}]`) as any[];
    expect(ArrayBuffer.isView(decoded[4][0])).to.equal(true);
    expect(Buffer.from(decoded[4][0]).toString('hex')).to.equal(SPEC_HEX);
    expect(Buffer.from(decoded[5].k.deep[0]).toString('hex')).to.equal(SPEC_HEX);
  });

  it('decodes the spec string from a Buffer frame too', () => {
    const decoded = json.decode(Buffer.from(`["\\u0000${SPEC_B64}"]`)) as unknown[];
    expect(Buffer.from(decoded[0] as Uint8Array).toString('hex')).to.equal(SPEC_HEX);
  });

  it('an ordinary string stays a string, and "\\u0000" alone is empty bytes', () => {
    const decoded = json.decode('["plain","with \\u0000 inside","\\u0000"]') as unknown[];
    expect(decoded[0]).to.equal('plain');
    expect(decoded[1]).to.equal('with \u0000 inside');
    expect(ArrayBuffer.isView(decoded[2])).to.equal(true);
    expect((decoded[2] as Uint8Array).length).to.equal(0);
  });

  it('without binary, JSON output is plain JSON.stringify', () => {
    const message = [36, 1, 2, {}, [1, 'a', null, { b: [true] }]];
    expect(json.encode(message)).to.equal(JSON.stringify(message));
  });

  it('a dict that merely looks like Buffer#toJSON output stays a dict next to real binary', () => {
    // {type:'Buffer', data:[...]} is legal application data; only real bytes become "\u0000...".
    const lookalike = { type: 'Buffer', data: [1, 2, 3] };
    const decoded = json.decode(json.encode([50, 1, {}, [Buffer.from([9]), lookalike]])) as any[];
    expect(Buffer.from(decoded[3][0]).toString('hex')).to.equal('09');
    expect(decoded[3][1]).to.deep.equal(lookalike);
  });
});

describe('serializers: binary across serializers', () => {
  it('bytes decoded from JSON re-encode as msgpack bin and CBOR byte strings, and decode to the same bytes', () => {
    const fromJson = json.decode(`[16,1,{},"com.example.topic",["\\u0000${SPEC_B64}"],{"k":"\\u0000${SPEC_B64}"}]`) as unknown[];
    for (const s of [msgpack, cbor]) {
      const frame = s.encode(fromJson) as Buffer;
      // msgpack bin 8 (0xc4 0x10) / CBOR byte string of 16 (0x50), followed by the bytes.
      const marker = s === msgpack ? 'c410' : '50';
      expect(hex(frame), s.name).to.include(marker + SPEC_HEX);
      const back = s.decode(frame) as any[];
      expect(Buffer.from(back[4][0]).toString('hex'), s.name).to.equal(SPEC_HEX);
      expect(Buffer.from(back[5].k).toString('hex'), s.name).to.equal(SPEC_HEX);
      // ...and back to JSON gives the spec's wire string.
      expect(json.encode(back), s.name).to.include(`"\\u0000${SPEC_B64}"`);
    }
  });

  it('bytes from msgpack and CBOR reach JSON as the spec string', () => {
    for (const s of [msgpack, cbor]) {
      const back = s.decode(s.encode([36, 1, 2, {}, [Buffer.from(SPEC_HEX, 'hex')]]));
      expect(json.encode(back as unknown[]), s.name).to.equal(`[36,1,2,{},["\\u0000${SPEC_B64}"]]`);
    }
  });
});

describe('serializers: integers beyond 32 bits are integers on the wire (wamp-spec §3, §11.2)', () => {
  // One-element array: msgpack fixarray 0x91 / CBOR array(1) 0x81, then the number.
  const cases: [string, number, string, string][] = [
    ['2^53', 2 ** 53, 'cf0020000000000000', '1b0020000000000000'],
    ['2^40', 2 ** 40, 'cf0000010000000000', '1b0000010000000000'],
    ['2^53 - 1', 2 ** 53 - 1, 'cf001fffffffffffff', '1b001fffffffffffff'],
    ['2^32', 2 ** 32, 'cf0000000100000000', '1b0000000100000000'],
  ];
  for (const [label, value, msgpackHex, cborHex] of cases) {
    // msgpackr writes 64-bit integers in the int64 form (0xd3); any msgpack integer form is an
    // integer to every client (msgpack5, msgpack-python), which is what matters: never a float.
    it(`${label}: msgpack 64-bit integer (0xcf or 0xd3), not float64 (0xcb)`, () => {
      const frame = msgpack.encode([value]) as Buffer;
      expect(['91' + msgpackHex, '91d3' + msgpackHex.slice(2)]).to.include(hex(frame));
      const decoded = msgpack.decode(frame) as unknown[];
      expect(decoded[0]).to.be.a('number').and.equal(value);
    });
    it(`${label}: CBOR major type 0 with 8-byte argument (0x1b), not a float`, () => {
      const frame = cbor.encode([value]) as Buffer;
      expect(hex(frame)).to.equal('81' + cborHex);
      const decoded = cbor.decode(frame) as unknown[];
      expect(decoded[0]).to.be.a('number').and.equal(value);
    });
  }

  it('2^32 - 1 stays in the small forms (msgpack uint32 0xce, CBOR 0x1a)', () => {
    expect(hex(msgpack.encode([2 ** 32 - 1]))).to.equal('91ceffffffff');
    expect(hex(cbor.encode([2 ** 32 - 1]))).to.equal('811affffffff');
    expect(hex(msgpack.encode([1]))).to.equal('9101');
    expect(hex(cbor.encode([1]))).to.equal('8101');
  });

  it('large IDs inside WAMP messages (WELCOME session, PUBLISHED publication) are integers', () => {
    const welcome = msgpack.encode([2, 2 ** 53, {}]) as Buffer;
    expect(hex(welcome).slice(0, 22)).to.be.oneOf(['9302cf0020000000000000', '9302d30020000000000000']);
    const published = cbor.encode([17, 1, 2 ** 40]) as Buffer;
    expect(hex(published)).to.equal('8311011b0000010000000000');
  });

  it('uint64 values written by another msgpack/CBOR encoder decode as numbers, not BigInt', () => {
    const decodedMsgpack = msgpack.decode(Buffer.from('91cf0020000000000000', 'hex')) as unknown[];
    expect(decodedMsgpack[0]).to.be.a('number').and.equal(2 ** 53);
    const decodedCbor = cbor.decode(Buffer.from('811b0020000000000000', 'hex')) as unknown[];
    expect(decodedCbor[0]).to.be.a('number').and.equal(2 ** 53);
    // int64 form from a foreign encoder (e.g. msgpackr's own default for BigInt).
    const fromInt64 = msgpack.decode(new Packr({ useRecords: false }).pack([2n ** 40n])) as unknown[];
    expect(fromInt64[0]).to.be.a('number').and.equal(2 ** 40);
  });

  it('negative integers beyond 32 bits are integers too', () => {
    expect(hex(msgpack.encode([-(2 ** 40)]))).to.equal('91d3ffffff0000000000');
    expect(hex(cbor.encode([-(2 ** 40)]))).to.equal('813b000000ffffffffff');
    expect((msgpack.decode(msgpack.encode([-(2 ** 40)])) as unknown[])[0]).to.equal(-(2 ** 40));
    expect((cbor.decode(cbor.encode([-(2 ** 40)])) as unknown[])[0]).to.equal(-(2 ** 40));
  });

  it('floats stay floats (msgpack float64 0xcb, CBOR float 0xfb/0xfa/0xf9)', () => {
    for (const value of [1.5, 0.1, -2.75, 1e-300, 123456.789]) {
      const m = msgpack.encode([value]) as Buffer;
      expect([0xcb, 0xca], `msgpack ${value}: ${hex(m)}`).to.include(m[1]);
      expect((msgpack.decode(m) as unknown[])[0]).to.equal(value);
      const c = cbor.encode([value]) as Buffer;
      expect([0xfb, 0xfa, 0xf9], `cbor ${value}: ${hex(c)}`).to.include(c[1]);
      expect((cbor.decode(c) as unknown[])[0]).to.equal(value);
    }
  });

  it('numbers too large for a 64-bit integer (1e300, 2^64, -1e300) encode as float64 and decode as numbers', () => {
    // JSON cannot tell 1e300 from an integer; for JS it is Number.isInteger(1e300) === true.
    // These must not crash the encoder (msgpack) or turn into a CBOR bignum that decodes as BigInt.
    for (const value of [1e300, 2 ** 64, -1e300, Number.MAX_VALUE]) {
      for (const s of [msgpack, cbor]) {
        let frame: Buffer | undefined;
        expect(() => { frame = s.encode([36, 1, 2, {}, [value]]) as Buffer; }, `${s.name} encode ${value}`).not.to.throw();
        const decoded = s.decode(frame!) as any[];
        expect(typeof decoded[4][0], `${s.name} ${value} decoded as ${typeof decoded[4][0]} (${hex(frame!)})`).to.equal('number');
        expect(decoded[4][0]).to.equal(value);
      }
    }
  });
});

describe('serializers: subprotocol choice (wamp-spec §11.1)', () => {
  const all: SerializerName[] = ['json', 'msgpack', 'cbor'];

  it('picks the first offered subprotocol that the listener serves (client order wins)', () => {
    expect(chooseSubprotocol(['wamp.2.msgpack', 'wamp.2.json'], all)?.name).to.equal('msgpack');
    expect(chooseSubprotocol(['wamp.2.json', 'wamp.2.msgpack'], all)?.name).to.equal('json');
    expect(chooseSubprotocol(['wamp.2.cbor', 'wamp.2.json'], ['json', 'msgpack'])?.name).to.equal('json');
    expect(chooseSubprotocol(['chat', 'wamp.2.cbor'], all)?.name).to.equal('cbor');
    expect(chooseSubprotocol(new Set(['wamp.2.ubjson', 'wamp.2.msgpack']), ['msgpack'])?.subprotocol).to.equal('wamp.2.msgpack');
  });

  it('returns the serializer object for the name', () => {
    expect(chooseSubprotocol(['wamp.2.cbor'], all)).to.equal(cbor);
    expect(chooseSubprotocol(['wamp.2.json'], all)).to.equal(json);
  });

  it('is undefined when nothing offered is served', () => {
    expect(chooseSubprotocol([], all)).to.equal(undefined);
    expect(chooseSubprotocol(['chat'], all)).to.equal(undefined);
    expect(chooseSubprotocol(['wamp.2.msgpack'], ['json'])).to.equal(undefined);
    expect(chooseSubprotocol(['wamp.2.json.batched', 'wamp.2.ubjson', 'wamp.2.flatbuffers'], all)).to.equal(undefined);
    expect(chooseSubprotocol(['WAMP.2.JSON', 'wamp.2.json '], all)).to.equal(undefined);
  });

  it('each serializer names its subprotocol, RawSocket id and frame kind', () => {
    expect([json, msgpack, cbor].map((s) => [s.subprotocol, s.rawSocketId, s.binary])).to.deep.equal([
      ['wamp.2.json', 1, false], ['wamp.2.msgpack', 2, true], ['wamp.2.cbor', 3, true],
    ]);
  });
});

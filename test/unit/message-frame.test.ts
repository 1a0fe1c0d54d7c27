import { expect } from 'chai';
import fc from 'fast-check';
import { decodeClientMessage } from '../../router/protocol/decode.js';
import { payloadEncodedAsSent, encodeMessage } from '../../router/protocol/encode.js';
import { MessageType, type Call, type Invocation } from '../../router/protocol/messages.js';
import { encodeFor } from '../../router/serializer/message-frame.js';
import { SERIALIZERS } from '../../router/serializer/registry.js';

/**
 * A payload passed on unchanged (CALL → INVOCATION, YIELD → RESULT) between sessions of the same
 * serializer is copied from the sender's frame instead of being encoded again
 * (router/serializer/message-frame.ts). The receiver must decode exactly what a fresh encoding
 * would have given it.
 */

const json = SERIALIZERS.json;

/** A CALL frame as text, decoded the way the session does, with its payload section kept. */
function receivedCall(text: string): Call {
  const call = decodeClientMessage(json.decode(text)) as Call;
  if (payloadEncodedAsSent(call)) call.encoded = { format: 'json', section: json.payloadSection!(text, 4) };
  return call;
}

function invocationOf(call: Call, withSection: boolean): Invocation {
  return {
    type: MessageType.INVOCATION, request: 7, registration: 9, details: { caller: 3, caller_authid: 'a"b' },
    args: call.args, kwargs: call.kwargs, encoded: withSection ? call.encoded : undefined,
  };
}

const reencoded = (call: Call) => json.decode(encodeFor(json, invocationOf(call, false)));
const passedOn = (call: Call) => json.decode(encodeFor(json, invocationOf(call, true)));

describe('message frames: a JSON payload passed on as it arrived', () => {
  it('cuts the payload section past strings, escapes and nesting in the head', () => {
    const text = '[48, 1, {"note": "a,]b\\"c[{", "deep": [1, {"x": ","}]}, "com.p",\n ["x", {"k": [1, 2]}], {"kw": "],"} ]';
    expect(json.payloadSection!(text, 4).trim()).to.equal('["x", {"k": [1, 2]}], {"kw": "],"}');
    const call = receivedCall(text);
    expect(passedOn(call)).to.deep.equal(reencoded(call));
  });

  it('keeps the exact digits of an integer beyond 2^53 (a fresh encoding would round it)', () => {
    const call = receivedCall('[48,1,{},"com.p",[12345678901234567890]]');
    const frame = encodeFor(json, invocationOf(call, true)) as string;
    expect(frame).to.equal('[68,7,9,{"caller":3,"caller_authid":"a\\"b"},[12345678901234567890]]');
    expect(encodeFor(json, invocationOf(call, false))).to.include('[12345678901234567000]');
  });

  it('keeps no section for an empty payload, which the encoder leaves out', () => {
    for (const text of ['[48,1,{},"com.p",[]]', '[48,1,{},"com.p",[],{}]', '[48,1,{},"com.p"]']) {
      const call = receivedCall(text);
      expect(call.encoded, text).to.equal(undefined);
      expect(encodeFor(json, invocationOf(call, true))).to.equal('[68,7,9,{"caller":3,"caller_authid":"a\\"b"}]');
    }
    expect(receivedCall('[48,1,{},"com.p",[],{"a":1}]').encoded?.section).to.equal('[],{"a":1}');
  });

  it('is used only by a receiver of the same serializer', () => {
    const call = receivedCall('[48,1,{},"com.p",[1,"two"],{"three":3}]');
    const msgpack = SERIALIZERS.msgpack;
    expect(msgpack.decode(encodeFor(msgpack, invocationOf(call, true)))).to.deep.equal(encodeMessage(invocationOf(call, false)));
  });

  it('decodes to what a fresh encoding gives, for any payload (binary included)', () => {
    const value = fc.letrec((tie) => ({
      any: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null),
        fc.string(), fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
        fc.array(tie('any'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 4 }), tie('any'), { maxKeys: 4 })),
    })).any;
    const options = fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 });
    const payload = fc.oneof(
      fc.tuple(fc.array(value, { maxLength: 4 })),
      fc.tuple(fc.array(value, { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 4 }), value, { maxKeys: 4 })),
    );
    fc.assert(fc.property(options, fc.webSegment(), payload, (opts, procedure, tail) => {
      const text = json.encode([48, 1, opts, `p.${procedure}`, ...tail]) as string;
      const call = receivedCall(text);
      expect(passedOn(call)).to.deep.equal(reencoded(call));
    }), { numRuns: 300 });
  });
});

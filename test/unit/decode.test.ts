import { expect } from 'chai';
import { decodeClientMessage } from '../../router/protocol/decode.js';
import { encodeMessage } from '../../router/protocol/encode.js';
import { ProtocolViolation } from '../../router/protocol/errors.js';
import { MessageType, type RouterMessage } from '../../router/protocol/messages.js';

/**
 * The decoder is the only gate between the wire and the router (wamp-spec §1, §2.6, §3;
 * reliability §2.12 items 11 and 21). Every malformed case must surface as a ProtocolViolation —
 * never a TypeError, never a typed message.
 */

const MAX_ID = 2 ** 53;

/** The smallest valid message of every type a client may send, with its arity range. */
const CLIENT_MESSAGES: { name: string; base: unknown[]; max: number; payloadAt?: number }[] = [
  { name: 'HELLO', base: [1, 'realm1', { roles: { caller: {} } }], max: 3 },
  { name: 'ABORT', base: [3, {}, 'wamp.close.normal'], max: 5, payloadAt: 3 },
  { name: 'AUTHENTICATE', base: [5, 'signature', {}], max: 3 },
  { name: 'GOODBYE', base: [6, {}, 'wamp.close.normal'], max: 3 },
  { name: 'ERROR', base: [8, 68, 1, {}, 'com.example.error'], max: 7, payloadAt: 5 },
  { name: 'PUBLISH', base: [16, 1, {}, 'com.example.topic'], max: 6, payloadAt: 4 },
  { name: 'SUBSCRIBE', base: [32, 1, {}, 'com.example.topic'], max: 4 },
  { name: 'UNSUBSCRIBE', base: [34, 1, 2], max: 3 },
  { name: 'CALL', base: [48, 1, {}, 'com.example.proc'], max: 6, payloadAt: 4 },
  { name: 'CANCEL', base: [49, 1, {}], max: 3 },
  { name: 'REGISTER', base: [64, 1, {}, 'com.example.proc'], max: 4 },
  { name: 'UNREGISTER', base: [66, 1, 2], max: 3 },
  { name: 'YIELD', base: [70, 1, {}], max: 5, payloadAt: 3 },
];

/** The longest valid form: base plus `[]` Arguments and `{}` ArgumentsKw where allowed. */
function longest(entry: (typeof CLIENT_MESSAGES)[number]): unknown[] {
  const out = [...entry.base];
  if (out.length < entry.max) out.push([]);
  if (out.length < entry.max) out.push({});
  return out;
}

/** `message` with element `index` replaced by `value`. */
function withAt(message: unknown[], index: number, value: unknown): unknown[] {
  const out = [...message];
  out[index] = value;
  return out;
}

const show = (value: unknown): string => {
  if (typeof value === 'bigint') return `${value}n`;
  if (Buffer.isBuffer(value)) return `Buffer<${value.toString('hex')}>`;
  if (value instanceof Map) return 'Map{}';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? `Buffer<${v.toString('hex')}>` : v));
  } catch {
    return String(value);
  }
};

interface BadCase { what: string; input: unknown }

const malformed: BadCase[] = [];
const bad = (what: string, input: unknown) => malformed.push({ what, input });

// ---- not a list / empty / bad type code ----
for (const input of [null, undefined, 'hello', 1, true, {}, { 0: 1, length: 1 }, Buffer.from([0x91, 0x01]), new Map([[0, 1]])]) {
  bad(`non-list ${show(input)}`, input);
}
bad('empty list', []);
for (const code of ['1', '48', 1.5, null, true, [1], {}, Number.NaN, 48n]) bad(`non-integer type code ${show(code)}`, [code, 1, {}, 'a.b']);
for (const code of [7, 99, 0, -1, 9, 15, 71, 255, 256, 337, 1024]) bad(`unknown type code ${code}`, [code, 1, {}, 'a.b']);

// ---- router→client messages arriving from a client (wamp-spec §2.6) ----
const ROUTER_ONLY: [string, unknown[]][] = [
  ['WELCOME', [2, 1, { roles: { broker: {} } }]],
  ['CHALLENGE', [4, 'wampcra', {}]],
  ['PUBLISHED', [17, 1, 2]],
  ['SUBSCRIBED', [33, 1, 2]],
  ['UNSUBSCRIBED', [35, 1]],
  ['EVENT', [36, 1, 2, {}]],
  ['RESULT', [50, 1, {}]],
  ['RESULT with args', [50, 1, {}, [1]]],
  ['REGISTERED', [65, 1, 2]],
  ['UNREGISTERED', [67, 1]],
  ['INVOCATION', [68, 1, 2, {}]],
  ['INTERRUPT', [69, 1, {}]],
];
for (const [name, message] of ROUTER_ONLY) bad(`router-only ${name} (${message[0]}) from a client`, message);

// ---- wrong arity, for every client message type ----
for (const entry of CLIENT_MESSAGES) {
  bad(`${entry.name} with one element too few`, entry.base.slice(0, -1));
  bad(`${entry.name} with one element too many`, [...longest(entry), []]);
  bad(`${entry.name} with only its type code`, [entry.base[0]]);
}

// ---- wrong element types ----
const hello = CLIENT_MESSAGES[0]!.base;
for (const realm of [1, null, ['realm1'], { realm: 'realm1' }, Buffer.from('realm1')]) bad(`HELLO.Realm ${show(realm)}`, withAt(hello, 1, realm));
for (const details of [[], [{ roles: {} }], 'details', null, 0, Buffer.from('{}'), new Map([['roles', {}]]), new Uint8Array(2)]) {
  bad(`HELLO.Details ${show(details)}`, withAt(hello, 2, details));
}
bad('ABORT.Details list', [3, [], 'wamp.close.normal']);
bad('ABORT.Reason number', [3, {}, 42]);
bad('AUTHENTICATE.Signature number', [5, 1234, {}]);
bad('AUTHENTICATE.Signature Buffer', [5, Buffer.from('sig'), {}]);
bad('AUTHENTICATE.Extra list', [5, 'signature', []]);
bad('GOODBYE.Details list', [6, [], 'wamp.close.normal']);
bad('GOODBYE.Details Buffer', [6, Buffer.from('{}'), 'wamp.close.normal']);
bad('GOODBYE.Reason null', [6, {}, null]);
bad('ERROR.Request string', [8, 68, '1', {}, 'com.example.error']);
bad('ERROR.Details list', [8, 68, 1, [], 'com.example.error']);
bad('ERROR.Error number', [8, 68, 1, {}, 7]);
bad('ERROR.Arguments dict', [8, 68, 1, {}, 'com.example.error', { a: 1 }]);
bad('ERROR.ArgumentsKw list', [8, 68, 1, {}, 'com.example.error', [], [1]]);
bad('PUBLISH.Request string', [16, '1', {}, 'com.example.topic']);
bad('PUBLISH.Options list', [16, 1, [], 'com.example.topic']);
bad('PUBLISH.Options null', [16, 1, null, 'com.example.topic']);
bad('PUBLISH.Topic number', [16, 1, {}, 5]);
bad('PUBLISH.Topic list', [16, 1, {}, ['com', 'example']]);
bad('PUBLISH.Arguments dict', [16, 1, {}, 'com.example.topic', { a: 1 }]);
bad('PUBLISH.Arguments string', [16, 1, {}, 'com.example.topic', 'args']);
bad('PUBLISH.Arguments null', [16, 1, {}, 'com.example.topic', null]);
bad('PUBLISH.Arguments Buffer', [16, 1, {}, 'com.example.topic', Buffer.from([1, 2])]);
bad('PUBLISH.ArgumentsKw list', [16, 1, {}, 'com.example.topic', [], [1, 2]]);
bad('PUBLISH.ArgumentsKw Buffer', [16, 1, {}, 'com.example.topic', [], Buffer.from('{}')]);
bad('PUBLISH.ArgumentsKw string', [16, 1, {}, 'com.example.topic', [], 'kw']);
bad('SUBSCRIBE.Request string', [32, '1', {}, 'com.example.topic']);
bad('SUBSCRIBE.Options Buffer', [32, 1, Buffer.from('{}'), 'com.example.topic']);
bad('SUBSCRIBE.Options list', [32, 1, [], 'com.example.topic']);
bad('SUBSCRIBE.Topic null', [32, 1, {}, null]);
bad('SUBSCRIBE.Topic dict', [32, 1, {}, { uri: 'com.example.topic' }]);
bad('UNSUBSCRIBE.Subscription string', [34, 1, '2']);
bad('UNSUBSCRIBE.Subscription dict', [34, 1, { id: 2 }]);
bad('CALL.Request string', [48, '1', {}, 'com.example.proc']);
bad('CALL.Options null', [48, 1, null, 'com.example.proc']);
bad('CALL.Options list', [48, 1, [], 'com.example.proc']);
bad('CALL.Procedure list', [48, 1, {}, ['com.example.proc']]);
bad('CALL.Procedure number', [48, 1, {}, 48]);
bad('CALL.Arguments dict', [48, 1, {}, 'com.example.proc', { a: 1 }]);
bad('CALL.ArgumentsKw list', [48, 1, {}, 'com.example.proc', [], [1]]);
bad('CALL.ArgumentsKw Buffer', [48, 1, {}, 'com.example.proc', [], Buffer.from('{}')]);
bad('CALL.ArgumentsKw Map', [48, 1, {}, 'com.example.proc', [], new Map([['a', 1]])]);
bad('CANCEL.Options list', [49, 1, []]);
bad('CANCEL.Request string', [49, '1', {}]);
bad('REGISTER.Procedure dict', [64, 1, {}, {}]);
bad('REGISTER.Procedure Buffer', [64, 1, {}, Buffer.from('com.example.proc')]);
bad('REGISTER.Options string', [64, 1, 'options', 'com.example.proc']);
bad('UNREGISTER.Registration string', [66, 1, '2']);
bad('UNREGISTER.Registration list', [66, 1, [2]]);
bad('YIELD.Request string', [70, '1', {}]);
bad('YIELD.Options list', [70, 1, []]);
bad('YIELD.Arguments dict', [70, 1, {}, { a: 1 }]);
bad('YIELD.ArgumentsKw string', [70, 1, {}, [], 'kw']);
bad('YIELD.ArgumentsKw list', [70, 1, {}, [], []]);
// The layout gives ABORT optional Arguments|list and ArgumentsKw|dict too (wamp-spec §1.2).
bad('ABORT.Arguments dict', [3, {}, 'wamp.close.normal', { a: 1 }]);
bad('ABORT.ArgumentsKw list', [3, {}, 'wamp.close.normal', [], [1]]);

// ---- ID ranges (wamp-spec §3): integers in [1, 2^53] ----
// Note: the literal 2 ** 53 + 1 is not representable as a JS number (it rounds to 2 ** 53), so
// "2^53 + 1" is tested as a BigInt, and the next representable number above 2^53 is 2^53 + 2.
const BAD_IDS: unknown[] = [0, -1, 1.5, -0.5, 2 ** 53 + 2, 2 ** 60, 2n ** 53n + 1n, 1n, Number.NaN, Infinity, -Infinity, '1', true, null, [1]];
const ID_POSITIONS: [string, unknown[], number][] = [
  ['CALL.Request', [48, 1, {}, 'com.example.proc'], 1],
  ['PUBLISH.Request', [16, 1, {}, 'com.example.topic'], 1],
  ['SUBSCRIBE.Request', [32, 1, {}, 'com.example.topic'], 1],
  ['REGISTER.Request', [64, 1, {}, 'com.example.proc'], 1],
  ['UNSUBSCRIBE.Request', [34, 1, 2], 1],
  ['UNSUBSCRIBE.Subscription', [34, 1, 2], 2],
  ['UNREGISTER.Request', [66, 1, 2], 1],
  ['UNREGISTER.Registration', [66, 1, 2], 2],
  ['CANCEL.Request', [49, 1, {}], 1],
  ['YIELD.Request', [70, 1, {}], 1],
  ['ERROR.Request', [8, 68, 1, {}, 'com.example.error'], 2],
];
for (const [field, message, index] of ID_POSITIONS) {
  for (const value of BAD_IDS) bad(`${field} = ${show(value)}`, withAt(message, index, value));
}

// ---- ERROR from a client answers an INVOCATION (68) and nothing else (wamp-spec §1.2) ----
for (const requestType of [16, 32, 34, 48, 64, 66, 8, 0, 1, 69, 70, '68', null, 68.5]) {
  bad(`ERROR with REQUEST.Type ${show(requestType)}`, [8, requestType, 1, {}, 'com.example.error']);
}

describe('protocol/decode: malformed client messages are protocol violations', () => {
  it('the malformed table is large enough to mean something', () => {
    expect(malformed.length).to.be.greaterThan(200);
  });

  for (const { what, input } of malformed) {
    it(`rejects ${what}`, () => {
      let thrown: unknown;
      let decoded: unknown;
      try {
        decoded = decodeClientMessage(input);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, `decoded to ${show(decoded)} instead of throwing`).to.be.instanceOf(ProtocolViolation);
      expect((thrown as Error).message).to.be.a('string').and.not.equal('');
    });
  }
});

interface GoodCase { what: string; input: unknown[]; expected: Record<string, unknown> }

const valid: GoodCase[] = [
  {
    what: 'HELLO',
    input: [1, 'realm1', { roles: { caller: {}, callee: { features: { call_canceling: true } } }, authmethods: ['anonymous'] }],
    expected: { type: 1, realm: 'realm1', details: { roles: { caller: {}, callee: { features: { call_canceling: true } } }, authmethods: ['anonymous'] } },
  },
  {
    what: 'HELLO with an unknown Details key (ignored, kept)',
    input: [1, 'realm1', { roles: { publisher: {} }, x_custom: 1 }],
    expected: { type: 1, realm: 'realm1', details: { roles: { publisher: {} }, x_custom: 1 } },
  },
  { what: 'ABORT', input: [3, { message: 'bye' }, 'wamp.error.cannot_authenticate'], expected: { type: 3, details: { message: 'bye' }, reason: 'wamp.error.cannot_authenticate' } },
  { what: 'ABORT with Arguments', input: [3, {}, 'wamp.close.normal', ['why']], expected: { type: 3, details: {}, reason: 'wamp.close.normal' } },
  { what: 'AUTHENTICATE', input: [5, 'c2lnbmF0dXJl', { a: 1 }], expected: { type: 5, signature: 'c2lnbmF0dXJl', extra: { a: 1 } } },
  { what: 'GOODBYE', input: [6, {}, 'wamp.close.normal'], expected: { type: 6, details: {}, reason: 'wamp.close.normal' } },
  {
    what: 'ERROR (INVOCATION) without payload',
    input: [8, 68, 5, {}, 'com.example.error'],
    expected: { type: 8, requestType: 68, request: 5, details: {}, error: 'com.example.error' },
  },
  {
    what: 'ERROR (INVOCATION) with Arguments',
    input: [8, 68, 5, {}, 'com.example.error', ['bad']],
    expected: { type: 8, requestType: 68, request: 5, details: {}, error: 'com.example.error', args: ['bad'] },
  },
  {
    what: 'ERROR (INVOCATION) with Arguments and ArgumentsKw',
    input: [8, 68, 5, {}, 'com.example.error', [], { code: 7 }],
    expected: { type: 8, requestType: 68, request: 5, details: {}, error: 'com.example.error', args: [], kwargs: { code: 7 } },
  },
  {
    what: 'PUBLISH without payload',
    input: [16, 1, { acknowledge: true }, 'com.example.topic'],
    expected: { type: 16, request: 1, options: { acknowledge: true }, topic: 'com.example.topic' },
  },
  {
    what: 'PUBLISH with Arguments',
    input: [16, 2, {}, 'com.example.topic', [1, 'two', { three: [3] }]],
    expected: { type: 16, request: 2, options: {}, topic: 'com.example.topic', args: [1, 'two', { three: [3] }] },
  },
  {
    what: 'PUBLISH with Arguments and ArgumentsKw',
    input: [16, 3, {}, 'com.example.topic', [1], { a: { b: [null] } }],
    expected: { type: 16, request: 3, options: {}, topic: 'com.example.topic', args: [1], kwargs: { a: { b: [null] } } },
  },
  {
    what: 'PUBLISH with binary in Arguments and ArgumentsKw',
    input: [16, 4, {}, 'com.example.topic', [Buffer.from([1, 2])], { bin: new Uint8Array([3]) }],
    expected: { type: 16, request: 4, options: {}, topic: 'com.example.topic', args: [Buffer.from([1, 2])], kwargs: { bin: new Uint8Array([3]) } },
  },
  {
    what: 'SUBSCRIBE',
    input: [32, 713845233, {}, 'com.myapp.mytopic1'],
    expected: { type: 32, request: 713845233, options: {}, topic: 'com.myapp.mytopic1' },
  },
  {
    what: 'SUBSCRIBE with a syntactically invalid URI (URI syntax is checked later, answered with ERROR)',
    input: [32, 1, { match: 'prefix' }, 'a..b'],
    expected: { type: 32, request: 1, options: { match: 'prefix' }, topic: 'a..b' },
  },
  { what: 'UNSUBSCRIBE', input: [34, 2, 5512315355], expected: { type: 34, request: 2, subscription: 5512315355 } },
  {
    what: 'CALL without payload',
    input: [48, 7814135, {}, 'com.myapp.ping'],
    expected: { type: 48, request: 7814135, options: {}, procedure: 'com.myapp.ping' },
  },
  {
    what: 'CALL with Arguments',
    input: [48, 1, { timeout: 1000 }, 'com.myapp.add', [2, 3]],
    expected: { type: 48, request: 1, options: { timeout: 1000 }, procedure: 'com.myapp.add', args: [2, 3] },
  },
  {
    what: 'CALL with empty Arguments and ArgumentsKw',
    input: [48, 1, {}, 'com.myapp.add', [], { a: 2, b: 3 }],
    expected: { type: 48, request: 1, options: {}, procedure: 'com.myapp.add', args: [], kwargs: { a: 2, b: 3 } },
  },
  { what: 'CALL with request ID 1 (lowest)', input: [48, 1, {}, 'a.b'], expected: { type: 48, request: 1, options: {}, procedure: 'a.b' } },
  { what: 'CALL with request ID 2^53 (highest, valid)', input: [48, MAX_ID, {}, 'a.b'], expected: { type: 48, request: MAX_ID, options: {}, procedure: 'a.b' } },
  { what: 'CANCEL', input: [49, 3, { mode: 'kill' }], expected: { type: 49, request: 3, options: { mode: 'kill' } } },
  {
    what: 'REGISTER',
    input: [64, 4, { match: 'prefix', invoke: 'roundrobin' }, 'com.myapp.'],
    expected: { type: 64, request: 4, options: { match: 'prefix', invoke: 'roundrobin' }, procedure: 'com.myapp.' },
  },
  { what: 'UNREGISTER', input: [66, 5, MAX_ID], expected: { type: 66, request: 5, registration: MAX_ID } },
  { what: 'YIELD without payload', input: [70, 6, {}], expected: { type: 70, request: 6, options: {} } },
  { what: 'YIELD with Arguments', input: [70, 6, { progress: true }, ['partial']], expected: { type: 70, request: 6, options: { progress: true }, args: ['partial'] } },
  {
    what: 'YIELD with Arguments and ArgumentsKw',
    input: [70, 6, {}, [], { result: 42 }],
    expected: { type: 70, request: 6, options: {}, args: [], kwargs: { result: 42 } },
  },
];

describe('protocol/decode: well-formed client messages', () => {
  for (const { what, input, expected } of valid) {
    it(`decodes ${what}`, () => {
      const decoded = decodeClientMessage(input) as unknown as Record<string, unknown>;
      expect(decoded).to.deep.equal(expected);
      // Absent payload means absent keys, not keys holding undefined.
      if (!('args' in expected)) expect(decoded).not.to.have.property('args');
      if (!('kwargs' in expected)) expect(decoded).not.to.have.property('kwargs');
    });
  }

  it('accepts every client type code at its minimum and maximum arity', () => {
    for (const entry of CLIENT_MESSAGES) {
      expect(decodeClientMessage(entry.base).type, `${entry.name} min`).to.equal(entry.base[0]);
      expect(decodeClientMessage(longest(entry)).type, `${entry.name} max`).to.equal(entry.base[0]);
    }
  });

  it('does not modify the array it decodes', () => {
    const input = [48, 9, { timeout: 5 }, 'com.myapp.add', [1], { k: 'v' }];
    const copy = structuredClone(input);
    decodeClientMessage(input);
    expect(input).to.deep.equal(copy);
  });
});

describe('protocol/encode: router messages on the wire', () => {
  it('ABORT has exactly 3 elements', () => {
    const wire = encodeMessage({ type: MessageType.ABORT, details: { message: 'no' }, reason: 'wamp.error.no_such_realm' });
    expect(wire).to.deep.equal([3, { message: 'no' }, 'wamp.error.no_such_realm']);
  });

  it('ABORT stays at 3 elements even if a payload is attached to the object', () => {
    const abort = { type: MessageType.ABORT, details: {}, reason: 'wamp.error.protocol_violation', args: ['text'], kwargs: { a: 1 } };
    expect(encodeMessage(abort as unknown as RouterMessage)).to.deep.equal([3, {}, 'wamp.error.protocol_violation']);
  });

  it('GOODBYE has exactly 3 elements', () => {
    expect(encodeMessage({ type: MessageType.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' }))
      .to.deep.equal([6, {}, 'wamp.close.goodbye_and_out']);
    const goodbye = { type: MessageType.GOODBYE, details: { message: 'm' }, reason: 'wamp.close.system_shutdown', args: ['x'] };
    expect(encodeMessage(goodbye as unknown as RouterMessage)).to.deep.equal([6, { message: 'm' }, 'wamp.close.system_shutdown']);
  });

  it('WELCOME, CHALLENGE, PUBLISHED, SUBSCRIBED, REGISTERED, INTERRUPT have their fixed layouts', () => {
    expect(encodeMessage({ type: MessageType.WELCOME, session: MAX_ID, details: { roles: { broker: {} } } }))
      .to.deep.equal([2, MAX_ID, { roles: { broker: {} } }]);
    expect(encodeMessage({ type: MessageType.CHALLENGE, authmethod: 'wampcra', extra: { challenge: 'c' } }))
      .to.deep.equal([4, 'wampcra', { challenge: 'c' }]);
    expect(encodeMessage({ type: MessageType.PUBLISHED, request: 1, publication: 2 })).to.deep.equal([17, 1, 2]);
    expect(encodeMessage({ type: MessageType.SUBSCRIBED, request: 3, subscription: 4 })).to.deep.equal([33, 3, 4]);
    expect(encodeMessage({ type: MessageType.REGISTERED, request: 5, registration: 6 })).to.deep.equal([65, 5, 6]);
    expect(encodeMessage({ type: MessageType.INTERRUPT, request: 7, options: { mode: 'killnowait' } }))
      .to.deep.equal([69, 7, { mode: 'killnowait' }]);
  });

  it('UNSUBSCRIBED and UNREGISTERED: 2 elements normally, 3 in the revocation form', () => {
    expect(encodeMessage({ type: MessageType.UNSUBSCRIBED, request: 8 })).to.deep.equal([35, 8]);
    expect(encodeMessage({ type: MessageType.UNSUBSCRIBED, request: 0, details: { subscription: 9, reason: 'r' } }))
      .to.deep.equal([35, 0, { subscription: 9, reason: 'r' }]);
    expect(encodeMessage({ type: MessageType.UNREGISTERED, request: 10 })).to.deep.equal([67, 10]);
    expect(encodeMessage({ type: MessageType.UNREGISTERED, request: 0, details: { registration: 11 } }))
      .to.deep.equal([67, 0, { registration: 11 }]);
  });

  // Each payload-carrying router message, by its fixed head.
  const heads: [string, (p: { args?: unknown[]; kwargs?: Record<string, unknown> }) => RouterMessage, unknown[]][] = [
    ['RESULT', (p) => ({ type: MessageType.RESULT, request: 7, details: {}, ...p }), [50, 7, {}]],
    ['EVENT', (p) => ({ type: MessageType.EVENT, subscription: 1, publication: 2, details: {}, ...p }), [36, 1, 2, {}]],
    ['INVOCATION', (p) => ({ type: MessageType.INVOCATION, request: 3, registration: 4, details: {}, ...p }), [68, 3, 4, {}]],
    ['ERROR', (p) => ({ type: MessageType.ERROR, requestType: 48, request: 5, details: {}, error: 'com.e', ...p }), [8, 48, 5, {}, 'com.e']],
  ];
  for (const [name, make, head] of heads) {
    it(`${name}: payload omitted when absent`, () => {
      expect(encodeMessage(make({}))).to.deep.equal(head);
      expect(encodeMessage(make({ args: undefined, kwargs: undefined }))).to.deep.equal(head);
    });
    it(`${name}: Arguments alone`, () => {
      expect(encodeMessage(make({ args: [1, 'a'] }))).to.deep.equal([...head, [1, 'a']]);
    });
    it(`${name}: Arguments and ArgumentsKw`, () => {
      expect(encodeMessage(make({ args: [1], kwargs: { k: 'v' } }))).to.deep.equal([...head, [1], { k: 'v' }]);
    });
    it(`${name}: an empty ArgumentsKw is omitted`, () => {
      expect(encodeMessage(make({ args: [1], kwargs: {} }))).to.deep.equal([...head, [1]]);
      expect(encodeMessage(make({ kwargs: {} }))).to.deep.equal(head);
    });
    it(`${name}: ArgumentsKw without Arguments forces Arguments []`, () => {
      expect(encodeMessage(make({ kwargs: { k: 1 } }))).to.deep.equal([...head, [], { k: 1 }]);
    });
  }
});

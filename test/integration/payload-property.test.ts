import { expect } from 'chai';
import fc from 'fast-check';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRouter, type TestRouter } from '../helpers/router.js';

/**
 * Issue 13.3, over real sockets: arbitrary payloads (nested, binary, big and small integers,
 * floats, unicode, empty containers) sent by a client of one serializer to a client of another,
 * for every pair, through CALL, YIELD, ERROR, PUBLISH and a meta API call. Each message is answered
 * or delivered, or refused exactly as the issue says: a CALL whose INVOCATION the callee's
 * serializer cannot carry gets wamp.error.invalid_argument and the callee is not invoked, a RESULT
 * or ERROR the caller cannot take becomes invalid_argument, a subscriber that cannot take an
 * event is skipped while the publisher still gets PUBLISHED.
 *
 * The oracle below (what each serializer can carry, and what a receiver then decodes) is written
 * from the serializers' specifications, not from the router's code.
 */

const NAMES: SerializerName[] = ['json', 'msgpack', 'cbor'];
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const RUNS_PER_PAIR = 40;

/** Whether `target` can carry every value in `value`. */
function carries(value: unknown, target: SerializerName): boolean {
  if (typeof value === 'bigint') return target !== 'msgpack' || (value >= INT64_MIN && value <= UINT64_MAX);
  if (typeof value === 'number') return target !== 'json' || Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => carries(v, target));
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) return Object.values(value).every((v) => carries(v, target));
  return true;
}

/**
 * A value as a receiver on `target` decodes it: JSON has no -0 and its parser rounds integers beyond
 * 2^53 to the nearest double; msgpack and CBOR give integers beyond 2^53 as BigInt and safe ones as
 * numbers. Binary stays bytes everywhere (JSON uses WAMP's "\0" + base64 string convention).
 */
function received(value: unknown, target: SerializerName): unknown {
  if (typeof value === 'bigint') {
    if (target === 'json') return Number(value);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (typeof value === 'number') return target === 'json' && Object.is(value, -0) ? 0 : value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (Array.isArray(value)) return value.map((v) => received(v, target));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, received(v, target)]));
  return value;
}

/** Compares decoded payloads: numbers by Object.is (NaN equals NaN), bytes by content. */
function same(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'number') return typeof actual === 'number' && (Object.is(actual, expected) || (actual === expected));
  if (typeof expected === 'bigint') return actual === expected;
  if (expected instanceof Uint8Array) return actual instanceof Uint8Array && Buffer.compare(Buffer.from(actual), Buffer.from(expected)) === 0;
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((v, i) => same(actual[i], v));
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const keys = Object.keys(expected);
    return Object.keys(actual).length === keys.length && keys.every((k) => Object.hasOwn(actual, k) && same((actual as any)[k], (expected as any)[k]));
  }
  return actual === expected;
}

/** Payload values a client of `source` can send exactly. */
function payloads(source: SerializerName): fc.Arbitrary<unknown[]> {
  const integers = source === 'json'
    ? fc.maxSafeInteger()
    : source === 'msgpack' ? fc.bigInt({ min: INT64_MIN, max: UINT64_MAX }) : fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n });
  const leaf = fc.oneof(
    fc.constant(null), fc.boolean(), fc.integer(), integers,
    fc.double(source === 'json' ? { noNaN: true, noDefaultInfinity: true } : {}),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)),
  );
  const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
    tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('tree'), { maxLength: 4 }),
      fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), tie('tree'), { maxKeys: 4 })),
  }));
  return fc.array(tree, { maxLength: 4 });
}

/** Edge cases every run starts with: empty and big containers, and the values some targets cannot carry. */
function examplesFor(source: SerializerName): [unknown[]][] {
  const common: unknown[][] = [[], [[], {}], [Array.from({ length: 20_000 }, (_, i) => i % 7)], [-0, 0.5, 'ü€😀', Buffer.from([0, 255])]];
  const binaryOnly: unknown[][] = [[Number.NaN], [Number.POSITIVE_INFINITY], [{ deep: [Number.NEGATIVE_INFINITY] }], [2n ** 63n, -(2n ** 63n)]];
  const cborOnly: unknown[][] = [[2n ** 70n], [{ n: -(2n ** 64n) - 5n }]];
  const all = [...common, ...(source === 'json' ? [] : binaryOnly), ...(source === 'cbor' ? cborOnly : [])];
  return all.map((payload) => [payload]);
}

describe('arbitrary payloads across every pair of serializers, over sockets (issue 13.3)', function () {
  this.timeout(120_000);
  let tr: TestRouter;
  const clients = new Map<SerializerName, { caller: RawClient; callee: RawClient }>();

  before(async () => {
    tr = await startRouter({
      realms: [{
        name: 'realm1',
        roles: [{ name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }] }],
        auth: { anonymous: { role: 'anonymous' } },
      }],
    });
    for (const name of NAMES) {
      const caller = (await RawClient.joined(tr.url, name)).client;
      const callee = (await RawClient.joined(tr.url, name)).client;
      callee.send([64, 1, {}, `prop.call.${name}`]);
      callee.send([64, 2, {}, `prop.error.${name}`]);
      callee.send([32, 3, {}, `prop.topic.${name}`]);
      for (let i = 0; i < 3; i++) expect((await callee.next())[0]).to.be.oneOf([65, 33]);
      clients.set(name, { caller, callee });
    }
  });
  after(async () => {
    for (const { caller, callee } of clients.values()) {
      caller.close();
      callee.close();
    }
    await tr?.stop();
  });

  let request = 100;

  /** CALL from `a` to the callee on `b`, which answers with what it got (as RESULT, or as ERROR). */
  async function roundTrip(a: SerializerName, b: SerializerName, payload: unknown[], asError: boolean): Promise<void> {
    const { caller } = clients.get(a)!;
    const { callee } = clients.get(b)!;
    const id = ++request;
    caller.send([48, id, {}, `prop.${asError ? 'error' : 'call'}.${b}`, payload]);
    if (!carries(payload, b)) {
      const refusal = await caller.next(3000);
      expect(refusal.slice(0, 5), 'a CALL the callee cannot take').to.deep.equal([8, 48, id, refusal[3], 'wamp.error.invalid_argument']);
      return;
    }
    const invocation = await callee.next(3000);
    expect(invocation[0], 'INVOCATION').to.equal(68);
    const got = (invocation[4] ?? []) as unknown[];
    expect(same(got, received(payload, b)), `INVOCATION args ${a}->${b}`).to.equal(true);
    callee.send(asError ? [8, 68, invocation[1], {}, 'app.error.echo', got] : [70, invocation[1], {}, got]);
    const answer = await caller.next(3000);
    if (!carries(got, a)) {
      expect(answer.slice(0, 5), 'an answer the caller cannot take').to.deep.equal([8, 48, id, answer[3], 'wamp.error.invalid_argument']);
      return;
    }
    const back = (asError ? answer[5] : answer[3]) ?? [];
    expect(answer[0], asError ? 'ERROR' : 'RESULT').to.equal(asError ? 8 : 50);
    if (asError) expect(answer[4]).to.equal('app.error.echo');
    expect(same(back, received(got, a)), `${asError ? 'ERROR' : 'RESULT'} args ${b}->${a}`).to.equal(true);
  }

  /** Acknowledged PUBLISH from `a`; the subscriber on `b` gets it or is skipped, then a marker event. */
  async function publish(a: SerializerName, b: SerializerName, payload: unknown[]): Promise<void> {
    const { caller } = clients.get(a)!;
    const { callee } = clients.get(b)!;
    const id = ++request;
    caller.send([16, id, { acknowledge: true }, `prop.topic.${b}`, payload]);
    expect((await caller.next(3000)).slice(0, 2), 'PUBLISHED').to.deep.equal([17, id]);
    caller.send([16, ++request, {}, `prop.topic.${b}`, ['marker']]);
    const first = await callee.next(3000);
    if (carries(payload, b)) {
      expect(first[0]).to.equal(36);
      expect(same(first[4] ?? [], received(payload, b)), `EVENT args ${a}->${b}`).to.equal(true);
      expect((await callee.next(3000))[4]).to.deep.equal(['marker']);
    } else {
      expect(first[4], 'the subscriber that cannot take the event is skipped').to.deep.equal(['marker']);
    }
  }

  /** A meta API call with the payload as arguments: answered (RESULT or ERROR), whatever it holds. */
  async function meta(a: SerializerName, payload: unknown[]): Promise<void> {
    const { caller } = clients.get(a)!;
    const id = ++request;
    caller.send([48, id, {}, 'wamp.session.count', payload]);
    const answer = await caller.next(3000);
    expect(answer[0] === 50 ? answer[1] : answer[2], 'the meta call is answered').to.equal(id);
  }

  for (const a of NAMES) {
    for (const b of NAMES) {
      it(`${a} -> ${b}: CALL, YIELD, ERROR, PUBLISH and a meta call are answered, delivered or refused as specified`, async () => {
        await fc.assert(
          fc.asyncProperty(payloads(a), async (payload) => {
            await roundTrip(a, b, payload, false);
            await roundTrip(a, b, payload, true);
            await publish(a, b, payload);
            await meta(a, payload);
          }),
          { numRuns: RUNS_PER_PAIR, examples: examplesFor(a) },
        );
      });
    }
  }
});

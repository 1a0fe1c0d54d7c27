import { expect } from 'chai';
import fc from 'fast-check';
import { validateConfig, ConfigError } from '../../router/config.js';
import { SERIALIZERS } from '../../router/serializer/registry.js';
import type { SerializerName } from '../../router/serializer/serializer.js';
import { livenessProbe } from '../helpers/liveness.js';
import { DEFAULT_ROLES, RawClient } from '../helpers/raw-client.js';
import { frame, FrameType, handshakeBytes, RawSocketClient } from '../helpers/rawsocket-client.js';
import { ALLOW_ALL, startRouter, type TestRouter } from '../helpers/router.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

/**
 * Reliability §2.12 item 11: malformed input never crashes the router. Structural violations get
 * ABORT `wamp.error.protocol_violation` and a close; well-formed requests with bad values get ERROR
 * and the session stays; invalid UTF-8 in a text frame closes with 1007. A table over both
 * transports and all serializers, then a fast-check fuzz run with a fixed seed over frames, WAMP
 * arrays, msgpack/cbor blobs, RawSocket bytes and configs. After every case or batch a fresh client
 * joins and calls (liveness probe), and the router never logged an internal error.
 */

const SEED = 0x5717c4;
const TOPIC = 'com.example.fuzz';
/** A request whose reply (PUBLISHED) shows the session is still up after the input under test. */
const MARKER = 424242;
const markerFor = (): unknown[] => [16, MARKER, { acknowledge: true }, TOPIC, ['marker']];

type TransportKind = 'websocket' | 'rawsocket';

/** One connection, whatever the transport: send exact bytes and read decoded replies. */
interface Wire {
  sendMessage(message: unknown[]): void;
  /** Raw payload; `binary` picks the WebSocket frame kind (ignored on RawSocket). */
  sendPayload(payload: Buffer | string, binary: boolean): void;
  next(timeoutMs?: number): Promise<unknown[]>;
  /** Resolves once closed; the WebSocket close code (undefined on RawSocket). */
  waitClosed(timeoutMs?: number): Promise<number | undefined>;
  isClosed(): boolean;
  /** Messages received and not yet taken. */
  pending(): unknown[][];
  close(): void;
}

function wsWire(client: RawClient): Wire {
  return {
    sendMessage: (m) => client.send(m),
    sendPayload: (p, binary) => client.sendRaw(p, binary),
    next: (t) => client.next(t),
    waitClosed: (t) => client.waitClosed(t),
    isClosed: () => client.closeCode !== undefined,
    pending: () => client.received,
    close: () => client.ws.terminate(),
  };
}

function rsWire(client: RawSocketClient): Wire {
  return {
    sendMessage: (m) => client.send(m),
    sendPayload: (p) => client.write(frame(FrameType.wamp, p)),
    next: (t) => client.next(t),
    waitClosed: async (t) => { await client.waitClosed(t); return undefined; },
    isClosed: () => client.closedFlag,
    pending: () => client.frames.filter((f) => f.type === FrameType.wamp).map((f) => client.serializer.decode(client.serializer.binary ? f.payload : f.payload.toString()) as unknown[]),
    close: () => client.destroy(),
  };
}

async function joinedWire(tr: TestRouter, kind: TransportKind, ser: SerializerName): Promise<Wire> {
  if (kind === 'websocket') return wsWire((await RawClient.joined(tr.url, ser)).client);
  return rsWire((await RawSocketClient.joined(tr.addresses[1]!.port, { serializer: ser })).client);
}

async function openWire(tr: TestRouter, kind: TransportKind, ser: SerializerName): Promise<Wire> {
  if (kind === 'websocket') return wsWire(await RawClient.connect(tr.url, ser));
  return rsWire(await RawSocketClient.connect(tr.addresses[1]!.port, { serializer: ser }));
}

/**
 * After the input: send the marker and wait until the session either answered it or closed.
 * Returns what happened. Anything else (no answer, no close) is a hang and fails.
 */
async function settle(wire: Wire): Promise<'alive' | 'closed'> {
  if (!wire.isClosed()) wire.sendMessage(markerFor());
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    if (wire.isClosed()) return 'closed';
    const message = await wire.next(Math.max(1, deadline - Date.now())).catch(() => undefined);
    if (!message) break;
    if (message[0] === 17 && message[1] === MARKER) return 'alive';
  }
  if (wire.isClosed()) return 'closed';
  throw new Error('the session neither answered nor closed after the input');
}

/** Before WELCOME the input must end in a close, or (for a valid HELLO) in WELCOME. */
async function settlePreAuth(wire: Wire): Promise<'closed' | 'welcomed'> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    if (wire.isClosed()) return 'closed';
    const message = await wire.next(Math.max(1, deadline - Date.now())).catch(() => undefined);
    if (message?.[0] === 2) return 'welcomed';
  }
  if (wire.isClosed()) return 'closed';
  throw new Error('the connection neither closed nor joined after a pre-auth input');
}

function internalErrors(tr: TestRouter): Record<string, unknown>[] {
  return tr.logs.filter((l) => l.event === 'session.internal_error' || l.level === 'error');
}

/** Nested lists `depth` deep, as text (JSON.parse can read it; some encoders could not write it). */
const nestedJson = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

type Expect = 'violation' | 'error' | 'alive' | 'survive' | 'close1007' | 'closed';
interface Case {
  name: string;
  /** Serializers the case applies to (default: all). */
  only?: SerializerName[];
  transports?: TransportKind[];
  /** Payload to send after WELCOME, per serializer. */
  payload(ser: SerializerName): { data: Buffer | string; binary: boolean };
  expect: Expect;
  /** For 'error': the ERROR URI. */
  uri?: string;
}

const encoded = (message: unknown) => (ser: SerializerName) => ({
  data: SERIALIZERS[ser].encode(message as unknown[]),
  binary: SERIALIZERS[ser].binary,
});

const CASES: Case[] = [
  { name: 'undecodable bytes', payload: (ser) => (ser === 'json' ? { data: '[16, 1, {', binary: false } : { data: Buffer.from([0x94, 0x10, 0x01]), binary: true }), expect: 'violation' },
  { name: 'a scalar instead of a list', payload: encoded(42), expect: 'violation' },
  { name: 'a dict instead of a list', payload: encoded({ 0: 16 }), expect: 'violation' },
  { name: 'an empty list', payload: encoded([]), expect: 'violation' },
  { name: 'unknown message code 999', payload: encoded([999, 1, {}]), expect: 'violation' },
  { name: 'negative message code', payload: encoded([-16, 1, {}, TOPIC]), expect: 'violation' },
  { name: 'SUBSCRIBE with too few elements', payload: encoded([32, 1, {}]), expect: 'violation' },
  { name: 'CALL with too many elements', payload: encoded([48, 1, {}, 'com.example.p', [], {}, 'extra']), expect: 'violation' },
  { name: 'request ID as a string', payload: encoded([32, '1', {}, TOPIC]), expect: 'violation' },
  { name: 'request ID 0', payload: encoded([32, 0, {}, TOPIC]), expect: 'violation' },
  { name: 'request ID -1', payload: encoded([32, -1, {}, TOPIC]), expect: 'violation' },
  { name: 'request ID 1.5', payload: encoded([32, 1.5, {}, TOPIC]), expect: 'violation' },
  {
    name: 'request ID 2^53 + 1',
    payload: (ser) => (ser === 'json'
      ? { data: `[32, 9007199254740993, {}, "${TOPIC}"]`, binary: false }
      : { data: SERIALIZERS[ser].encode([32, 2n ** 53n + 1n, {}, TOPIC]), binary: true }),
    expect: 'violation',
  },
  { name: 'Options as a list', payload: encoded([32, 1, [], TOPIC]), expect: 'violation' },
  { name: 'a numeric URI', payload: encoded([32, 1, {}, 42]), expect: 'violation' },
  { name: 'a null URI', payload: encoded([48, 1, {}, null]), expect: 'violation' },
  { name: 'Arguments as a string', payload: encoded([48, 1, {}, 'com.example.p', 'args']), expect: 'violation' },
  { name: 'ArgumentsKw as a list', payload: encoded([16, 1, {}, TOPIC, [], [1, 2]]), expect: 'violation' },
  { name: 'HELLO after WELCOME', payload: encoded([1, 'realm1', { roles: DEFAULT_ROLES }]), expect: 'violation' },
  { name: 'a router-only message (EVENT)', payload: encoded([36, 1, 2, {}]), expect: 'violation' },
  { name: 'an invalid topic URI (well-formed message)', payload: encoded([32, 1, {}, 'a..b']), expect: 'error', uri: 'wamp.error.invalid_uri' },
  { name: 'an unknown match policy', payload: encoded([32, 1, { match: 'regex' }, 'com.example']), expect: 'error', uri: 'wamp.error.invalid_argument' },
  { name: 'a call to a procedure nobody registered', payload: encoded([48, 1, {}, 'com.example.nobody']), expect: 'error', uri: 'wamp.error.no_such_procedure' },
  { name: 'a YIELD for an invocation that does not exist', payload: encoded([70, 77, {}]), expect: 'survive' },
  { name: 'PUBLISH with 100,000 arguments', payload: encoded([16, 1, { acknowledge: true }, TOPIC, Array.from({ length: 100_000 }, (_, i) => i)]), expect: 'alive' },
  { name: 'PUBLISH with deeply nested arguments (JSON, 5,000 levels)', only: ['json'], payload: () => ({ data: `[16, 1, {"acknowledge": true}, "${TOPIC}", [${nestedJson(5000)}]]`, binary: false }), expect: 'survive' },
  {
    name: 'PUBLISH with deeply nested arguments (msgpack, 5,000 levels)',
    only: ['msgpack'],
    payload: () => ({ data: Buffer.concat([Buffer.from([0x95, 0x10, 0x01, 0x81, 0xab]), Buffer.from('acknowledge'), Buffer.from([0xc3, 0xb0]), Buffer.from(TOPIC), Buffer.alloc(5000, 0x91), Buffer.from([0x90])]), binary: true }),
    expect: 'survive',
  },
  {
    name: 'PUBLISH with deeply nested arguments (cbor, 5,000 levels)',
    only: ['cbor'],
    payload: () => ({ data: Buffer.concat([Buffer.from([0x85, 0x10, 0x01, 0xa1, 0x6b]), Buffer.from('acknowledge'), Buffer.from([0xf5, 0x70]), Buffer.from(TOPIC), Buffer.alloc(5000, 0x81), Buffer.from([0x80])]), binary: true }),
    expect: 'survive',
  },
  // ext type 0x42 with 4 bytes of data, as the argument of a PUBLISH.
  { name: 'a msgpack ext type in the arguments', only: ['msgpack'], payload: () => ({ data: Buffer.concat([Buffer.from([0x95, 0x10, 0x01, 0x80, 0xb0]), Buffer.from(TOPIC), Buffer.from([0x91, 0xd6, 0x42, 1, 2, 3, 4])]), binary: true }), expect: 'survive' },
  { name: 'a msgpack ext type as the message', only: ['msgpack'], payload: () => ({ data: Buffer.from([0xd6, 0x42, 1, 2, 3, 4]), binary: true }), expect: 'violation' },
  { name: 'a msgpack array header claiming 2^32-1 elements', only: ['msgpack'], payload: () => ({ data: Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x10]), binary: true }), expect: 'violation' },
  { name: 'a cbor unknown tag in the arguments', only: ['cbor'], payload: () => ({ data: Buffer.concat([Buffer.from([0x85, 0x10, 0x01, 0xa0, 0x70]), Buffer.from(TOPIC), Buffer.from([0x81, 0xd9, 0x99, 0x99, 0x01])]), binary: true }), expect: 'survive' },
  { name: 'a cbor indefinite-length array that never ends', only: ['cbor'], payload: () => ({ data: Buffer.from([0x9f, 0x10, 0x01]), binary: true }), expect: 'violation' },
  { name: 'a cbor byte string claiming 2^32 bytes', only: ['cbor'], payload: () => ({ data: Buffer.from([0x5b, 0, 0, 0, 1, 0, 0, 0, 0, 0]), binary: true }), expect: 'violation' },
  { name: 'invalid UTF-8 in a text frame', only: ['json'], transports: ['websocket'], payload: () => ({ data: Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]), binary: false }), expect: 'close1007' },
  { name: 'invalid UTF-8 on RawSocket JSON', only: ['json'], transports: ['rawsocket'], payload: () => ({ data: Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]), binary: false }), expect: 'closed' },
  { name: 'a binary frame on wamp.2.json', only: ['json'], transports: ['websocket'], payload: () => ({ data: Buffer.from(JSON.stringify([32, 1, {}, TOPIC])), binary: true }), expect: 'violation' },
  { name: 'a text frame on a binary serializer', only: ['msgpack', 'cbor'], transports: ['websocket'], payload: () => ({ data: JSON.stringify([32, 1, {}, TOPIC]), binary: false }), expect: 'violation' },
];

describe('robustness: malformed input never crashes', function () {
  this.timeout(60000);
  let tr: TestRouter;

  before(async () => {
    tr = await startRouter({
      listeners: [{ type: 'websocket', host: '127.0.0.1', port: 0 }, { type: 'rawsocket', host: '127.0.0.1', port: 0 }],
      limits: { rateMessagesPerSecond: 0, rateBytesPerSecond: 0, closeHandshakeTimeoutMs: 300, maxConnectionsPerIp: 1000 },
    });
  });

  after(async () => {
    await tr.stop();
  });

  afterEach(() => {
    expect(internalErrors(tr), 'router logged an internal error').to.deep.equal([]);
  });

  describe('table-driven wire suite', () => {
    for (const kind of ['websocket', 'rawsocket'] as const) {
      for (const ser of ['json', 'msgpack', 'cbor'] as const) {
        for (const c of CASES) {
          if (c.only && !c.only.includes(ser)) continue;
          if (c.transports && !c.transports.includes(kind)) continue;
          it(`${kind}/${ser}: ${c.name} → ${c.expect}${c.uri ? ` ${c.uri}` : ''}`, async () => {
            const wire = await joinedWire(tr, kind, ser);
            try {
              const { data, binary } = c.payload(ser);
              wire.sendPayload(data, binary);
              if (c.expect === 'violation') {
                const abort = await wire.next();
                expect(abort[0], JSON.stringify(abort)).to.equal(3);
                expect(abort[2]).to.equal('wamp.error.protocol_violation');
                const code = await wire.waitClosed();
                if (kind === 'websocket') expect(code).to.equal(1002);
              } else if (c.expect === 'error') {
                const error = await wire.next();
                expect(error[0], JSON.stringify(error)).to.equal(8);
                expect(error[4]).to.equal(c.uri);
                expect(await settle(wire)).to.equal('alive');
              } else if (c.expect === 'close1007') {
                expect(await wire.waitClosed()).to.equal(1007);
              } else if (c.expect === 'closed') {
                await wire.waitClosed();
              } else if (c.expect === 'alive') {
                expect(await settle(wire)).to.equal('alive');
              } else {
                await settle(wire);
              }
            } finally {
              wire.close();
            }
            await livenessProbe(tr.url);
          });
        }
      }
    }

    it('before HELLO: garbage, non-HELLO messages and huge frames are refused without routing', async () => {
      for (const kind of ['websocket', 'rawsocket'] as const) {
        for (const message of [[32, 1, {}, TOPIC], [2, 1, {}], [1, 42, {}], [1, 'realm1', []], [1, 'realm1', { roles: 'all' }], []]) {
          const wire = await openWire(tr, kind, 'json');
          wire.sendMessage(message);
          const abort = await wire.next();
          expect(abort[0], `${kind} ${JSON.stringify(message)} → ${JSON.stringify(abort)}`).to.equal(3);
          await wire.waitClosed();
        }
      }
      await livenessProbe(tr.url);
    });
  });

  describe(`fast-check fuzz (seed ${SEED})`, () => {
    const BATCHES = 5;
    const PER_BATCH = 200;
    const CONCURRENCY = 20;

    /** Send each input on its own fresh connection, `CONCURRENCY` at a time; all must settle. */
    async function runBatch(inputs: { kind: TransportKind; ser: SerializerName; joined: boolean; data: Buffer | string; binary: boolean }[]): Promise<Record<string, number>> {
      const outcomes: Record<string, number> = {};
      for (let i = 0; i < inputs.length; i += CONCURRENCY) {
        await Promise.all(inputs.slice(i, i + CONCURRENCY).map(async (input) => {
          const wire = input.joined ? await joinedWire(tr, input.kind, input.ser) : await openWire(tr, input.kind, input.ser);
          try {
            wire.sendPayload(input.data, input.binary);
            const outcome = input.joined ? await settle(wire) : await settlePreAuth(wire);
            outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          } finally {
            wire.close();
          }
        }));
      }
      await waitFor(() => tr.router.connectionCount === 0, { timeoutMs: 3000, what: 'every fuzz connection gone' });
      return outcomes;
    }

    const serializers = fc.constantFrom<SerializerName>('json', 'msgpack', 'cbor');
    const kinds = fc.constantFrom<TransportKind>('websocket', 'rawsocket');
    const codes = fc.constantFrom(1, 2, 3, 6, 8, 16, 17, 32, 33, 34, 36, 48, 49, 50, 64, 66, 68, 69, 70, 0, -1, 255, 2 ** 53);
    /** Values that stress decoders and validators: big and odd numbers, binary, nesting, odd keys. */
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(
        fc.integer(), fc.double(), fc.constantFrom(0, -0, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_SAFE_INTEGER, 1e308),
        fc.string(), fc.constantFrom('', 'wamp.session.get', 'a..b', '__proto__', 'com.example.fuzz', 'x'.repeat(600)),
        fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 16 }),
      ),
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'match', 'acknowledge', 'exclude', 'eligible', 'receive_progress', 'timeout', 'invoke')), tie('node'), { maxKeys: 4 })),
    })).node;
    /** A WAMP-looking list: a message code and arbitrary elements. */
    const wampArray = fc.tuple(codes, fc.array(value, { maxLength: 6 })).map(([code, rest]) => [code, ...rest]);
    /** A valid message with one element replaced: well-formed shapes with bad values. */
    const templates: unknown[][] = [
      [32, 1, {}, TOPIC], [32, 1, { match: 'prefix' }, 'com.example'], [16, 1, { acknowledge: true }, TOPIC, [1], { k: 'v' }],
      [48, 1, {}, 'com.example.p', [1]], [64, 1, {}, 'com.example.p'], [34, 1, 1], [66, 1, 1], [70, 1, {}, [1]],
      [8, 68, 1, {}, 'com.example.error'], [49, 1, {}], [6, {}, 'wamp.close.normal'], [16, 1, { exclude: [1], eligible: [2] }, TOPIC],
    ];
    const mutated = fc.tuple(fc.constantFrom(...templates), fc.nat(), value).map(([t, i, v]) => {
      const copy = structuredClone(t);
      copy[i % copy.length] = v;
      return copy;
    });
    /** Well-formed messages whose Options carry known option names with arbitrary values. */
    const optionKeys = fc.constantFrom('match', 'acknowledge', 'exclude', 'eligible', 'exclude_authid', 'eligible_authrole', 'exclude_me',
      'disclose_me', 'receive_progress', 'timeout', 'invoke', 'progress', 'mode', 'details_arguments');
    const withOptions = fc.tuple(fc.constantFrom(...templates.filter((t) => typeof t[2] === 'object' && !Array.isArray(t[2]))),
      fc.dictionary(optionKeys, value, { maxKeys: 3 })).map(([t, options]) => {
      const copy = structuredClone(t);
      copy[2] = options;
      return copy;
    });
    const encodeFor = (ser: SerializerName, message: unknown[]) => {
      try {
        return { data: SERIALIZERS[ser].encode(message), binary: SERIALIZERS[ser].binary };
      } catch {
        return { data: JSON.stringify([16, 1, {}, TOPIC]), binary: false };
      }
    };

    for (let batch = 0; batch < BATCHES; batch++) {
      it(`batch ${batch + 1}/${BATCHES}: WAMP arrays, mutated messages, random frames and blobs, RawSocket bytes`, async () => {
        const seed = SEED + batch;
        const arrays = fc.sample(fc.tuple(kinds, serializers, fc.oneof(wampArray, mutated, withOptions)), { seed, numRuns: PER_BATCH / 2 })
          .map(([kind, ser, message]) => ({ kind, ser, joined: true, ...encodeFor(ser, message) }));
        const blobs = fc.sample(fc.tuple(kinds, serializers, fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.string({ maxLength: 200 }),
          fc.json({ maxDepth: 4 }),
          // A valid encoding with bytes flipped.
          fc.tuple(mutated, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })),
        ), fc.boolean()), { seed: seed + 1000, numRuns: PER_BATCH / 4 }).map(([kind, ser, blob, joined]) => {
          if (Array.isArray(blob)) {
            const encoded = SERIALIZERS[ser].encode(blob[0] as unknown[]);
            const bytes = Buffer.from(encoded);
            for (const [at, byte] of blob[1] as [number, number][]) bytes[at % bytes.length] = byte;
            return { kind, ser, joined, data: SERIALIZERS[ser].binary ? bytes : bytes.toString('latin1'), binary: SERIALIZERS[ser].binary };
          }
          const data = typeof blob === 'string' ? blob : Buffer.from(blob);
          return { kind, ser, joined, data, binary: typeof data !== 'string' };
        });
        // HELLOs with arbitrary details, before WELCOME.
        const hellos = fc.sample(fc.tuple(kinds, serializers, value, value), { seed: seed + 2000, numRuns: PER_BATCH / 4 })
          .map(([kind, ser, realm, details]) => ({ kind, ser, joined: false, ...encodeFor(ser, [1, typeof realm === 'string' ? realm : 'realm1', details]) }));
        const outcomes = await runBatch([...arrays, ...blobs, ...hellos]);
        console.log(`      batch ${batch + 1}: ${JSON.stringify(outcomes)}`);
        await livenessProbe(tr.url);
      });
    }

    it('RawSocket: random handshakes and random bytes after the handshake', async () => {
      const port = tr.addresses[1]!.port;
      const handshakes = fc.sample(fc.uint8Array({ minLength: 4, maxLength: 12 }), { seed: SEED + 3000, numRuns: 40 });
      const streams = fc.sample(fc.array(fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })).map(([head, body]) => Buffer.concat([Buffer.from([head, 0, 0, body.length]), body])),
      ), { maxLength: 5 }), { seed: SEED + 4000, numRuns: 40 });
      const outcomes: Record<string, number> = {};
      for (let i = 0; i < 40; i++) {
        const bytes = i % 2 === 0
          ? Buffer.from(handshakes[i]!)
          : Buffer.concat([handshakeBytes(1 + (i % 3)), ...streams[i]!.map((b) => Buffer.from(b))]);
        const client = await RawSocketClient.open(port, { handshake: bytes });
        const reply = await client.handshakeReply(3000).catch(() => undefined);
        client.send([1, 'realm1', { roles: DEFAULT_ROLES }]);
        const outcome = await withTimeout(client.closed.then(() => 'closed'), 500, 'close').catch(() => (client.frames.length > 0 ? 'answered' : 'open'));
        const key = `${reply ? reply.toString('hex') : 'no reply'}/${outcome}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        client.destroy();
      }
      console.log(`      rawsocket: ${Object.keys(outcomes).length} distinct outcomes`);
      await waitFor(() => tr.router.connectionCount === 0, { timeoutMs: 3000, what: 'every RawSocket fuzz connection gone' });
      await livenessProbe(tr.url);
    });

    it('configs: validateConfig either returns a config or throws ConfigError, never anything else', () => {
      const valid = {
        listeners: [{ type: 'rawsocket', port: 0 }, { type: 'websocket', port: 0, tls: { key: 'k', cert: 'c' } }],
        limits: { maxMessageBytes: 4096 },
        realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: ALLOW_ALL }], auth: { anonymous: { role: 'anonymous' } } }],
      };
      const paths = (o: unknown, prefix: (string | number)[] = []): (string | number)[][] => {
        if (o === null || typeof o !== 'object') return [prefix];
        return [prefix, ...Object.entries(o).flatMap(([k, v]) => paths(v, [...prefix, Array.isArray(o) ? Number(k) : k]))];
      };
      const all = paths(valid);
      let accepted = 0;
      fc.assert(fc.property(fc.nat(), value, fc.anything(), (at, replacement, anything) => {
        for (const input of [anything, (() => {
          const copy = structuredClone(valid) as Record<string, unknown>;
          const path = all[at % all.length]!;
          if (path.length === 0) return replacement;
          let target: any = copy;
          for (const key of path.slice(0, -1)) target = target[key];
          target[path[path.length - 1]!] = replacement;
          return copy;
        })()]) {
          try {
            validateConfig(input);
            accepted++;
          } catch (error) {
            if (!(error instanceof ConfigError)) throw error;
          }
        }
      }), { seed: SEED, numRuns: 500 });
      expect(accepted).to.be.at.least(0);
    });
  });
});

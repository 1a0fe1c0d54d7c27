import { createHmac } from 'node:crypto';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';

/**
 * The load generator's wire layer: a WebSocket with a WAMP subprotocol, JSON or msgpack
 * encoding, writes corked per tick, and byte-level fast paths for the few fields the generator
 * needs from hot messages (type code, request ID, trailing sequence number), so that the clients
 * spend as little CPU as possible on the 2-core machine the router shares with them.
 */

export type WireFormat = 'json' | 'msgpack';

export interface Codec {
  readonly format: WireFormat;
  readonly protocol: string;
  readonly binary: boolean;
  encode(message: unknown[]): string | Buffer;
  decode(data: Buffer): unknown[];
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', moreTypes: false } as ConstructorParameters<typeof Packr>[0]);

export const CODECS: Readonly<Record<WireFormat, Codec>> = {
  json: {
    format: 'json', protocol: 'wamp.2.json', binary: false,
    encode: (message) => JSON.stringify(message),
    decode: (data) => JSON.parse(data.toString('utf8')) as unknown[],
  },
  msgpack: {
    format: 'msgpack', protocol: 'wamp.2.msgpack', binary: true,
    encode: (message) => packr.pack(message),
    decode: (data) => packr.unpack(data) as unknown[],
  },
};

const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;
const SPACE = 0x20;

/**
 * The first `count` non-negative integers of a JSON array frame (`[50,123,{}...` → [50, 123]),
 * reading bytes without decoding the frame; undefined when the frame does not start that way.
 */
export function leadingInts(data: Buffer, count: number): number[] | undefined {
  if (data[0] !== OPEN_BRACKET) return undefined;
  const out: number[] = [];
  let i = 1;
  const n = data.length;
  while (out.length < count) {
    while (i < n && data[i] === SPACE) i++;
    let value = 0;
    let digits = 0;
    while (i < n) {
      const c = data[i]!;
      if (c < ZERO || c > NINE) break;
      value = value * 10 + (c - ZERO);
      digits++;
      i++;
    }
    if (digits === 0) return undefined;
    out.push(value);
    while (i < n && data[i] === SPACE) i++;
    if (out.length < count) {
      if (data[i] !== COMMA) return undefined;
      i++;
    }
  }
  return out;
}

/**
 * The last `count` non-negative integers of a JSON frame that ends with them inside closing
 * brackets (`[36,1,2,{},[417,1700000000123456]]`, count 2 → [417, 1700000000123456]);
 * undefined otherwise.
 */
export function trailingInts(data: Buffer, count: number): number[] | undefined {
  let i = data.length - 1;
  while (i >= 0 && (data[i] === CLOSE_BRACKET || data[i] === SPACE)) i--;
  const out: number[] = new Array(count);
  for (let k = count - 1; k >= 0; k--) {
    let value = 0;
    let scale = 1;
    let digits = 0;
    while (i >= 0) {
      const c = data[i]!;
      if (c < ZERO || c > NINE) break;
      value += (c - ZERO) * scale;
      scale *= 10;
      digits++;
      i--;
    }
    if (digits === 0 || i < 0) return undefined;
    const before = data[i];
    if (before !== COMMA && before !== OPEN_BRACKET && before !== SPACE) return undefined;
    out[k] = value;
    while (i >= 0 && data[i] === SPACE) i--;
    if (k > 0) {
      if (data[i] !== COMMA) return undefined;
      i--;
      while (i >= 0 && data[i] === SPACE) i--;
    }
  }
  return out;
}

/** The last integer of a JSON frame (`[36,1,2,{},[417]]` → 417); undefined otherwise. */
export function trailingInt(data: Buffer): number | undefined {
  return trailingInts(data, 1)?.[0];
}

/** Type code and request ID of a message, fast for JSON and by full decode for msgpack. */
export function typeAndId(codec: Codec, data: Buffer): [number, number] | undefined {
  if (codec.format === 'json') {
    const ints = leadingInts(data, 2);
    if (ints) return [ints[0]!, ints[1]!];
  }
  try {
    const message = codec.decode(data);
    if (Array.isArray(message) && typeof message[0] === 'number' && typeof message[1] === 'number') return [message[0], message[1]];
  } catch {
    // not a WAMP frame
  }
  return undefined;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Wall-clock microseconds as an integer (< 2^53 until the year 2255), for timestamps on the wire. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** base64 HMAC-SHA256 of the challenge with the (already derived) key, wamp-spec §6.2. */
export function signCra(key: string, challenge: string): string {
  return createHmac('sha256', key).update(challenge, 'utf8').digest('base64');
}

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** The net.Socket under a ws WebSocket (a private field of ws, stable across ws 7–8). */
function socketOf(ws: WebSocket): Corkable | undefined {
  return (ws as unknown as { _socket?: Corkable })._socket;
}

const corked = new Set<Corkable>();
let flushScheduled = false;
function flushCorked(): void {
  flushScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
}

/**
 * Send with the socket corked until the end of this tick, so the replies to all frames of one
 * read go out in one write (ws emits the frames of a chunk synchronously).
 */
export function sendCorked(ws: WebSocket, data: string | Buffer, binary: boolean): void {
  const socket = socketOf(ws);
  if (socket && !corked.has(socket)) {
    socket.cork();
    corked.add(socket);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(flushCorked);
    }
  }
  ws.send(data, { binary });
}

export function openSocket(url: string, protocol: string | undefined, timeoutMs = 10_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol ? [protocol] : [], { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const fail = (error: Error) => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(error);
    };
    ws.once('open', () => {
      ws.removeListener('error', fail);
      ws.on('error', () => undefined); // surfaced through 'close'
      resolve(ws);
    });
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)));
  });
}

export const CLIENT_ROLES = { caller: {}, callee: {}, publisher: {}, subscriber: {} };

export interface JoinOptions {
  realm: string;
  auth?: { authid: string; key: string };
  timeoutMs?: number;
}

export class JoinError extends Error {}

/**
 * HELLO → (CHALLENGE → AUTHENTICATE) → WELCOME on an open socket; resolves with the session ID.
 * Only used outside the measured loops, and by the handshake scenario.
 */
export function join(ws: WebSocket, codec: Codec, options: JoinOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new JoinError('join timed out')), options.timeoutMs ?? 15_000);
    const done = (error: Error | undefined, session = 0) => {
      clearTimeout(timer);
      ws.removeListener('message', onMessage);
      ws.removeListener('close', onClose);
      if (error) reject(error);
      else resolve(session);
    };
    const onClose = (code: number) => done(new JoinError(`closed (${code}) before WELCOME`));
    const onMessage = (data: Buffer) => {
      let message: unknown[];
      try {
        message = codec.decode(data);
      } catch {
        return done(new JoinError('undecodable frame during join'));
      }
      switch (message[0]) {
        case 2:
          return done(undefined, message[1] as number);
        case 4: {
          const extra = message[2] as { challenge?: string };
          if (!options.auth || typeof extra?.challenge !== 'string') return done(new JoinError('unexpected CHALLENGE'));
          ws.send(codec.encode([5, signCra(options.auth.key, extra.challenge), {}]), { binary: codec.binary });
          return;
        }
        case 3:
          return done(new JoinError(`ABORT ${String(message[2])}`));
        default:
          return done(new JoinError(`unexpected message ${String(message[0])} during join`));
      }
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    const details: Record<string, unknown> = { roles: CLIENT_ROLES };
    if (options.auth) Object.assign(details, { authmethods: ['wampcra'], authid: options.auth.authid });
    ws.send(codec.encode([1, options.realm, details]), { binary: codec.binary });
  });
}

/** Sends one request and resolves with the first reply whose type is in `types` (setup only). */
export function request(ws: WebSocket, codec: Codec, message: unknown[], types: number[], timeoutMs = 10_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.removeListener('message', onMessage);
      reject(new Error(`no reply to message type ${String(message[0])}`));
    }, timeoutMs);
    const onMessage = (data: Buffer) => {
      const reply = codec.decode(data);
      if (types.includes(reply[0] as number) || reply[0] === 8 || reply[0] === 3) {
        clearTimeout(timer);
        ws.removeListener('message', onMessage);
        if (reply[0] === 8 || reply[0] === 3) reject(new Error(`refused: ${JSON.stringify(reply)}`));
        else resolve(reply);
      }
    };
    ws.on('message', onMessage);
    ws.send(codec.encode(message), { binary: codec.binary });
  });
}

/** Run `task` over `items` with at most `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  });
  await Promise.all(lanes);
}

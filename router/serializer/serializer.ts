/**
 * A WAMP serializer turns a message array into one transport frame and back. Binary payloads are
 * `Uint8Array` inside the router whatever the wire format, so sessions with different serializers
 * can exchange them (wamp-spec §11.2).
 */

export type SerializerName = 'json' | 'msgpack' | 'cbor';

export interface Serializer {
  readonly name: SerializerName;
  /** WebSocket subprotocol, e.g. `wamp.2.json`. */
  readonly subprotocol: string;
  /** RawSocket serializer id (wamp-spec §11.3). */
  readonly rawSocketId: number;
  /** Whether frames are binary (msgpack, cbor) or text (json). */
  readonly binary: boolean;
  /**
   * Throws when the message holds a value this format cannot carry (an integer beyond 64 bits in
   * msgpack, NaN in JSON, ...); `encodeFailureText` says which, for the ERROR to the sender.
   */
  encode(message: unknown[]): Buffer | string;
  /**
   * Throws on malformed input; the caller turns that into a protocol violation. `shape` is the
   * frame's `scan`, when the caller already has it.
   */
  decode(frame: Buffer | string, shape?: FrameShape): unknown;
  /**
   * Counts values and nesting without building them (router/serializer/shape.ts). Absent for the
   * in-process pass-through, whose frames are never decoded.
   */
  scan?(frame: Buffer | string, bounds: ShapeBounds): FrameShape;
  /**
   * At most how many values (map keys weighted as in shape.ts) and nesting levels one byte of a
   * frame can add: a frame of n bytes holds at most n × these. Lets the session skip the scan of
   * frames too short to pass the caps. Absent: always scan.
   */
  readonly density?: { readonly weightPerByte: number; readonly depthPerByte: number };
  /**
   * The payload section of a decoded frame (the same input decode() was given): the text of its
   * top-level elements from `index` on, for encodeAround(). Absent: payloads are always encoded.
   */
  payloadSection?(frame: Buffer | string, index: number): string;
  /** The message `head` followed by a payload section this serializer cut from a frame. */
  encodeAround?(head: unknown[], section: string): Buffer | string;
  /** A frame holding only the first `count` elements of the frame's top-level array. */
  head?(frame: Buffer | string, shape: FrameShape, count: number): Buffer | string;
}

/** A value the receiver's format cannot carry; its message says which, in words for the sender. */
export class UncarriableValue extends Error {}

/** Why `serializer` could not encode a message, as the text of the ERROR its sender gets. */
export function encodeFailureText(serializer: SerializerName, error: unknown): string {
  if (error instanceof UncarriableValue) return error.message;
  const text = String((error as Error)?.message ?? error);
  if (text.includes('too large to fit in MessagePack 64-bit')) return 'an integer beyond 64 bits cannot be carried by msgpack';
  if (error instanceof RangeError && text.includes('call stack')) return `the payload is nested too deeply for ${serializer}`;
  return `${serializer} could not encode the payload: ${text.slice(0, 120)}`;
}

import type { FrameShape, ShapeBounds } from './shape.js';

const MAX_UINT32 = 0xffff_ffff;
/** 2^53, the largest WAMP ID; beyond it a JS number is no longer an exact integer. */
const MAX_WAMP_INTEGER = 2 ** 53;

/**
 * msgpackr and cbor-x write integers beyond 32 bits as float64, which strict clients
 * (Autobahn|Python) reject for IDs and which changes the type of application integers.
 * Wrapping such integers as BigInt makes both libraries emit a real 64-bit integer.
 * Copy-on-write: containers are only copied when something inside them changed.
 */
export function widenLargeIntegers(value: unknown, depth = 0): unknown {
  if (typeof value === 'number') {
    return (value > MAX_UINT32 || value < -0x8000_0000) && Number.isInteger(value) && Math.abs(value) <= MAX_WAMP_INTEGER
      ? BigInt(value) : value;
  }
  if (value === null || typeof value !== 'object' || depth > 64 || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const widened = widenLargeIntegers(item, depth + 1);
      if (widened !== item) (copy ??= value.slice())[i] = widened;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    const widened = widenLargeIntegers(item, depth + 1);
    if (widened !== item) (copy ??= { ...record })[key] = widened;
  }
  return copy ?? value;
}

/**
 * A decoder in 64-bit mode yields BigInt for every 64-bit integer; those that a number holds
 * exactly (IDs, counts, options) become numbers again, larger ones stay BigInt. Only used for
 * frames whose scan found an integer beyond 2^53, so ordinary frames are never walked.
 */
export function narrowSafeIntegers(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return value >= -MAX_WAMP_BIG && value <= MAX_WAMP_BIG ? Number(value) : value;
  if (value === null || typeof value !== 'object' || depth > 64 || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = narrowSafeIntegers(value[i], depth + 1);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) record[key] = narrowSafeIntegers(record[key], depth + 1);
  return value;
}

const MAX_WAMP_BIG = BigInt(MAX_WAMP_INTEGER);

/**
 * JSON, msgpack (in number mode) and CBOR all round an integer just above 2^53 down to 2^53, which
 * would turn an out-of-range ID into a valid one. So when an ID position holds exactly 2^53, the
 * frame must contain 2^53's own encoding (`literals`), else it carried a larger integer.
 */
export function checkMaxIdExact(message: unknown, frame: Buffer | string, literals: readonly (Buffer | string)[]): void {
  if (!Array.isArray(message)) return;
  if (message[1] !== MAX_WAMP_INTEGER && message[2] !== MAX_WAMP_INTEGER) return;
  const found = literals.some((literal) => (typeof frame === 'string' ? frame.includes(literal as string) : (frame as Buffer).includes(literal)));
  if (!found) throw new Error('integer beyond 2^53 in an ID position');
}

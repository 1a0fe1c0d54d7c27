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
  encode(message: unknown[]): Buffer | string;
  /** Throws on malformed input; the caller turns that into a protocol violation. */
  decode(frame: Buffer | string): unknown;
}

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
